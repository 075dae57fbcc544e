/** What an elector knows of one replica of a group. */
export interface ReplicaState {
  /** Its last write through any ingress process, as far as known (ms, this process's clock). */
  lastSeenMs: number;
  /** Its last write through this process (-Infinity: none yet). */
  localSeenMs: number;
  /** Out of the election (quiet for longer than the timeout) until it writes again. */
  paused: boolean;
  /** Out of the election until then (ms): it fell quiet in its own interval, the others go first. */
  heldOutUntilMs?: number;
  /** The cut it was held out for (once per cut: after the hold-out it may lead from there). */
  heldOutForCutMs?: number | null;
}

/**
 * The replica to try the group's lock for: the newest writer of those still in the election,
 * preferring those that write through this process within the timeout. A replica known only
 * from the shared store may be one whose ingress just died: it stays there, alive, for up to
 * the timeout, and electing it would only delay the failover.
 */
export function pickCandidate(replicas: ReadonlyMap<string, ReplicaState>, now: number, timeoutMs: number): string | undefined {
  let candidate: string | undefined;
  let bestLocal = false;
  let bestSeen = -Infinity;
  for (const [replica, r] of replicas) {
    if (r.paused || (r.heldOutUntilMs ?? -Infinity) > now) continue;
    const local = now - r.localSeenMs <= timeoutMs;
    if (candidate === undefined || (local && !bestLocal) || (local === bestLocal && r.lastSeenMs > bestSeen)) {
      candidate = replica;
      bestLocal = local;
      bestSeen = r.lastSeenMs;
    }
  }
  return candidate;
}

/**
 * Checks of the harness itself, so that a failed soak means the system misbehaved: the
 * writers' records are consistent, the proxies really forwarded, every kill brought a new
 * process, and the faults ran without error. Each problem is one readable line.
 */
import { replicaIndexOf } from '../ha-load.js';
import { soakProblems, type SoakData } from './checker.js';
import { ownedRanges } from './ownership.js';
import type { FaultEvent } from './faults.js';
import type { ReplicaSender } from './replica-sender.js';
import type { RestartableProcess } from './restartable.js';
import type { TcpProxy } from './tcp-proxy.js';

export function senderRecordProblems(senders: readonly ReplicaSender[]): string[] {
  const out: string[] = [];
  for (const s of senders) {
    const seen = new Set<string>();
    let dup = 0;
    let wrongReplica = 0;
    for (const x of s.sent()) {
      const key = `${x.series}@${x.ts}`;
      if (seen.has(key)) dup++;
      seen.add(key);
      if (replicaIndexOf(x.value) !== s.index) wrongReplica++;
    }
    if (dup > 0) out.push(`harness: replica ${s.replica} sent ${dup} samples at a (series, time) it had sent before`);
    if (wrongReplica > 0) out.push(`harness: replica ${s.replica} sent ${wrongReplica} values that do not decode to it`);
    const requests = s.requests();
    const badRecords = requests.filter((r) => r.attempts !== r.statuses.length || r.attempts === 0).length;
    if (badRecords > 0) out.push(`harness: replica ${s.replica} has ${badRecords} request records whose attempts and statuses disagree`);
    if (s.accepted().length === 0) out.push(`harness: replica ${s.replica} never had a sample accepted`);
  }
  return out;
}

export function proxyProblems(proxies: ReadonlyMap<string, TcpProxy>): string[] {
  const out: string[] = [];
  for (const [name, p] of proxies) {
    if (p.isSilenced) out.push(`harness: ${name}'s proxy is still silent`);
    if (p.stats.connections === 0 || p.stats.bytesUp === 0 || p.stats.bytesDown === 0) {
      out.push(`harness: ${name}'s proxy forwarded nothing (${JSON.stringify(p.stats)})`);
    }
  }
  return out;
}

/** Every kill -9 of a process was followed by a new incarnation with a new pid. */
export function restartProblems(procs: ReadonlyMap<string, RestartableProcess>): string[] {
  const out: string[] = [];
  for (const [name, p] of procs) {
    const kills = p.kills;
    if (new Set(p.pids).size !== p.pids.length) out.push(`harness: ${name} reused a pid: ${p.pids.join(', ')}`);
    if (p.starts !== kills + 1) out.push(`harness: ${name} was started ${p.starts} times for ${kills} kills`);
    if (!p.running) out.push(`harness: ${name} is not running after the heal`);
  }
  return out;
}

export function faultErrors(log: readonly FaultEvent[]): string[] {
  return log.filter((e) => e.error !== undefined).map((e) => `fault: ${e.kind} failed: ${e.error}`);
}

/**
 * The checker sees a loss in this run's own data: with one stored sample taken away (series 0,
 * the newest sample an owner had accepted in its range, looking from the newest range back), it
 * must report one more rule 3 problem, naming that time.
 */
export function canaryProblems(d: SoakData): string[] {
  const stored = d.stored.get(0) ?? [];
  let victim: { ts: number; value: number } | undefined;
  for (const range of ownedRanges(d.ownership).reverse()) {
    const owner = d.replicas.find((r) => r.replica === range.replica);
    const accepted = new Set((owner?.accepted ?? []).filter((s) => s.series === 0).map((s) => `${s.ts}=${s.value}`));
    victim = [...stored].reverse().find((s) => range.from < s.ts && s.ts <= range.to && accepted.has(`${s.ts}=${s.value}`));
    if (victim) break;
  }
  if (!victim) return ['canary: no owner has an accepted sample of series 0 stored in its range'];
  const before = soakProblems(d).filter((p) => p.rule === 'rule 3').length;
  const mutated = new Map(d.stored);
  mutated.set(0, stored.filter((s) => s !== victim));
  const after = soakProblems({ ...d, stored: mutated }).filter((p) => p.rule === 'rule 3');
  const named = after.some((p) => p.text.startsWith('series 0:') && p.text.includes(String(victim.ts)));
  return after.length === before + 1 && named ? [] : [`canary: taking away ${victim.ts} of series 0 did not add one rule 3 problem naming it`];
}

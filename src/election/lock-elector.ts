import type pg from 'pg';
import { Leadership } from '../storage/index.js';
import { PromfleetError } from '../errors.js';
import type { LivenessReader } from '../queue/index.js';
import { Backoff } from '../lib/backoff.js';
import { sleep } from '../lib/sleep.js';
import { pickCandidate, type ReplicaState } from './candidates.js';
import type { Elector, ElectorBaseOptions } from './elector.js';
import { applySessionSettings, destroySession, electionTimings, sessionClient, withDeadline, type ElectionTimings } from './session.js';

export interface LockElectorOptions extends ElectorBaseOptions {
  /** How often to try for locks and check held ones (ms). */
  readonly intervalMs: number;
  /** A replica that has not written for this long is out of the election (ms). */
  readonly timeoutMs: number;
  readonly now?: () => number;
  /**
   * When replicas last wrote through any ingress process (shared liveness). Without it, only
   * what this process sees counts.
   */
  readonly liveness?: LivenessReader;
}

interface GroupState {
  id: number | undefined;
  leading: string | undefined;
  readonly replicas: Map<string, ReplicaState>;
}

/**
 * Advisory-lock election for the HA groups whose replicas write through this process. One
 * dedicated, unpooled session holds the locks; any error on it, or any query of it that misses
 * its deadline, means follower at once, then reconnect with backoff. The session is set up so
 * that the server ends it, and frees its locks, when it goes silent; see session.ts for why the
 * holder has always stopped claiming by then. A lock is only tried while not held (holds stack),
 * and released completely when the replica goes quiet.
 *
 * A replica is alive while it writes through any ingress process: with `liveness`, each round
 * also reads the shared last writes of every replica of the groups this process knows (in the
 * background: the round uses what the previous read brought, so a slow Redis never delays the
 * lock checks). While that store does not answer, no replica is removed from the election: it
 * may be writing through another ingress, and with the queues in that same Redis nothing could
 * be written for another leader anyway. Nor for one timeout after it answers again: the writes
 * other ingresses tried to record meanwhile were lost, so its ages are too old until then.
 */
export class LockElector implements Elector {
  readonly kind = 'lock';
  private readonly groups = new Map<string, GroupState>();
  private readonly leadership: Leadership;
  private readonly backoff = new Backoff(250, 5000);
  private readonly now: () => number;
  private readonly t: ElectionTimings;
  private client: pg.Client | undefined;
  /** Whether the last read of the shared liveness succeeded ('unknown' before the first). */
  private shared: 'unknown' | 'ok' | 'down' = 'unknown';
  /** When the shared liveness last answered again after failing (this process's clock). */
  private sharedBackAtMs = -Infinity;
  private refreshing: Promise<void> | undefined;
  private warnedSettings = false;
  private nextConnectMs = 0;
  /** After losing its session, this process stays out of elections until then (see lost()). */
  private rejoinAtMs = 0;
  /** Whether the current round sent the session any query (see tick). */
  private askedThisRound = false;
  private loop: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private stopped: Promise<void> | undefined;

  constructor(private readonly opts: LockElectorOptions) {
    this.leadership = new Leadership(opts.schema);
    this.now = opts.now ?? Date.now;
    this.t = electionTimings(opts.intervalMs);
  }

  /** A batch of `replica` arrived: it is alive and a candidate for its group. */
  observe(group: string, replica: string): void {
    let g = this.groups.get(group);
    if (!g) this.groups.set(group, (g = { id: undefined, leading: undefined, replicas: new Map() }));
    this.seen(g, group, replica, this.now());
    const r = g.replicas.get(replica);
    if (r) r.localSeenMs = this.now();
  }

  /** `replica` wrote at `atMs` (this process's clock); a paused replica that wrote within the timeout resumes. */
  private seen(g: GroupState, group: string, replica: string, atMs: number): void {
    const r = g.replicas.get(replica);
    if (!r) {
      g.replicas.set(replica, { lastSeenMs: atMs, localSeenMs: -Infinity, paused: false });
      return;
    }
    r.lastSeenMs = Math.max(r.lastSeenMs, atMs);
    if (r.paused && this.now() - r.lastSeenMs <= this.opts.timeoutMs) {
      r.paused = false;
      this.opts.log.info({ group, replica }, 'Prometheus seems alive. Resuming scheduled election.');
    }
  }

  /**
   * Reads the shared liveness of every replica of the known groups and merges it in (started by
   * each round, not awaited there; exported for tests that drive time themselves).
   */
  refreshLiveness(): Promise<void> {
    const reader = this.opts.liveness;
    if (!reader || this.groups.size === 0) return Promise.resolve();
    this.refreshing ??= (async () => {
      try {
        const ages = await reader.ages([...this.groups.keys()]);
        const now = this.now();
        for (const [group, replicas] of ages) {
          const g = this.groups.get(group);
          if (!g) continue;
          for (const [replica, age] of replicas) {
            // A replica this process never saw joins only while it is alive.
            if (g.replicas.has(replica) || age <= this.opts.timeoutMs) this.seen(g, group, replica, now - age);
          }
        }
        if (this.shared === 'down') {
          this.opts.log.info('replica liveness store answers again; no replica leaves the election for one timeout');
          this.sharedBackAtMs = this.now();
        }
        this.shared = 'ok';
      } catch (err) {
        if (this.shared !== 'down') {
          this.opts.log.warn({ err },
            'replica liveness store does not answer: no replica leaves the election until it does');
        }
        this.shared = 'down';
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  isLeader(group: string, replica: string): boolean {
    return this.groups.get(group)?.leading === replica;
  }

  /** Groups this process leads: group → replica. */
  leaders(): Map<string, string> {
    const out = new Map<string, string>();
    for (const [group, g] of this.groups) if (g.leading !== undefined) out.set(group, g.leading);
    return out;
  }

  isLeading(): Promise<boolean> {
    return Promise.resolve(this.leaders().size > 0);
  }

  set(): Promise<void> {
    return Promise.reject(new PromfleetError('ELECTION_NOT_REST', 'this process elects by advisory lock; start it with --leader-election.rest'));
  }

  start(): Promise<void> {
    this.loop ??= (async () => {
      const signal = this.abort.signal;
      try {
        await this.opts.ready?.();
      } catch (err) {
        if (!signal.aborted) this.opts.log.error({ err }, 'election not started: schema not ready');
        return;
      }
      while (!signal.aborted) {
        await this.tick().catch((err: unknown) => this.lost(err));
        await sleep(this.opts.intervalMs, signal);
      }
    })();
    return Promise.resolve();
  }

  /** One election round; exported for tests that drive time themselves. */
  async tick(): Promise<void> {
    void this.refreshLiveness();
    const client = await this.session();
    if (!client) return;
    this.askedThisRound = false;
    const now = this.now();
    // Never resign because the shared liveness is unreadable (see the class comment).
    const mayPause = this.opts.liveness === undefined || (this.shared === 'ok' && now - this.sharedBackAtMs > this.opts.timeoutMs);
    for (const [group, g] of this.groups) {
      for (const [replica, r] of g.replicas) {
        if (mayPause && !r.paused && now - r.lastSeenMs > this.opts.timeoutMs) {
          r.paused = true;
          this.opts.log.warn({ group, replica }, 'Prometheus timeout exceeded');
          this.opts.log.info({ group, replica }, 'Scheduled election is paused. Instance is removed from election pool.');
        }
      }
      if (g.leading !== undefined) await this.keepOrResign(client, group, g);
      if (g.leading === undefined) await this.tryLead(client, group, g);
    }
    // A round that asked nothing (no group yet, or no live candidate) still uses the session:
    // otherwise the server's idle_session_timeout, set for dead peers, ends a healthy one.
    if (!this.askedThisRound) await this.q(client, 'keepalive', () => client.query('SELECT 1'));
  }

  private async keepOrResign(client: pg.Client, group: string, g: GroupState): Promise<void> {
    const replica = g.leading as string;
    const id = g.id as number;
    if (g.replicas.get(replica)?.paused) {
      // Clear the record first: it waits for writers fenced against us, then the lock goes.
      await this.q(client, 'resign', () => this.leadership.resign(client, group, replica, this.opts.cuts(group)));
      await this.q(client, 'unlock', () => this.leadership.unlock(client, id));
      this.stepDown(group, g, 'replica went quiet');
      return;
    }
    if (!(await this.q(client, 'lock check', () => this.leadership.holdsLock(client, id)))) this.stepDown(group, g, 'lock no longer held');
  }

  /** Every query of the elector goes through here: a missed deadline destroys the session (see session.ts). */
  private q<T>(client: pg.Client, what: string, fn: () => Promise<T>, deadlineMs = this.t.queryDeadlineMs): Promise<T> {
    this.askedThisRound = true;
    return withDeadline(client, deadlineMs, what, fn);
  }

  private async tryLead(client: pg.Client, group: string, g: GroupState): Promise<void> {
    const candidate = pickCandidate(g.replicas, this.now(), this.opts.timeoutMs);
    if (candidate === undefined || this.now() < this.rejoinAtMs) return;
    const id = (g.id ??= await this.q(client, 'group id', () => this.leadership.groupId(client, group)));
    if (!(await this.q(client, 'try lock', () => this.leadership.tryLock(client, id)))) return;
    try {
      const held = g.replicas.get(candidate)?.heldOutForCutMs;
      const t = await this.q(client, 'takeover', () => this.leadership.takeOver(client, group, candidate, 'lock', this.opts.cuts(group), held),
        this.t.takeoverDeadlineMs);
      if (t.resigned) {
        // Quiet in its own interval while the database was away: the interval ends there, and those
        // that kept writing go first (one timeout, plus their reconnect backoff after the outage).
        await this.q(client, 'unlock', () => this.leadership.unlock(client, id));
        const r = g.replicas.get(candidate);
        if (r) {
          r.heldOutUntilMs = this.now() + this.opts.timeoutMs + this.backoff.maxMs + 2 * this.opts.intervalMs;
          r.heldOutForCutMs = t.handoffMs;
        }
        this.opts.log.warn({ group, replica: candidate, handoffMs: t.handoffMs }, 'replica fell quiet while the database was away: its interval is closed where it fell quiet; others may take over');
        if (t.changed) this.opts.metrics.haLeadershipChanges.inc({ group });
        return;
      }
      g.leading = candidate;
      this.opts.log.info({ group, replica: candidate, groupId: g.id }, `Lock obtained for group id ${g.id}`);
      this.opts.log.info({ group, replica: candidate, epoch: t.epoch, handoffMs: t.handoffMs, previous: t.previous, handoff: t.changed, waitsForPrevious: t.waits }, 'Instance became a leader');
      this.opts.metrics.haLeader.set({ group, replica: candidate }, 1);
      if (t.changed) this.opts.metrics.haLeadershipChanges.inc({ group });
      if (t.changed && t.handoffMs !== null && t.handoffMs > 0) this.opts.metrics.haHandoffGap.observe(Math.max(0, (this.now() - t.handoffMs) / 1000));
    } catch (err) {
      // A failed unlock leaves the session to the caller's lost(), which closes it (and the lock goes).
      await this.q(client, 'unlock', () => this.leadership.unlock(client, id)).catch(() => undefined);
      throw err;
    }
  }

  private stepDown(group: string, g: GroupState, why: string): void {
    if (g.leading === undefined) return;
    this.opts.log.warn({ group, replica: g.leading, why }, 'Instance is no longer a leader');
    this.opts.metrics.haLeader.set({ group, replica: g.leading }, 0);
    g.leading = undefined;
  }

  private async session(): Promise<pg.Client | undefined> {
    if (this.client) return this.client;
    if (this.now() < this.nextConnectMs || this.abort.signal.aborted) return undefined;
    const client = sessionClient({ connectionString: this.opts.connectionString, applicationName: this.opts.applicationName, timings: this.t });
    // An error on the session (terminated backend, network) means every lock is gone: follower now.
    client.on('error', (err: Error) => this.lost(err, client));
    try {
      await client.connect();
      const missing = await applySessionSettings(client, this.t);
      if (missing.length > 0 && !this.warnedSettings) {
        this.warnedSettings = true;
        this.opts.log.warn({ missing }, 'PostgreSQL lacks these settings (14 or later has them): a silent election session may keep its locks until TCP gives up');
      }
    } catch (err) {
      this.nextConnectMs = this.now() + this.backoff.next();
      this.opts.log.warn({ err }, 'election session cannot connect; retrying');
      destroySession(client);
      return undefined;
    }
    this.backoff.reset();
    this.client = client;
    return client;
  }

  private lost(err: unknown, which?: pg.Client): void {
    if (which && which !== this.client) return;
    const dead = this.client;
    this.client = undefined;
    this.nextConnectMs = this.now() + this.backoff.next();
    // A leader whose session died must not win the lock straight back on reconnect: every live
    // replica elsewhere tries once per interval, so staying out for two intervals lets them go first.
    this.rejoinAtMs = this.now() + 2 * this.opts.intervalMs;
    this.opts.log.error({ err }, 'election session lost');
    for (const [group, g] of this.groups) this.stepDown(group, g, 'election session lost');
    if (dead) destroySession(dead);
  }

  /** Resigns every group this process leads and closes the session. Idempotent. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.abort.abort();
      await this.loop;
      await this.refreshing;
      const client = this.client;
      if (client) {
        for (const [group, g] of this.groups) {
          if (g.leading === undefined || g.id === undefined) continue;
          const { leading, id } = g;
          await this.q(client, 'resign', () => this.leadership.resign(client, group, leading, this.opts.cuts(group))).catch(() => undefined);
          await this.q(client, 'unlock', () => this.leadership.unlock(client, id)).catch(() => undefined);
          this.stepDown(group, g, 'shutting down');
        }
        this.client = undefined;
        // A graceful goodbye; a session that does not answer is destroyed at the deadline.
        await this.q(client, 'close', () => client.end()).catch(() => undefined);
      }
    })();
    return this.stopped;
  }
}


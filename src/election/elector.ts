import pg from 'pg';
import { Leadership, type CutSource } from '../storage/index.js';
import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';
import { Backoff } from '../lib/backoff.js';
import { sleep } from '../lib/sleep.js';

export interface ElectorOptions {
  readonly connectionString: string;
  readonly schema: string;
  /** application_name of the dedicated session, so an operator can find it in pg_stat_activity. */
  readonly applicationName: string;
  /** How often to try for locks and check held ones (ms). */
  readonly intervalMs: number;
  /** A replica that has not written for this long is out of the election (ms). */
  readonly timeoutMs: number;
  /** Where a handoff cuts a group's ownership: its replicas' accepted watermarks (from the queue). */
  readonly cuts: (group: string) => CutSource;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly now?: () => number;
  /** Resolves once the schema is migrated; no election before. */
  readonly ready?: () => Promise<void>;
}

interface ReplicaState {
  lastSeenMs: number;
  paused: boolean;
}

interface GroupState {
  id: number | undefined;
  leading: string | undefined;
  readonly replicas: Map<string, ReplicaState>;
}

/**
 * Advisory-lock election for the HA groups whose replicas write through this process. One
 * dedicated, unpooled session holds the locks; any error on it means follower at once, then
 * reconnect with backoff. A lock is only tried while not held (holds stack), and released
 * completely when the replica goes quiet.
 */
export class Elector {
  private readonly groups = new Map<string, GroupState>();
  private readonly leadership: Leadership;
  private readonly backoff = new Backoff(250, 5000);
  private readonly now: () => number;
  private client: pg.Client | undefined;
  private nextConnectMs = 0;
  /** After losing its session, this process stays out of elections until then (see lost()). */
  private rejoinAtMs = 0;
  private loop: Promise<void> | undefined;
  private readonly abort = new AbortController();
  private stopped: Promise<void> | undefined;

  constructor(private readonly opts: ElectorOptions) {
    this.leadership = new Leadership(opts.schema);
    this.now = opts.now ?? Date.now;
  }

  /** A batch of `replica` arrived: it is alive and a candidate for its group. */
  observe(group: string, replica: string): void {
    let g = this.groups.get(group);
    if (!g) this.groups.set(group, (g = { id: undefined, leading: undefined, replicas: new Map() }));
    const r = g.replicas.get(replica);
    if (!r) g.replicas.set(replica, { lastSeenMs: this.now(), paused: false });
    else {
      r.lastSeenMs = this.now();
      if (r.paused) {
        r.paused = false;
        this.opts.log.info({ group, replica }, 'Prometheus seems alive. Resuming scheduled election.');
      }
    }
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

  start(): Promise<void> {
    this.loop ??= (async () => {
      const signal = this.abort.signal;
      try {
        await this.opts.ready?.();
      } catch (err) {
        if (!signal.aborted) this.opts.log.error({ err: (err as Error).message }, 'election not started: schema not ready');
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
    const client = await this.session();
    if (!client) return;
    const now = this.now();
    for (const [group, g] of this.groups) {
      for (const [replica, r] of g.replicas) {
        if (!r.paused && now - r.lastSeenMs > this.opts.timeoutMs) {
          r.paused = true;
          this.opts.log.warn({ group, replica }, 'Prometheus timeout exceeded');
          this.opts.log.info({ group, replica }, 'Scheduled election is paused. Instance is removed from election pool.');
        }
      }
      if (g.leading !== undefined) await this.keepOrResign(client, group, g);
      if (g.leading === undefined) await this.tryLead(client, group, g);
    }
  }

  private async keepOrResign(client: pg.Client, group: string, g: GroupState): Promise<void> {
    const replica = g.leading as string;
    const id = g.id as number;
    if (g.replicas.get(replica)?.paused) {
      // Clear the record first: it waits for writers fenced against us, then the lock goes.
      // Close the interval at the cut first (it waits for writers fenced against us), then the lock goes.
      await this.leadership.resign(client, group, replica, this.opts.cuts(group));
      await this.leadership.unlock(client, id);
      this.stepDown(group, g, 'replica went quiet');
      return;
    }
    if (!(await this.leadership.holdsLock(client, id))) this.stepDown(group, g, 'lock no longer held');
  }

  private async tryLead(client: pg.Client, group: string, g: GroupState): Promise<void> {
    let candidate: string | undefined;
    let newest = -Infinity;
    for (const [replica, r] of g.replicas) {
      if (!r.paused && r.lastSeenMs > newest) {
        newest = r.lastSeenMs;
        candidate = replica;
      }
    }
    if (candidate === undefined || this.now() < this.rejoinAtMs) return;
    g.id ??= await this.leadership.groupId(client, group);
    if (!(await this.leadership.tryLock(client, g.id))) return;
    try {
      const t = await this.leadership.takeOver(client, group, candidate, 'lock', this.opts.cuts(group));
      g.leading = candidate;
      this.opts.log.info({ group, replica: candidate, groupId: g.id }, `Lock obtained for group id ${g.id}`);
      this.opts.log.info({ group, replica: candidate, epoch: t.epoch, handoffMs: t.handoffMs, previous: t.previous, handoff: t.changed, waitsForPrevious: t.waits }, 'Instance became a leader');
      this.opts.metrics.haLeader.set({ group, replica: candidate }, 1);
      if (t.changed) this.opts.metrics.haLeadershipChanges.inc({ group });
      if (t.changed && t.handoffMs !== null && t.handoffMs > 0) this.opts.metrics.haHandoffGap.observe(Math.max(0, (this.now() - t.handoffMs) / 1000));
    } catch (err) {
      await this.leadership.unlock(client, g.id);
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
    const client = new pg.Client({ connectionString: this.opts.connectionString, application_name: this.opts.applicationName });
    // An error on the session (terminated backend, network) means every lock is gone: follower now.
    client.on('error', (err: Error) => this.lost(err, client));
    try {
      await client.connect();
    } catch (err) {
      this.nextConnectMs = this.now() + this.backoff.next();
      this.opts.log.warn({ err: (err as Error).message }, 'election session cannot connect; retrying');
      client.end().catch(() => undefined);
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
    this.opts.log.error({ err: (err as Error).message }, 'election session lost');
    for (const [group, g] of this.groups) this.stepDown(group, g, 'election session lost');
    dead?.end().catch(() => undefined);
  }

  /** Resigns every group this process leads and closes the session. Idempotent. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.abort.abort();
      await this.loop;
      const client = this.client;
      if (client) {
        for (const [group, g] of this.groups) {
          if (g.leading === undefined || g.id === undefined) continue;
          await this.leadership.resign(client, group, g.leading, this.opts.cuts(group)).catch(() => undefined);
          await this.leadership.unlock(client, g.id).catch(() => undefined);
          this.stepDown(group, g, 'shutting down');
        }
        this.client = undefined;
        await client.end().catch(() => undefined);
      }
    })();
    return this.stopped;
  }
}


import type pg from 'pg';
import { Leadership, createPool, inTransaction, toPromfleetError } from '../storage/index.js';
import type { Elector, ElectorBaseOptions } from './elector.js';

export interface RestElectorOptions extends ElectorBaseOptions {
  /** The identity this process speaks for before any batch arrived (--ha.group/--ha.replica). */
  readonly identity?: { readonly group: string; readonly replica: string };
}

/**
 * Leadership decided outside promfleet (etcd, Consul, a Kubernetes sidecar), as the original
 * adapter's REST elector: PUT 1 makes the (group, replica) pairs of this process leaders, PUT 0
 * resigns them. The handoff is the same as the lock elector's (watermark, per-series marks,
 * ownership log); writers fence on the leadership record alone (via = 'rest').
 *
 * The record in `ha_leaders` is the only truth: PUT 1 takes over only where none of this
 * process's replicas is recorded yet (a repeated PUT 1 keeps the epoch), GET reads the record,
 * and PUT 0 clears only a leadership this process was given by PUT 1 and still holds.
 */
export class RestElector implements Elector {
  readonly kind = 'rest';
  private readonly identities = new Map<string, Set<string>>();
  /** Group → replica this process was given by PUT 1 (and has not resigned since). */
  private readonly given = new Map<string, string>();
  private readonly leadership: Leadership;
  private pool: pg.Pool | undefined;
  /** PUTs run one after another, so two PUT 1 of this process never take over twice. */
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly opts: RestElectorOptions) {
    this.leadership = new Leadership(opts.schema);
    if (opts.identity) this.observe(opts.identity.group, opts.identity.replica);
  }

  observe(group: string, replica: string): void {
    let set = this.identities.get(group);
    if (!set) this.identities.set(group, (set = new Set()));
    set.add(replica);
  }

  /** What PUT 1 gave this process and it has not resigned since. */
  leaders(): ReadonlyMap<string, string> {
    return new Map(this.given);
  }

  /** Whether `ha_leaders` records one of this process's (group, replica) pairs as leader over REST. */
  async isLeading(): Promise<boolean> {
    await this.opts.ready?.();
    const c = await this.connect();
    try {
      for (const group of this.identities.keys()) {
        if ((await this.recordedOwn(c, group, false)) !== undefined) return true;
      }
      return false;
    } catch (err) {
      throw toPromfleetError(err);
    } finally {
      c.release();
    }
  }

  /** Becomes leader of (or resigns) every group this process has a replica of; resolves when recorded. */
  set(lead: boolean): Promise<void> {
    const run = this.queue.then(() => this.apply(lead));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Brings the schema up to date in the background, so the process is ready before any PUT. */
  start(): Promise<void> {
    void this.opts.ready?.().catch((err: unknown) => this.opts.log.warn({ err }, 'schema not ready yet'));
    return Promise.resolve();
  }

  stop(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    return pool ? pool.end() : Promise.resolve();
  }

  private connect(): Promise<pg.PoolClient> {
    this.pool ??= createPool({ connectionString: this.opts.connectionString, max: 2, applicationName: this.opts.applicationName }, this.opts.log);
    return this.pool.connect();
  }

  private async apply(lead: boolean): Promise<void> {
    await this.opts.ready?.();
    const c = await this.connect();
    let broken = false;
    try {
      if (lead) {
        for (const [group, replicas] of this.identities) await this.lead(c, group, [...replicas].sort()[0]);
      } else {
        for (const [group, replica] of [...this.given]) await this.resign(c, group, replica);
      }
    } catch (err) {
      broken = true;
      throw toPromfleetError(err);
    } finally {
      c.release(broken);
    }
  }

  /** The replica of this process the group's record names as leader over REST, if any. */
  private async recordedOwn(c: pg.PoolClient, group: string, forUpdate: boolean): Promise<string | undefined> {
    const rec = await this.leadership.leaderOf(c, group, forUpdate);
    if (rec === undefined || rec.leader === null || rec.via !== 'rest') return undefined;
    return this.identities.get(group)?.has(rec.leader) ? rec.leader : undefined;
  }

  /**
   * Takes the group over for `replica` unless one of this process's replicas already leads it.
   * The check locks the row, so it waits for a takeover in flight and sees its outcome.
   */
  private async lead(c: pg.PoolClient, group: string, replica: string): Promise<void> {
    await this.leadership.groupId(c, group);
    const already = await inTransaction(c, () => this.recordedOwn(c, group, true));
    if (already !== undefined) {
      this.given.set(group, already);
      this.opts.metrics.haLeader.set({ group, replica: already }, 1);
      this.opts.log.debug({ group, replica: already }, 'Instance is already the leader');
      return;
    }
    const t = await this.leadership.takeOver(c, group, replica, 'rest', this.opts.cuts(group));
    this.given.set(group, replica);
    this.opts.log.info({ group, replica, epoch: t.epoch, handoffMs: t.handoffMs, previous: t.previous, handoff: t.changed }, 'Instance became a leader');
    this.opts.metrics.haLeader.set({ group, replica }, 1);
    if (t.changed) this.opts.metrics.haLeadershipChanges.inc({ group });
  }

  /** Clears the group's leader only while the record still names `replica` over REST. */
  private async resign(c: pg.PoolClient, group: string, replica: string): Promise<void> {
    // Only while the record still names this replica over REST (checked under the row lock).
    const resigned = await this.leadership.resign(c, group, replica, this.opts.cuts(group), 'rest');
    this.given.delete(group);
    this.opts.metrics.haLeader.set({ group, replica }, 0);
    if (resigned) this.opts.log.warn({ group, replica }, 'Instance is no longer a leader');
    else this.opts.log.info({ group, replica }, 'leadership already moved elsewhere; nothing to resign');
  }
}

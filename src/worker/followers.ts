import type { Queue } from 'bullmq';
import type pg from 'pg';
import {
  TransientError, isQueuedJob, parseQueueName, queuedWork, type BatchHandler, type QueueBackend, type QueueIdentity, type TimeIndexStore,
} from '../queue/index.js';
import type { CutSource, Leadership } from '../storage/index.js';
import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';
import type { OwnershipView } from './leaders.js';

/** Jobs of one idle queue written by id per scan. */
const DECIDED_PAGE = 256;
/** Sweep script calls per queue per scan (each looks at up to SWEEP_PAGE jobs). */
const SWEEP_ROUNDS = 20;
/** Scans in a row a lock leader must be seen dead before a worker closes its interval (its elector may be reconnecting). */
const DEAD_SCANS = 2;

export interface FollowerWorkOptions {
  readonly view: OwnershipView;
  readonly leadership: Leadership;
  readonly pool: pg.Pool;
  /** The store of the queues: backlog counters and the replay lease. */
  readonly backend: QueueBackend;
  readonly index: TimeIndexStore;
  readonly handler: BatchHandler;
  /** A follower's batch goes once the leader has committed this far past its newest sample (ms). */
  readonly marginMs: number;
  readonly lookbackMs: number;
  readonly maxSkewMs: number;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly signal: AbortSignal;
}

/**
 * What a worker does besides consuming the leaders' queues, once per scan:
 * - closes the interval of a lock leader whose session is gone, so its backlog is written;
 * - makes a new leader's interval ready once no other replica's queue holds anything unwritten
 *   at or before its cut (the marks are computed then, from what is committed);
 * - in every queue that is not consumed, writes by id the jobs whose owner is decided (an old
 *   leader's backlog, late or replayed, up to its cut), drops follower jobs the leader has
 *   covered, and puts back jobs left active with no worker holding them.
 */
export class FollowerWork {
  private readonly strikes = new Map<string, number>();
  private readonly cuts: (group: string) => CutSource;

  constructor(private readonly opts: FollowerWorkOptions) {
    this.cuts = (group) => opts.index.cuts(group, opts.maxSkewMs);
  }

  /** Before a scan: the view, dead leaders, ready intervals. */
  async beforeScan(queues: readonly string[]): Promise<void> {
    await this.opts.view.refresh();
    let changed = false;
    for (const g of this.opts.view.all()) {
      const st = g.state;
      const dead = st.leader !== null && !st.alive;
      const n = dead ? (this.strikes.get(st.group) ?? 0) + 1 : 0;
      this.strikes.set(st.group, n);
      if (n >= DEAD_SCANS) changed = (await this.closeDead(st.group, st.leader)) || changed;
      for (const [k, iv] of st.intervals.entries()) {
        const pred = st.intervals[k - 1];
        if (iv.ready || !pred || iv.fromMs === null) continue;
        if (await this.othersPending(queues, st.group, iv.replica, iv.fromMs)) continue;
        const client = await this.opts.pool.connect();
        try {
          const marks = await this.opts.leadership.markReady(client, st.group, iv.epoch, this.opts.lookbackMs);
          this.opts.log.info({ group: st.group, replica: iv.replica, epoch: iv.epoch, cutMs: iv.fromMs, marks }, 'handoff complete: the previous owner\'s data up to the cut is written; the new leader writes after the marks');
        } finally {
          client.release();
        }
        changed = true;
      }
    }
    if (changed) await this.opts.view.refresh();
  }

  private async closeDead(group: string, leader: string | null): Promise<boolean> {
    const client = await this.opts.pool.connect();
    try {
      const closed = await this.opts.leadership.closeDead(client, group, this.cuts(group));
      if (closed) this.opts.log.warn({ group, replica: leader }, 'the leader\'s election session is gone; its interval is closed at its cut and its backlog up to it is written');
      return closed;
    } finally {
      client.release();
    }
  }

  /** Whether another replica's queue of the group still holds something unwritten at or before the cut. */
  private async othersPending(queues: readonly string[], group: string, replica: string, cutMs: number): Promise<boolean> {
    for (const name of queues) {
      const id = parseQueueName(name);
      if (id?.group !== group || id.replica === undefined || id.replica === replica) continue;
      if ((await this.opts.index.pending(name, cutMs, 1)).length > 0) return true;
    }
    return false;
  }

  /** In a scan, for an HA queue nobody consumes. */
  async idle(queue: Queue, identity: QueueIdentity): Promise<void> {
    const group = identity.group as string;
    const replica = identity.replica as string;
    const name = queue.name;
    const moved = await this.opts.index.recoverActive(name);
    if (moved > 0) this.opts.log.warn({ queue: name, jobs: moved }, 'jobs left active with no worker holding them are back in their queue');
    const g = this.opts.view.of(group);
    if (!g) return;
    const undecidedFrom = g.ownership.undecidedFrom(replica);
    if (undecidedFrom > -Infinity) {
      const ids = await this.opts.index.pending(name, undecidedFrom, DECIDED_PAGE);
      if (ids.length > 0) await this.writeDecided(queue, ids);
    }
    const open = g.ownership.open;
    const committed = g.state.committedMs;
    if (g.state.alive && open?.ready && open.replica !== replica && committed !== undefined) {
      const dropped = (await this.opts.index.dropRedundant(name, committed - this.opts.marginMs, undecidedFrom, SWEEP_ROUNDS)).jobs;
      if (dropped > 0) this.opts.metrics.followerDropped.inc({ queue: name, reason: 'redundant' }, dropped);
    }
    this.opts.metrics.followerBacklog.set({ queue: name }, await this.opts.index.size(name));
  }

  /** Writes the decided part of jobs by id, one worker per queue at a time (a lease in the store). */
  private async writeDecided(queue: Queue, ids: readonly string[]): Promise<void> {
    const name = queue.name;
    const token = await this.opts.backend.lease.acquire(name, 60_000);
    if (token === undefined) return;
    try {
      const jobs = await Promise.all(ids.map(async (id) => ((await this.opts.index.isLocked(name, id)) ? undefined : queue.getJob(id))));
      await Promise.all(jobs.map(async (job) => {
        if (!job?.id || !isQueuedJob(job.data)) return;
        const data = job.data;
        const id = job.id;
        try {
          const r = await this.opts.handler.handle(queuedWork(id, name, data), this.opts.signal);
          if (r.retainedAfterMs !== undefined) {
            await this.opts.index.writtenThrough(name, id, r.retainedAfterMs);
            return;
          }
          // A leader's worker may have taken it meanwhile (then it is locked and stays: the ledger makes its write a no-op).
          if ((await queue.remove(id)) === 1) {
            await this.opts.index.unindex(name, [id]);
            await this.opts.backend.backlog.remove(name, data.n);
          }
        } catch (err) {
          if (err instanceof TransientError) return;
          // Not dead-lettered from here (that needs the job taken): it stays in its queue for its
          // replica's own worker, and stops holding the handoff back.
          this.opts.log.error({ queue: name, batch: id, err }, 'a follower batch whose owner is decided cannot be written; it stays queued');
          await this.opts.index.writtenThrough(name, id, data.t1);
        }
      }));
    } finally {
      await this.opts.backend.lease.release(name, token);
    }
  }
}

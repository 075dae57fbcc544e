import type pg from 'pg';
import type { GroupOwnershipState, Leadership } from '../storage/index.js';
import type { QueueIdentity } from '../queue/index.js';
import { Ownership } from './ownership.js';

/** One group as the worker last read it: the database's snapshot and the ownership it decides. */
export interface GroupView {
  readonly state: GroupOwnershipState;
  readonly ownership: Ownership;
}

/**
 * The worker's view of every HA group's ownership log, refreshed before every queue scan, with
 * the fill-in marks of each ready epoch (read once: they never change). Which queue to consume
 * and which samples to write rest on this view; what gets committed is decided by the fence
 * inside the write transaction (the ownership version it was computed from is still current).
 */
export class OwnershipView {
  private groups = new Map<string, GroupView>();
  private readonly marks = new Map<string, ReadonlyMap<number, number>>();

  constructor(private readonly pool: pg.Pool, private readonly leadership: Leadership, private readonly lookbackMs: number) {}

  async refresh(): Promise<void> {
    const states = await this.leadership.ownership(this.pool);
    const wanted = new Set<string>();
    for (const st of states) {
      st.intervals.forEach((iv, k) => {
        const pred = st.intervals[k - 1];
        if (iv.ready && pred && pred.replica !== iv.replica) wanted.add(`${iv.epoch}\u0000${st.group}`);
      });
    }
    await Promise.all([...wanted].filter((k) => !this.marks.has(k)).map(async (k) => {
      const [epoch, group] = k.split('\u0000');
      this.marks.set(k, await this.leadership.marks(this.pool, group, Number(epoch)));
    }));
    for (const k of this.marks.keys()) if (!wanted.has(k)) this.marks.delete(k);
    const next = new Map<string, GroupView>();
    for (const st of states) {
      const ownership = new Ownership(st.intervals, (epoch) => this.marks.get(`${epoch}\u0000${st.group}`), this.lookbackMs);
      next.set(st.group, { state: st, ownership });
    }
    this.groups = next;
  }

  of(group: string): GroupView | undefined {
    return this.groups.get(group);
  }

  all(): IterableIterator<GroupView> {
    return this.groups.values();
  }

  /**
   * The leader's queue, once its interval is ready, is consumed as a queue; any other HA queue
   * is worked through by id (what its owner decided is written, the rest retained). Batches
   * without a group, or a group without replicas, have no election: always consumed.
   */
  shouldConsume(identity: QueueIdentity): boolean {
    if (identity.group === undefined || identity.replica === undefined) return true;
    const open = this.groups.get(identity.group)?.ownership.open;
    return open !== undefined && open.replica === identity.replica && open.ready;
  }
}

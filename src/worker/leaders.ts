import type pg from 'pg';
import type { Leadership, LeaderRecord } from '../storage/index.js';
import type { QueueIdentity } from '../queue/index.js';

/**
 * The worker's view of who leads each HA group, refreshed before every queue scan, plus the
 * per-series fill-in marks of each leadership epoch (read once per epoch). Only a decision
 * about which queue to consume rests on this view; what gets committed is decided by the
 * fence inside the write transaction.
 */
export class LeaderView {
  private leaders = new Map<string, LeaderRecord>();
  private watermarks = new Map<string, number>();
  private readonly marksByEpoch = new Map<string, Promise<Map<number, number>>>();

  constructor(private readonly pool: pg.Pool, private readonly leadership: Leadership) {}

  async refresh(): Promise<void> {
    const [leaders, watermarks] = await Promise.all([this.leadership.leaders(this.pool), this.leadership.watermarks(this.pool)]);
    this.leaders = new Map(leaders.map((l) => [l.group, l]));
    this.watermarks = watermarks;
  }

  leaderOf(group: string): LeaderRecord | undefined {
    return this.leaders.get(group);
  }

  watermark(group: string): number | undefined {
    return this.watermarks.get(group);
  }

  /** Batches without a group, or a group without replicas, have no election: always consumed. */
  shouldConsume(identity: QueueIdentity): boolean {
    if (identity.group === undefined || identity.replica === undefined) return true;
    return this.leaders.get(identity.group)?.leader === identity.replica;
  }

  marks(group: string, epoch: number): Promise<Map<number, number>> {
    const key = `${epoch}\u0000${group}`;
    let m = this.marksByEpoch.get(key);
    if (!m) {
      for (const k of this.marksByEpoch.keys()) if (k.endsWith(`\u0000${group}`)) this.marksByEpoch.delete(k);
      m = this.leadership.marks(this.pool, group, epoch);
      m.catch(() => this.marksByEpoch.delete(key));
      this.marksByEpoch.set(key, m);
    }
    return m;
  }
}

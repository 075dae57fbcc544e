import type pg from 'pg';

type Queryable = pg.PoolClient | pg.Client;

/** How the leader got its leadership: the advisory lock, or an external elector over REST. */
export type LeaderVia = 'lock' | 'rest';

/** The bound of a cut when a replica accepted nothing at all (every time is after it). */
export const NO_DATA_CUT_MS = -Number.MAX_SAFE_INTEGER;

export interface CutSource {
  /**
   * The newest sample time the replica's ingress has accepted into its queue (ms), undefined
   * when unknown. Read while the group's row is locked, so every writer fenced against the old
   * leader has committed.
   */
  acceptedMs(replica: string): Promise<number | undefined>;
  /**
   * What the replica had accepted before the first gap in its data longer than its Prometheus
   * timeout (its Prometheus was down) after `afterMs`; undefined when there was none.
   */
  quietMs(replica: string, afterMs: number | null): Promise<number | undefined>;
  /** A cut never passes the database's clock plus this (ms): one sample from a fast clock cannot move it into the future. */
  readonly maxSkewMs: number;
}

export interface Takeover {
  readonly epoch: number;
  /** Where the new interval starts (the cut); null when the group had no owner before. */
  readonly handoffMs: number | null;
  readonly previous: string | null;
  /** False when the replica already owned the open interval (same leader again: no handoff, no new epoch). */
  readonly changed: boolean;
  /** The new interval waits for the previous owner's queue before it is written (false when there is nothing to wait for). */
  readonly waits: boolean;
  /**
   * The replica owned the open interval but fell quiet in it while nobody could take over (the
   * database was away): its interval was closed where it fell quiet, and it does not lead. Also
   * when a worker had closed that interval already (unchanged then), unless the caller held the
   * replica out for that cut before.
   */
  readonly resigned: boolean;
}

interface OpenInterval {
  readonly epoch: number;
  readonly replica: string;
  readonly fromMs: number | null;
}

/** SQL of one group's ownership log, run inside the caller's transaction on the group's locked leadership row. */
export class HandoffSql {
  constructor(private readonly s: string) {}

  /** Locks the group's leadership row (waits for every writer fenced FOR SHARE); undefined when the group has none. */
  async lockRow(c: Queryable, group: string): Promise<{ leader: string | null; epoch: number; via: LeaderVia } | undefined> {
    const r = await c.query<{ leader: string | null; epoch: string; via: LeaderVia }>(
      `SELECT leader, epoch, via FROM ${this.s}.ha_leaders WHERE group_name = $1 FOR UPDATE`, [group]);
    if (r.rowCount === 0) return undefined;
    return { leader: r.rows[0].leader, epoch: Number(r.rows[0].epoch), via: r.rows[0].via };
  }

  async openInterval(c: Queryable, group: string): Promise<OpenInterval | undefined> {
    const r = await c.query<{ epoch: string; replica: string; from_ms: string | null }>(
      `SELECT epoch, replica, from_ms FROM ${this.s}.ha_ownership WHERE group_name = $1 AND to_ms IS NULL ORDER BY epoch DESC LIMIT 1`, [group]);
    if (r.rowCount === 0) return undefined;
    const row = r.rows[0];
    return { epoch: Number(row.epoch), replica: row.replica, fromMs: row.from_ms === null ? null : Number(row.from_ms) };
  }

  async lastInterval(c: Queryable, group: string): Promise<{ replica: string; fromMs: number | null; toMs: number | null } | undefined> {
    const r = await c.query<{ replica: string; from_ms: string | null; to_ms: string | null }>(
      `SELECT replica, from_ms, to_ms FROM ${this.s}.ha_ownership WHERE group_name = $1 ORDER BY epoch DESC LIMIT 1`, [group]);
    if (r.rowCount === 0) return undefined;
    const row = r.rows[0];
    return { replica: row.replica, fromMs: row.from_ms === null ? null : Number(row.from_ms), toMs: row.to_ms === null ? null : Number(row.to_ms) };
  }

  /**
   * The cut of an open interval: its owner's accepted watermark (or what it had accepted when it
   * first fell quiet in the interval), bounded by the database clock plus the skew, and never
   * before what the group has committed (nothing the owner wrote may fall after its own cut)
   * nor before the interval's start.
   */
  async committed(c: Queryable, group: string): Promise<number | undefined> {
    const r = await c.query<{ max_ms: string }>(`SELECT max_ms FROM ${this.s}.ha_watermarks WHERE group_name = $1`, [group]);
    return r.rowCount ? Number(r.rows[0].max_ms) : undefined;
  }

  async cut(c: Queryable, group: string, open: OpenInterval, source: CutSource): Promise<number> {
    const r = await c.query<{ committed: string | null; now_ms: string }>(
      `SELECT (SELECT max_ms FROM ${this.s}.ha_watermarks WHERE group_name = $1) AS committed,
              (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now_ms`, [group]);
    const [accepted, quiet] = await Promise.all([source.acceptedMs(open.replica), source.quietMs(open.replica, open.fromMs)]);
    let cut = open.fromMs ?? NO_DATA_CUT_MS;
    if (r.rows[0].committed !== null) cut = Math.max(cut, Number(r.rows[0].committed));
    const newest = Math.min(accepted ?? -Infinity, quiet ?? Infinity, Number(r.rows[0].now_ms) + source.maxSkewMs);
    return Math.max(cut, newest);
  }

  async close(c: Queryable, group: string, epoch: number, cutMs: number): Promise<void> {
    await c.query(`UPDATE ${this.s}.ha_ownership SET to_ms = $3 WHERE group_name = $1 AND epoch = $2`, [group, epoch, cutMs]);
  }

  async open(c: Queryable, group: string, epoch: number, replica: string, fromMs: number | null, ready: boolean): Promise<void> {
    await c.query(`INSERT INTO ${this.s}.ha_ownership (group_name, epoch, replica, from_ms, ready) VALUES ($1, $2, $3, $4, $5)`,
      [group, epoch, replica, fromMs, ready]);
  }

  /**
   * Per series of the group, the last sample committed in (cut - lookback, cut] (float or native
   * histogram; greatest() skips the kind a series does not have), recorded as the epoch's marks.
   */
  async recordMarks(c: Queryable, group: string, epoch: number, cutMs: number, lookbackMs: number): Promise<number> {
    const m = await c.query(
      `INSERT INTO ${this.s}.ha_series_marks (group_name, epoch, series_id, last_ms)
       SELECT $1, $2, x.id, (extract(epoch FROM x.last) * 1000)::bigint FROM (
         SELECT se.id, greatest(
           (SELECT max(sa.time) FROM ${this.s}.samples sa WHERE sa.series_id = se.id
              AND sa.time > to_timestamp(($3::bigint - $4::bigint) / 1000.0) AND sa.time <= to_timestamp($3::bigint / 1000.0)),
           (SELECT max(h.time) FROM ${this.s}.histograms h WHERE h.series_id = se.id
              AND h.time > to_timestamp(($3::bigint - $4::bigint) / 1000.0) AND h.time <= to_timestamp($3::bigint / 1000.0))
         ) AS last
         FROM ${this.s}.series se WHERE se.ha_group = $1) x
       WHERE x.last IS NOT NULL
       ON CONFLICT DO NOTHING`, [group, epoch, cutMs, lookbackMs]);
    return m.rowCount ?? 0;
  }
}

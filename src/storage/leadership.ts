import { createHash } from 'node:crypto';
import type pg from 'pg';
import { assertSchemaName, quoteIdent } from './ident.js';

type Queryable = pg.PoolClient | pg.Client;

/** How the leader got its leadership: the advisory lock, or an external elector over REST. */
export type LeaderVia = 'lock' | 'rest';

export interface LeaderRecord {
  readonly group: string;
  readonly groupId: number;
  readonly leader: string | null;
  readonly epoch: number;
  readonly handoffMs: number | null;
  readonly via: LeaderVia;
}

export interface Takeover {
  readonly epoch: number;
  /** The group's watermark at the handoff; null when the group never had a sample written. */
  readonly handoffMs: number | null;
  /** Series whose last committed sample was recorded as their fill-in mark. */
  readonly marks: number;
  readonly previous: string | null;
}

/** Advisory-lock namespace of a schema: deployments in other schemas never contend. */
export function lockNamespace(schema: string): number {
  return createHash('sha256').update(`promfleet.ha.${schema}`).digest().readUInt32BE(0) & 0x7fffffff;
}

/**
 * The SQL of HA groups. Session-level advisory locks (two-key form: schema namespace, group id)
 * say who leads now; `ha_leaders` says who holds the lock (pid), from which epoch and which
 * sample time on. Writers fence against both inside their own transaction.
 */
export class Leadership {
  private readonly s: string;
  readonly namespace: number;

  constructor(readonly schema: string) {
    assertSchemaName(schema);
    this.s = quoteIdent(schema);
    this.namespace = lockNamespace(schema);
  }

  /** The group's stable id (created on first use). */
  async groupId(c: Queryable, group: string): Promise<number> {
    await c.query(`INSERT INTO ${this.s}.ha_groups (name) VALUES ($1) ON CONFLICT (name) DO NOTHING`, [group]);
    const r = await c.query<{ id: number }>(`SELECT id FROM ${this.s}.ha_groups WHERE name = $1`, [group]);
    const id = r.rows[0].id;
    await c.query(`INSERT INTO ${this.s}.ha_leaders (group_name, group_id) VALUES ($1, $2) ON CONFLICT (group_name) DO NOTHING`, [group, id]);
    return id;
  }

  async tryLock(c: Queryable, groupId: number): Promise<boolean> {
    const r = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::int, $2::int) AS ok', [this.namespace, groupId]);
    return r.rows[0].ok;
  }

  /** Releases every hold this session has on the group's lock (holds stack; a leak would keep it locked). */
  async unlock(c: Queryable, groupId: number): Promise<number> {
    let released = 0;
    for (let i = 0; i < 1000; i++) {
      const r = await c.query<{ ok: boolean }>('SELECT pg_advisory_unlock($1::int, $2::int) AS ok', [this.namespace, groupId]);
      if (!r.rows[0].ok) break;
      released++;
    }
    return released;
  }

  /** Whether this session holds the group's lock right now (also a ping of the session). */
  async holdsLock(c: Queryable, groupId: number): Promise<boolean> {
    const r = await c.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid()
         AND classid = $1::int::oid AND objid = $2::int::oid AND objsubid = 2`, [this.namespace, groupId]);
    return r.rows[0].n > 0;
  }

  /**
   * Records `replica` as leader of `group` from the group's current watermark on. Taking the
   * row lock waits for every writer transaction that fenced against the old leader (they hold
   * it FOR SHARE), so the watermark read here includes all the old leader ever commits. Per
   * series, the last committed sample (float or native histogram; greatest() skips the kind a
   * series does not have) within `markLookbackMs` before the handoff is recorded:
   * the new leader fills in after it, so nothing it scraped after the old leader's last stored
   * sample of a series is lost.
   */
  async takeOver(c: Queryable, group: string, replica: string, via: LeaderVia, markLookbackMs: number): Promise<Takeover> {
    await c.query('BEGIN');
    try {
      const prev = await c.query<{ leader: string | null }>(`SELECT leader FROM ${this.s}.ha_leaders WHERE group_name = $1 FOR UPDATE`, [group]);
      if (prev.rowCount === 0) throw new Error(`group ${group} has no leadership row`);
      const wm = await c.query<{ max_ms: string }>(`SELECT max_ms FROM ${this.s}.ha_watermarks WHERE group_name = $1`, [group]);
      const handoffMs = wm.rowCount ? Number(wm.rows[0].max_ms) : null;
      const up = await c.query<{ epoch: string }>(
        `UPDATE ${this.s}.ha_leaders SET leader = $2, epoch = epoch + 1, pid = CASE WHEN $3 = 'lock' THEN pg_backend_pid() END,
           via = $3, since = now(), handoff_ms = $4 WHERE group_name = $1 RETURNING epoch`, [group, replica, via, handoffMs]);
      const epoch = Number(up.rows[0].epoch);
      let marks = 0;
      if (handoffMs !== null) {
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
           WHERE x.last IS NOT NULL`, [group, epoch, handoffMs, markLookbackMs]);
        marks = m.rowCount ?? 0;
      }
      await c.query(`DELETE FROM ${this.s}.ha_series_marks WHERE group_name = $1 AND epoch < $2`, [group, epoch]);
      await c.query(`UPDATE ${this.s}.ha_ownership SET to_ms = $2 WHERE group_name = $1 AND to_ms IS NULL`, [group, handoffMs]);
      await c.query(`INSERT INTO ${this.s}.ha_ownership (group_name, epoch, replica, from_ms) VALUES ($1, $2, $3, $4)`, [group, epoch, replica, handoffMs]);
      await c.query('COMMIT');
      return { epoch, handoffMs, marks, previous: prev.rows[0].leader };
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  /** Clears the leader (waits for in-flight fenced writers) if `replica` is still recorded as leader. */
  async resign(c: Queryable, group: string, replica: string): Promise<void> {
    await c.query(`UPDATE ${this.s}.ha_leaders SET leader = NULL, pid = NULL WHERE group_name = $1 AND leader = $2`, [group, replica]);
  }

  /**
   * The group's recorded leader, how it got there and its epoch; undefined when the group has
   * no row. With `forUpdate` (inside a transaction) the row stays locked until it ends.
   */
  async leaderOf(c: Queryable, group: string, forUpdate = false): Promise<{ leader: string | null; via: LeaderVia; epoch: number } | undefined> {
    const r = await c.query<{ leader: string | null; via: LeaderVia; epoch: string }>(
      `SELECT leader, via, epoch FROM ${this.s}.ha_leaders WHERE group_name = $1${forUpdate ? ' FOR UPDATE' : ''}`, [group]);
    return r.rowCount ? { leader: r.rows[0].leader, via: r.rows[0].via, epoch: Number(r.rows[0].epoch) } : undefined;
  }

  async leaders(c: Queryable | pg.Pool): Promise<LeaderRecord[]> {
    const r = await c.query<{ group_name: string; group_id: number; leader: string | null; epoch: string; handoff_ms: string | null; via: LeaderVia }>(
      `SELECT group_name, group_id, leader, epoch, handoff_ms, via FROM ${this.s}.ha_leaders`);
    return r.rows.map((row) => ({
      group: row.group_name, groupId: row.group_id, leader: row.leader, epoch: Number(row.epoch),
      handoffMs: row.handoff_ms === null ? null : Number(row.handoff_ms), via: row.via,
    }));
  }

  /**
   * The fence, run first inside a writer's transaction: the replica leads the group and the
   * recorded holder still holds the lock right now (or leadership came over REST). The row is
   * locked FOR SHARE until commit, so no takeover can slip in between check and commit.
   * Returns the epoch and handoff, or undefined when the batch must not be written.
   */
  async fence(c: Queryable, group: string, replica: string): Promise<{ epoch: number; handoffMs: number | null } | undefined> {
    const r = await c.query<{ epoch: string; handoff_ms: string | null }>(
      `SELECT l.epoch, l.handoff_ms FROM ${this.s}.ha_leaders l
       WHERE l.group_name = $1 AND l.leader = $2 AND (l.via = 'rest' OR EXISTS (
         SELECT 1 FROM pg_locks k WHERE k.locktype = 'advisory' AND k.granted AND k.pid = l.pid
           AND k.database = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND k.classid = $3::int::oid AND k.objid = l.group_id::oid AND k.objsubid = 2))
       FOR SHARE OF l`, [group, replica, this.namespace]);
    if (r.rowCount === 0) return undefined;
    return { epoch: Number(r.rows[0].epoch), handoffMs: r.rows[0].handoff_ms === null ? null : Number(r.rows[0].handoff_ms) };
  }

  /** Advances the group's watermark; run last in the writer's transaction (its row lock is held until commit). */
  async advanceWatermark(c: Queryable, group: string, maxMs: number): Promise<void> {
    await c.query(
      `INSERT INTO ${this.s}.ha_watermarks (group_name, max_ms) VALUES ($1, $2)
       ON CONFLICT (group_name) DO UPDATE SET max_ms = greatest(${this.s}.ha_watermarks.max_ms, excluded.max_ms)`, [group, maxMs]);
  }

  async watermarks(c: Queryable | pg.Pool): Promise<Map<string, number>> {
    const r = await c.query<{ group_name: string; max_ms: string }>(`SELECT group_name, max_ms FROM ${this.s}.ha_watermarks`);
    return new Map(r.rows.map((row) => [row.group_name, Number(row.max_ms)]));
  }

  /** Per-series fill-in marks of one epoch: series id → last committed sample time (ms) at the handoff. */
  async marks(c: Queryable | pg.Pool, group: string, epoch: number): Promise<Map<number, number>> {
    const r = await c.query<{ series_id: string; last_ms: string }>(
      `SELECT series_id, last_ms FROM ${this.s}.ha_series_marks WHERE group_name = $1 AND epoch = $2`, [group, epoch]);
    return new Map(r.rows.map((row) => [Number(row.series_id), Number(row.last_ms)]));
  }
}

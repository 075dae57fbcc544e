import { createHash } from 'node:crypto';
import type pg from 'pg';
import { assertSchemaName, quoteIdent } from './ident.js';
import { inTransaction } from './transaction.js';
import { HandoffSql, NO_DATA_CUT_MS, type CutSource, type LeaderVia, type Takeover } from './handoff.js';

export { NO_DATA_CUT_MS, type CutSource, type LeaderVia, type Takeover } from './handoff.js';

type Queryable = pg.PoolClient | pg.Client;

export interface LeaderRecord {
  readonly group: string;
  readonly groupId: number;
  readonly leader: string | null;
  readonly epoch: number;
  readonly handoffMs: number | null;
  readonly via: LeaderVia;
}

export interface OwnershipRow {
  readonly epoch: number;
  readonly replica: string;
  readonly fromMs: number | null;
  readonly toMs: number | null;
  readonly ready: boolean;
}

/** One group's ownership as a worker sees it, read in one statement (one snapshot). */
export interface GroupOwnershipState {
  readonly group: string;
  /** Bumped by every change to the ownership log; writers fence against it. */
  readonly version: number;
  readonly leader: string | null;
  /** A leader is recorded and its lock is held now (or it was set over REST). */
  readonly alive: boolean;
  /** The group's newest committed sample (ms), undefined before the first write. */
  readonly committedMs: number | undefined;
  /** The newest intervals of the ownership log, ascending by epoch. */
  readonly intervals: readonly OwnershipRow[];
}

/** Intervals of the ownership log a worker reads per group (older ones decide nothing a queue still holds). */
const INTERVALS_READ = 50;

/** Advisory-lock namespace of a schema: deployments in other schemas never contend. */
export function lockNamespace(schema: string): number {
  return createHash('sha256').update(`promfleet.ha.${schema}`).digest().readUInt32BE(0) & 0x7fffffff;
}

/**
 * The SQL of HA groups. Session-level advisory locks (two-key form: schema namespace, group id)
 * say who leads now; `ha_leaders` says who holds the lock (pid); `ha_ownership` says which
 * replica owns which sample times. Every change to the log bumps the row's version; writers
 * fence against the version (and, writing the open interval, the lock) in their transaction.
 */
export class Leadership {
  private readonly s: string;
  private readonly sql: HandoffSql;
  readonly namespace: number;

  constructor(readonly schema: string) {
    assertSchemaName(schema);
    this.s = quoteIdent(schema);
    this.sql = new HandoffSql(this.s);
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

  /** SQL true when the leader recorded in row `l` holds the group's lock now (or leads over REST). */
  private heldBy(l: string): string {
    return `(${l}.via = 'rest' OR EXISTS (
      SELECT 1 FROM pg_locks k WHERE k.locktype = 'advisory' AND k.granted AND k.pid = ${l}.pid
        AND k.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND k.classid = ${this.namespace}::oid AND k.objid = ${l}.group_id::oid AND k.objsubid = 2))`;
  }

  /**
   * Records `replica` as leader of `group`. The same replica owning the open interval (its lock
   * re-taken, a repeated REST call) only records the new holder: no handoff, no new epoch.
   * Otherwise the open interval, if any, is closed at its owner's cut and the new one opens
   * there; it waits for the previous owner's queue (see markReady) unless there is no
   * previous owner or it is the same replica.
   */
  async takeOver(c: Queryable, group: string, replica: string, via: LeaderVia, source: CutSource, heldOutForCutMs?: number | null): Promise<Takeover> {
    return inTransaction(c, async () => {
      const row = await this.sql.lockRow(c, group);
      if (!row) throw new Error(`group ${group} has no leadership row`);
      const pid = via === 'lock' ? 'pg_backend_pid()' : 'NULL';
      const open = await this.sql.openInterval(c, group);
      if (open?.replica === replica) {
        // Quiet in its own interval while nobody could take over (the database was away), and
        // back before anyone could: what it did not send is the other replicas' to give.
        const quiet = await source.quietMs(replica, open.fromMs);
        if (quiet !== undefined && quiet >= ((await this.sql.committed(c, group)) ?? -Infinity)) {
          const cut = await this.closeOpen(c, group, source);
          return { epoch: open.epoch, handoffMs: cut, previous: row.leader, changed: true, waits: false, resigned: true };
        }
        await c.query(`UPDATE ${this.s}.ha_leaders SET leader = $2, pid = ${pid}, via = $3, since = now() WHERE group_name = $1`, [group, replica, via]);
        return { epoch: open.epoch, handoffMs: open.fromMs, previous: row.leader, changed: false, waits: false, resigned: false };
      }
      let cut: number | null;
      let previous: string | undefined;
      if (open) {
        cut = await this.sql.cut(c, group, open, source);
        await this.sql.close(c, group, open.epoch, cut);
        previous = open.replica;
      } else {
        const last = await this.sql.lastInterval(c, group);
        cut = last ? last.toMs ?? NO_DATA_CUT_MS : null;
        previous = last?.replica;
        // Its own interval was closed where it fell quiet (by a worker, while its elector was
        // away): as when it resigns, those that kept writing go first, once per cut.
        if (last?.replica === replica && cut !== null && heldOutForCutMs !== cut) {
          const quiet = await source.quietMs(replica, last.fromMs);
          if (quiet !== undefined && quiet <= cut) return { epoch: row.epoch, handoffMs: cut, previous: row.leader, changed: false, waits: false, resigned: true };
        }
      }
      const waits = previous !== undefined && previous !== replica;
      const epoch = row.epoch + 1;
      await this.sql.open(c, group, epoch, replica, cut, !waits);
      await c.query(
        `UPDATE ${this.s}.ha_leaders SET leader = $2, epoch = $3, pid = ${pid}, via = $4, since = now(), handoff_ms = $5, version = version + 1
         WHERE group_name = $1`, [group, replica, epoch, via, cut]);
      return { epoch, handoffMs: cut, previous: row.leader, changed: true, waits, resigned: false };
    });
  }

  /**
   * Ends `replica`'s leadership of `group` (quiet replica, shutdown, PUT 0) and closes its open
   * interval at its cut: its backlog up to the cut is still written (without a lock: nobody
   * else can ever own those times); later times wait for the next leader. No-op (false) when
   * `replica` is not the recorded leader, or `via` is given and differs.
   */
  async resign(c: Queryable, group: string, replica: string, source: CutSource, via?: LeaderVia): Promise<boolean> {
    return inTransaction(c, async () => {
      const row = await this.sql.lockRow(c, group);
      if (!row || row.leader !== replica || (via !== undefined && row.via !== via)) return false;
      await this.closeOpen(c, group, source);
      return true;
    });
  }

  /**
   * Closes the interval of a lock leader whose session is gone (nothing holds the lock), so
   * that its backlog is written even when no replica takes over. False when the leader is alive.
   */
  async closeDead(c: Queryable, group: string, source: CutSource): Promise<boolean> {
    return inTransaction(c, async () => {
      const r = await c.query<{ dead: boolean }>(
        `SELECT (l.leader IS NOT NULL AND NOT ${this.heldBy('l')}) AS dead FROM ${this.s}.ha_leaders l WHERE l.group_name = $1 FOR UPDATE OF l`, [group]);
      if (!r.rows[0]?.dead) return false;
      await this.closeOpen(c, group, source);
      return true;
    });
  }

  private async closeOpen(c: Queryable, group: string, source: CutSource): Promise<number | null> {
    const open = await this.sql.openInterval(c, group);
    let cut: number | null = null;
    if (open) {
      cut = await this.sql.cut(c, group, open, source);
      await this.sql.close(c, group, open.epoch, cut);
    }
    await c.query(
      `UPDATE ${this.s}.ha_leaders SET leader = NULL, pid = NULL, handoff_ms = coalesce($2, handoff_ms), version = version + 1 WHERE group_name = $1`,
      [group, cut]);
    return cut;
  }

  /**
   * Makes interval `epoch` ready: its predecessor's queue holds nothing at or before the cut
   * (the caller checked), so the per-series marks are computed from what is committed now and
   * the new owner may write after them. Idempotent; returns the marks recorded (0 when it was ready).
   */
  async markReady(c: Queryable, group: string, epoch: number, lookbackMs: number): Promise<number> {
    return inTransaction(c, async () => {
      await this.sql.lockRow(c, group);
      const r = await c.query<{ from_ms: string | null; ready: boolean }>(
        `SELECT from_ms, ready FROM ${this.s}.ha_ownership WHERE group_name = $1 AND epoch = $2`, [group, epoch]);
      if (r.rowCount === 0 || r.rows[0].ready) return 0;
      const from = r.rows[0].from_ms === null ? null : Number(r.rows[0].from_ms);
      const marks = from === null || from === NO_DATA_CUT_MS ? 0 : await this.sql.recordMarks(c, group, epoch, from, lookbackMs);
      await c.query(`UPDATE ${this.s}.ha_ownership SET ready = true WHERE group_name = $1 AND epoch = $2`, [group, epoch]);
      await c.query(`UPDATE ${this.s}.ha_leaders SET version = version + 1 WHERE group_name = $1`, [group]);
      return marks;
    });
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

  /** Every group's ownership, one statement (a consistent snapshot of version and intervals). */
  async ownership(c: Queryable | pg.Pool): Promise<GroupOwnershipState[]> {
    const r = await c.query<{
      group_name: string; version: string; leader: string | null; alive: boolean; committed: string | null;
      intervals: { epoch: number; replica: string; from_ms: number | null; to_ms: number | null; ready: boolean }[] | null;
    }>(
      `SELECT l.group_name, l.version, l.leader, (l.leader IS NOT NULL AND ${this.heldBy('l')}) AS alive, w.max_ms AS committed,
         (SELECT json_agg(json_build_object('epoch', o.epoch, 'replica', o.replica, 'from_ms', o.from_ms, 'to_ms', o.to_ms, 'ready', o.ready) ORDER BY o.epoch)
            FROM (SELECT * FROM ${this.s}.ha_ownership o WHERE o.group_name = l.group_name ORDER BY o.epoch DESC LIMIT ${INTERVALS_READ}) o) AS intervals
       FROM ${this.s}.ha_leaders l LEFT JOIN ${this.s}.ha_watermarks w ON w.group_name = l.group_name`);
    return r.rows.map((row) => ({
      group: row.group_name, version: Number(row.version), leader: row.leader, alive: row.alive,
      committedMs: row.committed === null ? undefined : Number(row.committed),
      intervals: (row.intervals ?? []).map((o) => ({
        epoch: Number(o.epoch), replica: o.replica, fromMs: o.from_ms === null ? null : Number(o.from_ms),
        toMs: o.to_ms === null ? null : Number(o.to_ms), ready: o.ready,
      })),
    }));
  }

  /**
   * The fence, run first inside a writer's transaction: the group's ownership is still at
   * `version` (the writer's filter is still right), and, for a write into the open interval,
   * `leader` leads and the recorded holder holds the lock right now (or leadership came over
   * REST). The row is locked FOR SHARE until commit, so no handoff slips in between.
   */
  async fence(c: Queryable, group: string, version: number, leader?: string): Promise<boolean> {
    const r = await c.query<{ version: string; leader: string | null; held: boolean }>(
      `SELECT l.version, l.leader, ${this.heldBy('l')} AS held FROM ${this.s}.ha_leaders l WHERE l.group_name = $1 FOR SHARE OF l`, [group]);
    if (r.rowCount === 0 || Number(r.rows[0].version) !== version) return false;
    return leader === undefined || (r.rows[0].leader === leader && r.rows[0].held);
  }

  /**
   * Advances the group's watermark; run last in the writer's transaction (its row lock is held
   * until commit). Never past the database clock plus `maxSkewMs`: one future-stamped sample
   * must not make every follower batch look redundant.
   */
  async advanceWatermark(c: Queryable, group: string, maxMs: number, maxSkewMs: number): Promise<void> {
    await c.query(
      `INSERT INTO ${this.s}.ha_watermarks (group_name, max_ms)
       VALUES ($1, least($2::bigint, (extract(epoch FROM clock_timestamp()) * 1000)::bigint + $3::bigint))
       ON CONFLICT (group_name) DO UPDATE SET max_ms = greatest(${this.s}.ha_watermarks.max_ms, excluded.max_ms)`, [group, maxMs, maxSkewMs]);
  }

  /** Per-series fill-in marks of one epoch: series id → last committed sample time (ms) before its cut. */
  async marks(c: Queryable | pg.Pool, group: string, epoch: number): Promise<Map<number, number>> {
    const r = await c.query<{ series_id: string; last_ms: string }>(
      `SELECT series_id, last_ms FROM ${this.s}.ha_series_marks WHERE group_name = $1 AND epoch = $2`, [group, epoch]);
    return new Map(r.rows.map((row) => [Number(row.series_id), Number(row.last_ms)]));
  }
}

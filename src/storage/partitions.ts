import type pg from 'pg';
import { PromfleetError } from '../errors.js';
import type { Logger } from '../observability/log.js';
import { assertSchemaName, qualified, quoteIdent } from './ident.js';
import { PARTITION_INTERVAL_COMMENT } from './migrations/v001-initial.js';
import {
  assertPartitionInterval, assertPartitionableTime, isoBound, partitionName, partitionStart, partitionStartFromName,
} from './partition-names.js';

export interface PartitionsOptions {
  readonly pool: pg.Pool;
  readonly schema: string;
  /**
   * Partition width, ms, whole minutes. The width recorded on the samples table at the first
   * migration wins over this one (boundaries must never change under existing partitions).
   */
  readonly intervalMs: number;
  readonly log: Logger;
  /** Most partitions one call may create, against a batch spanning decades. Default 1000. */
  readonly maxCreatePerCall?: number;
}

interface State {
  readonly hypertable: boolean;
  readonly intervalMs: number;
}

const DUPLICATE_CODES = new Set(['42P07', '23505']); // duplicate_table; unique_violation on pg_class/pg_type

/**
 * Native range partitions of `<schema>.samples`, created on demand, of any age.
 *
 * The partitions known to exist are cached by start time, so a batch whose partitions exist
 * costs a Set lookup per partition it touches. Missing ones are created under a transaction
 * advisory lock (one per schema): two processes creating the same partition would otherwise
 * race between CREATE TABLE IF NOT EXISTS's existence check and its catalog insert and one of
 * them would fail with 42P07 or 23505. A duplicate error is still retried once, for creators
 * that do not take the lock (an operator's script).
 */
export class Partitions {
  private readonly pool: pg.Pool;
  private readonly schema: string;
  private readonly log: Logger;
  private readonly configuredIntervalMs: number;
  private readonly maxCreate: number;
  private state: State | undefined;
  private loading: Promise<State> | undefined;
  private readonly known = new Set<number>();

  constructor(opts: PartitionsOptions) {
    assertSchemaName(opts.schema);
    assertPartitionInterval(opts.intervalMs);
    this.pool = opts.pool;
    this.schema = opts.schema;
    this.log = opts.log;
    this.configuredIntervalMs = opts.intervalMs;
    this.maxCreate = opts.maxCreatePerCall ?? 1000;
  }

  /** The interval in effect (after load), for callers that group sample times. */
  get intervalMs(): number {
    return this.state?.intervalMs ?? this.configuredIntervalMs;
  }

  /** Makes sure partitions cover every time in [minMs, maxMs]. */
  async ensure(minMs: number, maxMs: number, client?: pg.ClientBase): Promise<void> {
    assertPartitionableTime(minMs);
    assertPartitionableTime(maxMs);
    if (minMs > maxMs) throw new RangeError(`ensure(${minMs}, ${maxMs}): min is after max`);
    const st = this.state ?? (await this.load(client));
    if (st.hypertable) return;
    const missing: number[] = [];
    for (let t = partitionStart(minMs, st.intervalMs); t <= maxMs; t += st.intervalMs) {
      if (!this.known.has(t)) missing.push(t);
      if (missing.length > this.maxCreate) {
        throw new RangeError(`ensure(${minMs}, ${maxMs}) would create more than ${this.maxCreate} partitions`);
      }
    }
    if (missing.length > 0) await this.create(missing, client);
  }

  /** Makes sure the partitions holding these sample times exist, skipping the gaps between. */
  async ensureTimes(timesMs: Iterable<number>, client?: pg.ClientBase): Promise<void> {
    const st = this.state ?? (await this.load(client));
    if (st.hypertable) return;
    const missing = new Set<number>();
    for (const t of timesMs) {
      assertPartitionableTime(t);
      const start = partitionStart(t, st.intervalMs);
      if (!this.known.has(start)) missing.add(start);
    }
    if (missing.size > this.maxCreate) {
      // Samples scattered over that many partitions are a broken sender, not a reason to retry.
      throw new PromfleetError('INVALID_SAMPLE', `samples fall into ${missing.size} missing partitions, more than ${this.maxCreate} allowed per batch`);
    }
    if (missing.size > 0) await this.create([...missing].sort((a, b) => a - b), client);
  }

  /**
   * The partition (its table name, unqualified) that holds every time in [minMs, maxMs], when a
   * single partition known to exist does; undefined on a hypertable, across partitions, or
   * before the partitions were read. COPY straight into it skips the per-row routing through the
   * parent (a fifth to a quarter of the COPY's server time, measured on PostgreSQL 15).
   */
  soleTarget(minMs: number, maxMs: number): string | undefined {
    const st = this.state;
    if (!st || st.hypertable || !(minMs <= maxMs)) return undefined;
    const start = partitionStart(minMs, st.intervalMs);
    if (start !== partitionStart(maxMs, st.intervalMs) || !this.known.has(start)) return undefined;
    return partitionName(start, st.intervalMs);
  }

  /** Creates the current partition and the `ahead` following ones (a count of intervals). */
  async ensureAhead(nowMs: number, ahead: number, client?: pg.ClientBase): Promise<void> {
    if (!Number.isSafeInteger(ahead) || ahead < 0) throw new RangeError(`ahead must be a count >= 0, got ${ahead}`);
    await this.ensure(nowMs, nowMs + ahead * this.intervalMs, client);
  }

  /**
   * Retention on native partitions: drops every partition whose whole range is older than
   * cutoffMs (a partition still holding newer samples stays). Returns the names dropped. On a
   * hypertable this does nothing (TimescaleDB's retention policy drops chunks there).
   * Other processes still caching a dropped partition find out at their next COPY and re-read.
   */
  async dropBefore(cutoffMs: number): Promise<string[]> {
    const st = await this.load();
    if (st.hypertable) return [];
    return this.withClient(undefined, async (c) => {
      await c.query('BEGIN');
      try {
        await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`promfleet.partitions.${this.schema}`]);
        const parts = await c.query<{ name: string }>(
          `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass($1)`,
          [qualified(this.schema, 'samples')]);
        const dropped: string[] = [];
        for (const p of parts.rows) {
          const start = partitionStartFromName(p.name, st.intervalMs);
          if (start === undefined || start + st.intervalMs > cutoffMs) continue;
          await c.query(`DROP TABLE ${quoteIdent(this.schema)}.${quoteIdent(p.name)}`);
          this.known.delete(start);
          dropped.push(p.name);
        }
        await c.query('COMMIT');
        if (dropped.length) this.log.info({ schema: this.schema, partitions: dropped }, 'sample partitions dropped by retention');
        return dropped;
      } catch (err) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  /**
   * Forgets what is cached: call when a write found no partition for a row (someone dropped
   * one, e.g. a retention job), so the next ensure re-reads the catalog.
   */
  reset(): void {
    this.known.clear();
    this.state = undefined;
    this.loading = undefined;
  }

  /** Whether samples is a hypertable and the interval in effect; existing partitions cached. */
  private load(client?: pg.ClientBase): Promise<State> {
    this.loading ??= this.withClient(client, async (c) => {
      const rel = await c.query<{ relkind: string; comment: string | null }>(
        `SELECT relkind, obj_description(oid, 'pg_class') AS comment FROM pg_class WHERE oid = to_regclass($1)`,
        [qualified(this.schema, 'samples')],
      );
      const row = rel.rows[0];
      if (!row) throw new Error(`${this.schema}.samples does not exist: run migrations first`);
      if (row.relkind !== 'p') return { hypertable: true, intervalMs: this.configuredIntervalMs };
      const intervalMs = this.recordedInterval(row.comment);
      const parts = await c.query<{ name: string }>(
        `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass($1)`,
        [qualified(this.schema, 'samples')],
      );
      for (const p of parts.rows) {
        const start = partitionStartFromName(p.name, intervalMs);
        if (start !== undefined) this.known.add(start);
      }
      return { hypertable: false, intervalMs };
    }).then((st) => {
      this.state = st;
      return st;
    }, (err: unknown) => {
      this.loading = undefined; // let the next call try again (the database may be back)
      throw err;
    });
    return this.loading;
  }

  private recordedInterval(comment: string | null): number {
    const recorded = comment?.startsWith(PARTITION_INTERVAL_COMMENT) ? Number(comment.slice(PARTITION_INTERVAL_COMMENT.length)) : NaN;
    if (!Number.isSafeInteger(recorded) || recorded <= 0) return this.configuredIntervalMs;
    if (recorded !== this.configuredIntervalMs) {
      this.log.warn({ schema: this.schema, configuredMs: this.configuredIntervalMs, recordedMs: recorded },
        'partition interval differs from the one samples was created with; keeping the recorded one');
    }
    return recorded;
  }

  private async create(starts: number[], client: pg.ClientBase | undefined, retried = false): Promise<void> {
    const intervalMs = this.intervalMs;
    const parent = qualified(this.schema, 'samples');
    try {
      await this.withClient(client, async (c) => {
        await c.query('BEGIN');
        try {
          await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`promfleet.partitions.${this.schema}`]);
          for (const start of starts) {
            // Names and bounds are computed from numbers here, never taken from input.
            const name = `${quoteIdent(this.schema)}.${quoteIdent(partitionName(start, intervalMs))}`;
            await c.query(`CREATE TABLE IF NOT EXISTS ${name} PARTITION OF ${parent}
              FOR VALUES FROM ('${isoBound(start)}') TO ('${isoBound(start + intervalMs)}')`);
          }
          await c.query('COMMIT');
        } catch (err) {
          await c.query('ROLLBACK').catch(() => undefined); // the original error says more
          throw err;
        }
      });
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (!retried && typeof code === 'string' && DUPLICATE_CODES.has(code)) {
        this.log.debug({ schema: this.schema, code }, 'partition created concurrently; retrying');
        return this.create(starts, client, true);
      }
      throw err;
    }
    for (const s of starts) this.known.add(s);
    this.log.info({ schema: this.schema, partitions: starts.map((s) => partitionName(s, intervalMs)) }, 'sample partitions ensured');
  }

  private async withClient<T>(client: pg.ClientBase | undefined, fn: (c: pg.ClientBase) => Promise<T>): Promise<T> {
    if (client) return fn(client);
    const c = await this.pool.connect();
    let failed: Error | undefined;
    try {
      return await fn(c);
    } catch (err) {
      failed = err instanceof Error ? err : new Error(String(err));
      throw err;
    } finally {
      // After an error the session may be mid-transaction or broken: do not hand it to others.
      c.release(failed);
    }
  }
}

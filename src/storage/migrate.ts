import type pg from 'pg';
import type { Logger } from '../observability/log.js';
import { assertSchemaName, qualified, quoteIdent } from './ident.js';
import { MIGRATIONS } from './migrations/index.js';
import { assertPartitionInterval } from './partition-names.js';

export interface MigrateOptions {
  /** Schema holding every promfleet table; created when missing. Default in config: 'prom'. */
  readonly schema: string;
  /**
   * Use TimescaleDB when the server offers the extension (it is created if needed). Only
   * decides at the first migration: an existing samples table keeps its kind.
   */
  readonly timescaledb: boolean;
  /** Partition or chunk width, milliseconds, a whole number of minutes (e.g. 3_600_000). */
  readonly partitionIntervalMs: number;
  readonly log: Logger;
}

export interface MigrateResult {
  /** Versions this call applied, ascending; empty when the schema was up to date. */
  readonly applied: number[];
  /** Whether `samples` is a TimescaleDB hypertable (otherwise native range partitions). */
  readonly timescaledb: boolean;
}

/**
 * Applies the missing migrations in one transaction.
 *
 * Several processes start at once (every worker and ingress migrates at start-up): each takes
 * the same transaction-scoped advisory lock first, so exactly one applies the versions and the
 * others, once they get the lock, find them recorded in schema_migrations (READ COMMITTED takes
 * a new snapshot per statement, so the winner's commit is visible to the waiters).
 */
export async function migrate(pool: pg.Pool, opts: MigrateOptions): Promise<MigrateResult> {
  assertSchemaName(opts.schema);
  assertPartitionInterval(opts.partitionIntervalMs);
  const s = quoteIdent(opts.schema);
  const log = opts.log;
  const client = await pool.connect();
  let releaseErr: Error | undefined;
  try {
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`promfleet.migrate.${opts.schema}`]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${s}.schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
      const done = await client.query<{ version: number }>(`SELECT version FROM ${s}.schema_migrations`);
      const have = new Set(done.rows.map((r) => r.version));
      const pending = MIGRATIONS.filter((m) => !have.has(m.version));
      const known = new Set(MIGRATIONS.map((m) => m.version));
      const newer = [...have].filter((v) => !known.has(v));
      if (newer.length > 0) log.warn({ versions: newer }, 'schema has migrations this version does not know (a newer promfleet ran)');

      const useTimescale = pending.length > 0 && (await prepareTimescale(client, opts));
      const applied: number[] = [];
      for (const m of pending) {
        for (const sql of m.up(opts.schema, { timescaledb: useTimescale, partitionIntervalMs: opts.partitionIntervalMs })) {
          await client.query(sql);
        }
        await client.query(`INSERT INTO ${s}.schema_migrations (version, name) VALUES ($1, $2)`, [m.version, m.name]);
        applied.push(m.version);
        log.info({ schema: opts.schema, version: m.version, migration: m.name }, 'migration applied');
      }
      const timescaledb = await isHypertable(client, opts.schema);
      await client.query('COMMIT');
      return { applied, timescaledb };
    } catch (err) {
      await client.query('ROLLBACK').catch((rollbackErr: unknown) => {
        releaseErr = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
      });
      throw err;
    }
  } finally {
    // A client whose ROLLBACK failed is in an unknown state: destroy it rather than reuse it.
    client.release(releaseErr);
  }
}

/** Creates the extension when asked for and available; says whether to use it. */
async function prepareTimescale(client: pg.PoolClient, opts: MigrateOptions): Promise<boolean> {
  if (!opts.timescaledb) return false;
  const avail = await client.query(`SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'`);
  if (avail.rowCount === 0) {
    opts.log.warn({ schema: opts.schema }, 'timescaledb requested but not available on the server; using native partitions');
    return false;
  }
  // The extension is per database while our lock is per schema: two schemas migrating at once
  // would both try CREATE EXTENSION and one would fail on pg_extension's unique index.
  await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', ['promfleet.migrate.extension.timescaledb']);
  await client.query('CREATE EXTENSION IF NOT EXISTS timescaledb');
  return true;
}

/** relkind 'p' is a native partitioned table; our migrations create a plain 'r' only as a hypertable. */
export async function isHypertable(client: pg.ClientBase | pg.Pool, schema: string): Promise<boolean> {
  const r = await client.query<{ relkind: string }>(
    'SELECT relkind FROM pg_class WHERE oid = to_regclass($1)', [qualified(schema, 'samples')],
  );
  const kind = r.rows[0]?.relkind;
  if (kind === undefined) throw new Error(`${schema}.samples does not exist: run migrations first`);
  return kind !== 'p';
}

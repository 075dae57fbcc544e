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
  /**
   * TimescaleDB only: compress chunks whose data is older than this many ms (segmented by
   * series_id, ordered by time). 0 removes promfleet's compression policy; absent leaves the
   * hypertable's policy as it is. Ignored on native partitions.
   */
  readonly compressAfterMs?: number;
  /**
   * TimescaleDB only: drop chunks whose data is older than this many ms. 0 removes the
   * retention policy; absent leaves it as it is. Ignored on native partitions.
   */
  readonly retentionMs?: number;
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
  assertPolicyAge('compressAfterMs', opts.compressAfterMs);
  assertPolicyAge('retentionMs', opts.retentionMs);
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

      // The kind of samples is chosen once, when the migration creating it runs; later
      // migrations are told the kind it has, whatever the server offers by then.
      const kind = pending.length > 0 ? await samplesKind(client, opts.schema) : undefined;
      const useTimescale = pending.length > 0 && (kind === undefined ? await prepareTimescale(client, opts) : kind === 'hypertable');
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
      if (timescaledb) await applyTimescalePolicies(client, opts);
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

function assertPolicyAge(name: string, ms: number | undefined): void {
  if (ms !== undefined && !(Number.isSafeInteger(ms) && ms >= 0)) {
    throw new TypeError(`${name} must be a whole number of milliseconds >= 0, got ${ms}`);
  }
}

async function samplesKind(client: pg.ClientBase, schema: string): Promise<'hypertable' | 'partitioned' | undefined> {
  const r = await client.query<{ relkind: string }>('SELECT relkind FROM pg_class WHERE oid = to_regclass($1)', [qualified(schema, 'samples')]);
  const kind = r.rows[0]?.relkind;
  if (kind === undefined) return undefined;
  return kind === 'p' ? 'partitioned' : 'hypertable';
}

/**
 * Whether TimescaleDB's loader runs in this server: it defines `timescaledb.disable_load` (a
 * bool anyone may read) when shared_preload_libraries has timescaledb. Without the loader,
 * CREATE EXTENSION (and any use of an extension created earlier) ends the session with a FATAL
 * "must be preloaded", which no savepoint survives: it has to be known before. A placeholder
 * from a configuration file without the library is not listed in pg_settings.
 */
async function timescaleLoaderActive(client: pg.ClientBase): Promise<boolean> {
  const r = await client.query<{ setting: string }>(
    `SELECT setting FROM pg_settings WHERE name = 'timescaledb.disable_load' AND vartype = 'bool'`);
  return r.rows[0]?.setting === 'off';
}

/**
 * Creates the extension when asked for and usable; says whether to use it. Not usable (not
 * installed on the server, or installed but not preloaded): samples gets native partitions,
 * with a warning. CREATE EXTENSION failing otherwise (e.g. refused for want of privilege) fails
 * the migration: the kind of samples is permanent and must not depend on a passing condition.
 */
async function prepareTimescale(client: pg.PoolClient, opts: MigrateOptions): Promise<boolean> {
  if (!opts.timescaledb) return false;
  const avail = await client.query(`SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'`);
  if (avail.rowCount === 0) {
    opts.log.warn({ schema: opts.schema }, 'timescaledb requested but not available on the server; using native partitions');
    return false;
  }
  if (!(await timescaleLoaderActive(client))) {
    opts.log.warn({ schema: opts.schema },
      'timescaledb is installed on the server but not in shared_preload_libraries (or timescaledb.disable_load is on); using native partitions');
    return false;
  }
  // The extension is per database while our lock is per schema: two schemas migrating at once
  // would both try CREATE EXTENSION and one would fail on pg_extension's unique index.
  await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', ['promfleet.migrate.extension.timescaledb']);
  await client.query('CREATE EXTENSION IF NOT EXISTS timescaledb');
  return true;
}

interface Policy {
  readonly label: 'compression' | 'retention';
  /** TimescaleDB's job procedure, and the key of its config holding the age. */
  readonly proc: string;
  readonly key: 'compress_after' | 'drop_after';
  readonly add: string;
  readonly remove: string;
}

const COMPRESSION: Policy = {
  label: 'compression', proc: 'policy_compression', key: 'compress_after', add: 'add_compression_policy', remove: 'remove_compression_policy',
};
const RETENTION: Policy = {
  label: 'retention', proc: 'policy_retention', key: 'drop_after', add: 'add_retention_policy', remove: 'remove_retention_policy',
};

/**
 * Brings the hypertable's compression and retention policies to the configured ages, on every
 * migrate (the options may change between runs), under the migration lock. A policy the
 * server cannot provide (an Apache-only build has neither) is logged as an error and skipped:
 * ingestion goes on without it.
 */
async function applyTimescalePolicies(client: pg.PoolClient, opts: MigrateOptions): Promise<void> {
  if (opts.compressAfterMs === undefined && opts.retentionMs === undefined) return;
  const ext = await client.query<{ schema: string }>(
    `SELECT n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'timescaledb'`);
  const extSchema = ext.rows[0]?.schema;
  if (extSchema === undefined) throw new Error(`${opts.schema}.samples is not natively partitioned but the timescaledb extension is missing`);
  const table = qualified(opts.schema, 'samples');
  if (opts.compressAfterMs !== undefined) {
    await setPolicy(client, opts, extSchema, COMPRESSION, opts.compressAfterMs, async () => {
      const r = await client.query<{ enabled: boolean }>(
        `SELECT compression_enabled AS enabled FROM timescaledb_information.hypertables WHERE hypertable_schema = $1 AND hypertable_name = 'samples'`,
        [opts.schema]);
      // Settings an operator changed by hand are kept; promfleet only turns compression on.
      if (r.rows[0]?.enabled !== true) {
        await client.query(`ALTER TABLE ${table} SET (timescaledb.compress, timescaledb.compress_segmentby = 'series_id', timescaledb.compress_orderby = 'time')`);
      }
    });
  }
  if (opts.retentionMs !== undefined) await setPolicy(client, opts, extSchema, RETENTION, opts.retentionMs);
}

/**
 * Replaces the policy when its age differs from ageMs, removes it for 0, leaves it when equal.
 * An error rolls back this policy's statements only (a savepoint) and is logged.
 */
async function setPolicy(
  client: pg.PoolClient, opts: MigrateOptions, extSchema: string, policy: Policy, ageMs: number, beforeAdd?: () => Promise<void>,
): Promise<void> {
  const table = qualified(opts.schema, 'samples');
  const fn = (name: string) => `${quoteIdent(extSchema)}.${name}`;
  const savepoint = `promfleet_${policy.label}_policy`;
  await client.query(`SAVEPOINT ${savepoint}`);
  try {
    const current = await client.query<{ same: boolean }>(
      `SELECT (config->>'${policy.key}')::interval = $2::bigint * interval '1 millisecond' AS same
       FROM timescaledb_information.jobs WHERE proc_name = '${policy.proc}' AND hypertable_schema = $1 AND hypertable_name = 'samples'`,
      [opts.schema, ageMs]);
    const existing = current.rows[0];
    const unchanged = ageMs > 0 ? existing?.same === true : existing === undefined;
    if (!unchanged) {
      if (existing !== undefined) await client.query(`SELECT ${fn(policy.remove)}($1::regclass, if_exists => true)`, [table]);
      if (ageMs > 0) {
        if (beforeAdd) await beforeAdd();
        await client.query(`SELECT ${fn(policy.add)}($1::regclass, ${policy.key} => $2::bigint * interval '1 millisecond')`, [table, ageMs]);
      }
    }
    await client.query(`RELEASE SAVEPOINT ${savepoint}`);
    if (!unchanged) {
      opts.log.info({ schema: opts.schema, policy: policy.label, afterMs: ageMs > 0 ? ageMs : null },
        ageMs > 0 ? 'timescaledb policy set' : 'timescaledb policy removed');
    }
  } catch (err) {
    await client.query(`ROLLBACK TO SAVEPOINT ${savepoint}`);
    opts.log.error({ schema: opts.schema, policy: policy.label, afterMs: ageMs, err },
      `timescaledb ${policy.label} policy could not be set; continuing without it`);
  }
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

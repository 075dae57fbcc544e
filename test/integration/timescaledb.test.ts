/**
 * The TimescaleDB path of storage, against a server that has the extension: samples as a
 * hypertable, concurrent migrations, compression and retention policies, bit-exact writes
 * (plain and compressed chunks), Partitions doing nothing, and the whole app on captured
 * Prometheus traffic.
 *
 * Runs only with PROMFLEET_TEST_TIMESCALEDB=1 and PROMFLEET_TEST_TIMESCALEDB_URL pointing at a
 * PostgreSQL whose shared_preload_libraries has timescaledb (the URL's user creates a database
 * per run). With the variable set and no usable server, every test fails; without it they
 * are reported as skipped.
 */
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { pino } from 'pino';
import { BatchWriter, Partitions, SeriesResolver, createPool, migrate, MIGRATIONS, type MigrateOptions, type WriteBatch } from '../../src/storage/index.js';
import { decodeWriteRequest, snappyDecompress } from '../../src/protocol/index.js';
import type { Label, TimeSeries } from '../../src/protocol/write/types.js';
import { deleteRedisPrefix, startApp } from '../helpers/app.js';
import { capturedRequests } from '../helpers/fixtures.js';
import { waitFor } from '../helpers/ports.js';
import { useTestDatabase } from '../helpers/database.js';
import { fromBits, toBits } from '../helpers/float-bits.js';

const enabled = process.env.PROMFLEET_TEST_TIMESCALEDB === '1';
if (!enabled) console.warn('TimescaleDB tests did not run: set PROMFLEET_TEST_TIMESCALEDB=1 and PROMFLEET_TEST_TIMESCALEDB_URL');

const log = pino({ level: 'silent' });
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const STALE = '7ff0000000000002';

/** Fails (never skips) when the variables ask for TimescaleDB and the server cannot give it. */
async function requireTimescaleServer(url: string): Promise<void> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await c.connect();
  try {
    const avail = await c.query(`SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'`);
    if (avail.rowCount === 0) throw new Error(`PROMFLEET_TEST_TIMESCALEDB=1 but the server at PROMFLEET_TEST_TIMESCALEDB_URL has no timescaledb extension`);
    const loader = await c.query(`SELECT 1 FROM pg_settings WHERE name = 'timescaledb.disable_load' AND vartype = 'bool'`);
    if (loader.rowCount === 0) throw new Error(`PROMFLEET_TEST_TIMESCALEDB=1 but timescaledb is not in the server's shared_preload_libraries`);
  } finally {
    await c.end();
  }
}

/** The server PROMFLEET_TEST_TIMESCALEDB_URL names, checked; a problem fails every test, none is skipped. */
async function timescaleServer(): Promise<string> {
  const url = process.env.PROMFLEET_TEST_TIMESCALEDB_URL;
  if (!url) throw new Error('PROMFLEET_TEST_TIMESCALEDB=1 but PROMFLEET_TEST_TIMESCALEDB_URL is not set');
  await requireTimescaleServer(url);
  return url;
}

const db = useTestDatabase('tsdb', {
  enabled, server: timescaleServer, setUpErrorFailsEachTest: true, max: 4, applicationName: 'timescaledb-test', log,
});

function opts(schema: string, more: Partial<MigrateOptions> = {}): MigrateOptions {
  return { schema, timescaledb: true, partitionIntervalMs: 2 * HOUR, log, ...more };
}

async function chunkIntervalMs(schema: string): Promise<number | undefined> {
  const r = await db.pool.query<{ ms: string }>(
    `SELECT (extract(epoch FROM time_interval) * 1000)::bigint AS ms FROM timescaledb_information.dimensions
     WHERE hypertable_schema = $1 AND hypertable_name = 'samples' AND column_name = 'time'`, [schema]);
  return r.rows[0] ? Number(r.rows[0].ms) : undefined;
}

/** Policy ages in ms by job procedure, for the schema's samples. */
async function policies(schema: string): Promise<Record<string, number>> {
  const r = await db.pool.query<{ proc: string; ms: string }>(
    `SELECT proc_name AS proc, (extract(epoch FROM coalesce(config->>'compress_after', config->>'drop_after')::interval) * 1000)::bigint AS ms
     FROM timescaledb_information.jobs WHERE hypertable_schema = $1 AND hypertable_name = 'samples' ORDER BY proc_name`, [schema]);
  return Object.fromEntries(r.rows.map((row) => [row.proc, Number(row.ms)]));
}

async function relationsIn(schema: string): Promise<string[]> {
  const r = await db.pool.query<{ relname: string }>(
    `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 ORDER BY 1`, [schema]);
  return r.rows.map((row) => row.relname);
}

async function chunks(schema: string): Promise<string[]> {
  const r = await db.pool.query<{ c: string }>(`SELECT c::text FROM show_chunks($1::regclass) c ORDER BY 1`, [`"${schema}".samples`]);
  return r.rows.map((row) => row.c);
}

function series(name: string, extra: Record<string, string>, samples: [number, number][]): TimeSeries {
  const labels: Label[] = [{ name: '__name__', value: name }, ...Object.entries(extra).map(([n, v]) => ({ name: n, value: v }))]
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  return { labels, samples: samples.map(([timestamp, value]) => ({ timestamp, value })), exemplars: [], histograms: [] };
}

function batch(id: string, timeseries: TimeSeries[]): WriteBatch {
  return { id, queue: 'q:tsdb', timeseries, metadata: [] };
}

async function writerFor(schema: string): Promise<BatchWriter> {
  const r = await migrate(db.pool, opts(schema));
  expect(r.timescaledb).toBe(true);
  return new BatchWriter({
    pool: db.pool, schema, log,
    partitions: new Partitions({ pool: db.pool, schema, intervalMs: 2 * HOUR, log }),
    series: new SeriesResolver({ schema }),
  });
}

/** (ms, bits) of every sample of a schema, in time order. */
async function storedBits(schema: string): Promise<{ ms: string; bits: string }[]> {
  const r = await db.pool.query<{ ms: string; bits: string }>(
    `SELECT (extract(epoch FROM time) * 1000)::bigint AS ms, encode(float8send(value), 'hex') AS bits FROM "${schema}".samples ORDER BY time, series_id`);
  return r.rows;
}

/** Values that must come back bit for bit; the stale marker first. */
const BIT_CASES: string[] = [STALE, '7ff8000000000001', '7ff0000000000000', 'fff0000000000000', '8000000000000000', '0000000000000001', '3ff8000000000000'];

describe('TimescaleDB storage', () => {
  // First in the file: the database is fresh, the extension is not created yet.
  it.skipIf(!enabled)('concurrent migrations of a fresh database (two of one schema, one of another) create the extension once and two hypertables', async () => {
    const pools = Array.from({ length: 3 }, (_, i) => createPool({ connectionString: db.url, max: 1, applicationName: `tsdb-migrator-${i}` }, log));
    try {
      const results = await Promise.all([
        migrate(pools[0], opts('ts_a')),
        migrate(pools[1], opts('ts_a')),
        migrate(pools[2], opts('ts_b')),
      ]);
      const all = MIGRATIONS.map((m) => m.version);
      expect(results.slice(0, 2).map((r) => r.applied).sort()).toEqual([[], all]);
      expect(results[2].applied).toEqual(all);
      expect(results.every((r) => r.timescaledb)).toBe(true);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
    const ext = await db.pool.query(`SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'`);
    expect(ext.rowCount).toBe(1);
    const ht = await db.pool.query<{ hypertable_schema: string }>(
      `SELECT hypertable_schema FROM timescaledb_information.hypertables WHERE hypertable_name = 'samples' ORDER BY 1`);
    expect(ht.rows.map((r) => r.hypertable_schema)).toEqual(['ts_a', 'ts_b']);
    const versions = await db.pool.query<{ version: number }>('SELECT version FROM ts_a.schema_migrations ORDER BY version');
    expect(versions.rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it.skipIf(!enabled)('migrate makes samples a hypertable on time with the partition interval as chunk width and the (series_id, time) index', async () => {
    const first = await migrate(db.pool, opts('ts_shape', { partitionIntervalMs: 3 * HOUR }));
    expect(first).toEqual({ applied: MIGRATIONS.map((m) => m.version), timescaledb: true });
    const ht = await db.pool.query(
      `SELECT num_dimensions, primary_dimension, primary_dimension_type, compression_enabled FROM timescaledb_information.hypertables
       WHERE hypertable_schema = 'ts_shape' AND hypertable_name = 'samples'`);
    expect(ht.rows).toEqual([{ num_dimensions: 1, primary_dimension: 'time', primary_dimension_type: 'timestamp with time zone', compression_enabled: false }]);
    expect(await chunkIntervalMs('ts_shape')).toBe(3 * HOUR);
    const idx = await db.pool.query<{ indexname: string; indexdef: string }>(
      `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'ts_shape' AND tablename = 'samples'`);
    // Only ours: create_hypertable's default (time DESC) index is not made.
    expect(idx.rows.map((r) => r.indexname)).toEqual(['samples_series_id_time_idx']);
    expect(idx.rows[0].indexdef).toMatch(/USING btree \(series_id, "time"\)$/);
    // A later run with another interval keeps the table's own (and applies nothing).
    const again = await migrate(db.pool, opts('ts_shape', { partitionIntervalMs: HOUR }));
    expect(again).toEqual({ applied: [], timescaledb: true });
    expect(await chunkIntervalMs('ts_shape')).toBe(3 * HOUR);
  });

  it.skipIf(!enabled)('a schema created without TimescaleDB keeps native partitions when migrated with it later', async () => {
    await migrate(db.pool, opts('ts_native', { timescaledb: false }));
    const again = await migrate(db.pool, opts('ts_native'));
    expect(again).toEqual({ applied: [], timescaledb: false });
    const r = await db.pool.query(`SELECT relkind FROM pg_class WHERE oid = 'ts_native.samples'::regclass`);
    expect(r.rows[0]).toEqual({ relkind: 'p' });
  });

  it.skipIf(!enabled)('compression and retention policies follow the options: set, changed, kept when absent, removed at 0', async () => {
    await migrate(db.pool, opts('ts_pol', { compressAfterMs: 7 * DAY, retentionMs: 30 * DAY }));
    expect(await policies('ts_pol')).toEqual({ policy_compression: 7 * DAY, policy_retention: 30 * DAY });
    const settings = await db.pool.query(
      `SELECT attname, segmentby_column_index, orderby_column_index FROM timescaledb_information.compression_settings
       WHERE hypertable_schema = 'ts_pol' AND hypertable_name = 'samples' ORDER BY attname`);
    expect(settings.rows).toEqual([
      { attname: 'series_id', segmentby_column_index: 1, orderby_column_index: null },
      { attname: 'time', segmentby_column_index: null, orderby_column_index: 1 },
    ]);
    const jobIds = async () => (await db.pool.query<{ job_id: number }>(
      `SELECT job_id FROM timescaledb_information.jobs WHERE hypertable_schema = 'ts_pol' ORDER BY job_id`)).rows.map((r) => r.job_id);
    const before = await jobIds();

    await migrate(db.pool, opts('ts_pol', { compressAfterMs: 7 * DAY, retentionMs: 30 * DAY }));
    expect(await jobIds(), 'unchanged ages keep the jobs').toEqual(before);

    await migrate(db.pool, opts('ts_pol', { compressAfterMs: 2 * DAY, retentionMs: 90 * DAY }));
    expect(await policies('ts_pol')).toEqual({ policy_compression: 2 * DAY, policy_retention: 90 * DAY });

    await migrate(db.pool, opts('ts_pol'));
    expect(await policies('ts_pol'), 'absent options leave the policies').toEqual({ policy_compression: 2 * DAY, policy_retention: 90 * DAY });

    await migrate(db.pool, opts('ts_pol', { compressAfterMs: 0 }));
    expect(await policies('ts_pol')).toEqual({ policy_retention: 90 * DAY });
    await migrate(db.pool, opts('ts_pol', { retentionMs: 0 }));
    expect(await policies('ts_pol')).toEqual({});

    await expect(migrate(db.pool, opts('ts_pol', { retentionMs: -1 }))).rejects.toThrow(/retentionMs/);
  });

  it.skipIf(!enabled)('two concurrent migrates of an existing hypertable schema with policies both succeed and leave one job of each', async () => {
    await migrate(db.pool, opts('ts_conc'));
    const p2 = createPool({ connectionString: db.url, max: 1, applicationName: 'tsdb-migrator-x' }, log);
    try {
      const results = await Promise.all([
        migrate(db.pool, opts('ts_conc', { compressAfterMs: DAY, retentionMs: 10 * DAY })),
        migrate(p2, opts('ts_conc', { compressAfterMs: DAY, retentionMs: 10 * DAY })),
      ]);
      expect(results).toEqual([{ applied: [], timescaledb: true }, { applied: [], timescaledb: true }]);
    } finally {
      await p2.end();
    }
    expect(await policies('ts_conc')).toEqual({ policy_compression: DAY, policy_retention: 10 * DAY });
  });

  it.skipIf(!enabled)('a batch round-trips NaN, the stale marker, ±Inf and -0 bit for bit; the metrics view reads it', async () => {
    const w = await writerFor('ts_bits');
    const t0 = Date.parse('2024-03-01T10:00:00.123Z');
    const samples: [number, number][] = BIT_CASES.map((bits, i) => [t0 + i, fromBits(bits)]);
    // Through a number[] of doubles the stale NaN is quieted to 0x7ff8000000000002; the writer restores it.
    const quieted = [0.5, fromBits(STALE)][1];
    expect(toBits(quieted)).toBe('7ff8000000000002');
    samples.push([t0 + 100, quieted]);
    const result = await w.write(batch('bits', [series('bits_metric', { job: 'j' }, samples)]));
    expect(result).toMatchObject({ duplicate: false, samples: samples.length });
    expect(await storedBits('ts_bits')).toEqual([
      ...BIT_CASES.map((bits, i) => ({ ms: String(t0 + i), bits })),
      { ms: String(t0 + 100), bits: STALE },
    ]);
    expect((await chunks('ts_bits')).length).toBe(1);
    const view = await db.pool.query<{ name: string; labels: Record<string, string>; stale: boolean }>(
      `SELECT name, labels, float8send(value) = '\\x${STALE}'::bytea AS stale FROM ts_bits.metrics WHERE time = to_timestamp($1 / 1000.0)`, [t0]);
    expect(view.rows).toEqual([{ name: 'bits_metric', labels: { job: 'j' }, stale: true }]);
  });

  it.skipIf(!enabled)('stale markers survive compression, and writes into a compressed chunk are kept too', async () => {
    const license = await db.pool.query<{ l: string }>(`SELECT current_setting('timescaledb.license') AS l`);
    expect(license.rows[0].l, 'compression needs the non-Apache (TSL) build of TimescaleDB').toBe('timescale');
    const w = await writerFor('ts_comp');
    // Turns compression on; the policy's age keeps its background job off this 2024 chunk.
    await migrate(db.pool, opts('ts_comp', { compressAfterMs: 3650 * DAY }));
    const t0 = Date.parse('2024-03-01T10:00:00.000Z');
    const rows: [number, number][] = [];
    for (let i = 0; i < 50; i++) rows.push([t0 + i * 1000, i % 10 === 0 ? fromBits(STALE) : i % 7 === 0 ? fromBits('7ff8000000000001') : i * 0.25]);
    await w.write(batch('before', [series('comp_metric', { i: '1' }, rows), series('comp_metric', { i: '2' }, rows)]));
    const expected = await storedBits('ts_comp');
    expect(expected.filter((r) => r.bits === STALE)).toHaveLength(10);

    const compressed = await db.pool.query(`SELECT compress_chunk(c) FROM show_chunks('ts_comp.samples'::regclass) c`);
    expect(compressed.rowCount).toBe(1);
    const status = await db.pool.query<{ is_compressed: boolean }>(
      `SELECT is_compressed FROM timescaledb_information.chunks WHERE hypertable_schema = 'ts_comp' AND hypertable_name = 'samples'`);
    expect(status.rows).toEqual([{ is_compressed: true }]);
    expect(await storedBits('ts_comp')).toEqual(expected);

    // Late data for the compressed chunk's time range.
    const late: [number, number][] = [[t0 + 500, fromBits(STALE)], [t0 + 1500, 42]];
    await w.write(batch('late', [series('comp_metric', { i: '3' }, late)]));
    const after = await storedBits('ts_comp');
    expect(after).toHaveLength(expected.length + 2);
    expect(after).toEqual(expect.arrayContaining([...expected, { ms: String(t0 + 500), bits: STALE }, { ms: String(t0 + 1500), bits: '4045000000000000' }]));
  });

  it.skipIf(!enabled)('Partitions.ensure, ensureTimes and ensureAhead are no-ops on a hypertable', async () => {
    await migrate(db.pool, opts('ts_parts'));
    const parts = new Partitions({ pool: db.pool, schema: 'ts_parts', intervalMs: 2 * HOUR, log, maxCreatePerCall: 10 });
    const relsBefore = await relationsIn('ts_parts');
    const inheritors = async () => (await db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = 'ts_parts.samples'::regclass`)).rows[0].n;
    // Far more 2h partitions than maxCreatePerCall: on native partitions each of these would throw.
    const from = Date.parse('2000-01-01T00:00:00Z');
    const to = Date.parse('2030-01-01T00:00:00Z');
    await parts.ensure(from, to);
    await parts.ensureTimes(Array.from({ length: 100 }, (_, i) => from + i * 30 * DAY));
    await parts.ensureAhead(Date.now(), 365);
    expect(await relationsIn('ts_parts')).toEqual(relsBefore);
    expect(await inheritors()).toBe(0);
    expect(await chunks('ts_parts')).toEqual([]);
    expect(parts.intervalMs).toBe(2 * HOUR);
  });

  it.skipIf(!enabled)('the app stores captured Prometheus 2.42 traffic in the hypertable exactly, stale markers included', async () => {
    const requests = capturedRequests('write').filter((r) => r.replica === 'replica-a');
    const withStale = requests.find((r) => r.file === 'write-0149.bin');
    expect(withStale, 'fixture replica-a/write-0149.bin').toBeDefined();
    const picked = [...requests.slice(0, 10), ...(withStale ? [withStale] : [])];
    const t = await startApp('all', { pgUrl: db.url, args: ['--pg.schema=ts_app'] });
    try {
      const expected: string[] = [];
      for (const r of picked) {
        const res = await fetch(`${t.url}${r.url}`, { method: 'POST', headers: r.headers, body: new Uint8Array(r.body) });
        expect(res.status, `${r.file}: ${await res.clone().text()}`).toBe(204);
        for (const s of decodeWriteRequest(snappyDecompress(r.body, 64 << 20)).timeseries) {
          for (const x of s.samples) expected.push(`${x.timestamp}:${toBits(x.value)}`);
        }
      }
      await waitFor('every sample written', async () => {
        const r = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM ts_app.samples');
        return r.rows[0].n >= expected.length;
      }, 60_000, 250);
      expect(await chunkIntervalMs('ts_app')).toBe(DAY);
      const stored = (await storedBits('ts_app')).map((r) => `${r.ms}:${r.bits}`);
      expect(stored.sort()).toEqual(expected.sort());
      expect(stored.filter((s) => s.endsWith(`:${STALE}`)).length).toBe(429);
      const view = await db.pool.query<{ n: number; replica: number }>(
        `SELECT count(*)::int AS n, count(*) FILTER (WHERE labels ? '__replica__')::int AS replica FROM ts_app.metrics`);
      expect(view.rows[0]).toEqual({ n: expected.length, replica: 0 });
    } finally {
      await t.stop();
      await deleteRedisPrefix(t.prefix);
    }
  });
});

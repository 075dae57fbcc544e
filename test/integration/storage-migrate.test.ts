import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { MIGRATIONS, createPool, migrate } from '../../src/storage/index.js';
import { v001Initial } from '../../src/storage/migrations/v001-initial.js';
import { useTestDatabase } from '../helpers/database.js';

const log = pino({ level: 'silent' });
const HOUR = 3_600_000;

const db = useTestDatabase('storage_migrate', { max: 4, applicationName: 'storage-migrate-test', log });

async function relkind(schema: string, name: string): Promise<string | undefined> {
  const r = await db.pool.query<{ relkind: string }>('SELECT relkind FROM pg_class WHERE oid = to_regclass($1)', [`"${schema}".${name}`]);
  return r.rows[0]?.relkind;
}

describe('migrate', () => {
  // First in the file: the database is fresh, nothing exists yet, not even the schema.
  it('four processes migrating a fresh database at once all succeed and apply each version exactly once', async () => {
    const pools = Array.from({ length: 4 }, (_, i) =>
      createPool({ connectionString: db.url, max: 1, applicationName: `migrator-${i}` }, log));
    try {
      const results = await Promise.all(pools.map((p) => migrate(p, { schema: 'prom', timescaledb: false, partitionIntervalMs: HOUR, log })));
      const all = MIGRATIONS.map((m) => m.version);
      expect(results.map((r) => r.applied).sort()).toEqual([[], [], [], all]);
      expect(results.every((r) => r.timescaledb === false)).toBe(true);
      const rows = await db.pool.query('SELECT version, name FROM prom.schema_migrations ORDER BY version');
      expect(rows.rows).toHaveLength(all.length);
      expect(rows.rows[0]).toMatchObject({ version: 1, name: v001Initial.name });
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  it('is idempotent: a second run applies nothing and keeps the data', async () => {
    await migrate(db.pool, { schema: 'prom_idem', timescaledb: false, partitionIntervalMs: HOUR, log });
    await db.pool.query(`INSERT INTO prom_idem.batches (id, queue, samples) VALUES ('b1', 'q', 0)`);
    const again = await migrate(db.pool, { schema: 'prom_idem', timescaledb: false, partitionIntervalMs: HOUR, log });
    expect(again).toEqual({ applied: [], timescaledb: false });
    const n = await db.pool.query('SELECT count(*)::int AS n FROM prom_idem.batches');
    expect(n.rows[0].n).toBe(1);
  });

  it('creates the v1 objects: partitioned samples, series indexes, ledger, metrics view', async () => {
    await migrate(db.pool, { schema: 'prom_objs', timescaledb: false, partitionIntervalMs: HOUR, log });
    expect(await relkind('prom_objs', 'samples')).toBe('p');
    for (const t of ['series', 'metadata', 'batches', 'exemplars', 'histograms', 'schema_migrations']) {
      expect(await relkind('prom_objs', t), t).toBe('r');
    }
    expect(await relkind('prom_objs', 'metrics')).toBe('v');
    const idx = await db.pool.query<{ indexname: string; indexdef: string }>(
      `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'prom_objs' ORDER BY indexname`);
    const defs = new Map(idx.rows.map((r) => [r.indexname, r.indexdef]));
    expect(defs.get('series_labels_idx')).toMatch(/USING gin \(labels jsonb_path_ops\)/);
    expect(defs.get('series_metric_idx')).toMatch(/btree \(metric\)/);
    expect(defs.get('samples_series_id_time_idx')).toMatch(/ON ONLY prom_objs\.samples USING btree \(series_id, "time"\)/);
    expect(defs.get('batches_written_at_idx')).toMatch(/\(written_at\)/);
    expect([...defs.values()].some((d) => /UNIQUE INDEX .* ON prom_objs\.series .*\(labels_hash\)/.test(d))).toBe(true);
    const cols = await db.pool.query<{ column_name: string; data_type: string }>(
      `SELECT column_name, data_type FROM information_schema.columns
       WHERE table_schema = 'prom_objs' AND table_name = 'metrics' ORDER BY ordinal_position`);
    expect(cols.rows).toEqual([
      { column_name: 'time', data_type: 'timestamp with time zone' },
      { column_name: 'name', data_type: 'text' },
      { column_name: 'value', data_type: 'double precision' },
      { column_name: 'labels', data_type: 'jsonb' },
    ]);
  });

  it('falls back to native partitions when timescaledb is requested but not installed or not preloaded', async () => {
    const avail = await db.pool.query(`SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'`);
    const loaded = await db.pool.query(`SELECT 1 FROM pg_settings WHERE name = 'timescaledb.disable_load' AND vartype = 'bool'`);
    const usable = avail.rowCount === 1 && loaded.rowCount === 1;
    const result = await migrate(db.pool, { schema: 'prom_ts', timescaledb: true, partitionIntervalMs: HOUR, log });
    expect(result.timescaledb).toBe(usable);
    expect(await relkind('prom_ts', 'samples')).toBe(usable ? 'r' : 'p');
  });

  it('the TimescaleDB variant makes samples a hypertable with the partition interval as chunk width', () => {
    const sql = v001Initial.up('prom', { timescaledb: true, partitionIntervalMs: 2 * HOUR }).join('\n');
    expect(sql).toContain(`create_hypertable('"prom".samples', 'time', chunk_time_interval => interval '7200000 milliseconds'`);
    expect(sql).not.toContain('PARTITION BY');
    expect(sql).toContain('CREATE INDEX samples_series_id_time_idx ON "prom".samples (series_id, time)');
  });

  it('refuses schema names that are not plain lower-case identifiers, before any SQL', async () => {
    for (const schema of ['Prom', 'prom;drop schema public', '"x"', '1prom', '', 'a'.repeat(64)]) {
      await expect(migrate(db.pool, { schema, timescaledb: false, partitionIntervalMs: HOUR, log })).rejects.toThrow(/invalid schema name/);
    }
    const r = await db.pool.query(`SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname NOT IN ('public', 'information_schema') ORDER BY 1`);
    expect(r.rows.map((x: { nspname: string }) => x.nspname)).toEqual(['prom', 'prom_idem', 'prom_objs', 'prom_ts']);
  });

  it('refuses a partition interval that is not a whole number of minutes', async () => {
    await expect(migrate(db.pool, { schema: 'prom_bad', timescaledb: false, partitionIntervalMs: 90_500, log })).rejects.toThrow(/whole number of minutes/);
  });
});

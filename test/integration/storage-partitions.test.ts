import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { createPool, migrate, Partitions } from '../../src/storage/index.js';
import { partitionName, partitionStartFromName } from '../../src/storage/partition-names.js';
import { useTestDatabase } from '../helpers/database.js';

const silent = pino({ level: 'silent' });
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const db = useTestDatabase('storage_partitions', { max: 4, applicationName: 'storage-partitions-test', log: silent });

function capture(): { log: pino.Logger; lines: { msg: string; partitions?: string[] }[] } {
  const lines: { msg: string; partitions?: string[] }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(JSON.parse(chunk.toString()) as { msg: string });
      cb();
    },
  });
  return { log: pino({ level: 'debug' }, stream), lines };
}

async function fresh(schema: string, intervalMs = HOUR): Promise<void> {
  await migrate(db.pool, { schema, timescaledb: false, partitionIntervalMs: intervalMs, log: silent });
}

async function partitionsOf(schema: string): Promise<{ name: string; bound: string }[]> {
  const r = await db.pool.query<{ name: string; bound: string }>(
    `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
     FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = to_regclass($1) ORDER BY c.relname`, [`"${schema}".samples`]);
  return r.rows;
}

describe('partition names', () => {
  it('are aligned to the interval from the epoch and name the day, hour or minute', () => {
    const t = Date.parse('2001-02-03T04:05:06.789Z');
    expect(partitionName(Math.floor(t / HOUR) * HOUR, HOUR)).toBe('samples_2001020304');
    expect(partitionName(Math.floor(t / DAY) * DAY, DAY)).toBe('samples_20010203');
    expect(partitionName(Math.floor(t / 900_000) * 900_000, 900_000)).toBe('samples_200102030400');
    expect(partitionStartFromName('samples_2001020304', HOUR)).toBe(Date.parse('2001-02-03T04:00:00Z'));
    expect(partitionStartFromName('samples_0099010100', HOUR)).toBe(Date.parse('0099-01-01T00:00:00Z'));
    expect(partitionStartFromName('samples_2001020304', 2 * HOUR)).toBe(Date.parse('2001-02-03T04:00:00Z')); // on a 2 h boundary
    expect(partitionStartFromName('samples_2001020305', 2 * HOUR)).toBeUndefined(); // not on a 2 h boundary
    expect(partitionStartFromName('samples_other', HOUR)).toBeUndefined();
  });
});

describe('Partitions', () => {
  it('creates partitions on demand for old (2001) and future data, and rows land in them', async () => {
    await fresh('p_old');
    const parts = new Partitions({ pool: db.pool, schema: 'p_old', intervalMs: HOUR, log: silent });
    const old = Date.parse('2001-09-09T01:46:40Z');
    const future = Date.now() + 30 * DAY;
    await parts.ensure(old, old + HOUR); // two partitions: 01:00 and 02:00
    await parts.ensure(future, future);
    const names = (await partitionsOf('p_old')).map((p) => p.name);
    expect(names).toHaveLength(3);
    expect(names.slice(0, 2)).toEqual(['samples_2001090901', 'samples_2001090902']);
    const bound = (await partitionsOf('p_old'))[0].bound;
    expect(bound).toMatch(/^FOR VALUES FROM \('2001-09-09 01:00:00\+00'\) TO \('2001-09-09 02:00:00\+00'\)$/);
    await db.pool.query(`INSERT INTO p_old.samples VALUES (to_timestamp($1 / 1000.0), 1, 1), (to_timestamp($2 / 1000.0), 1, 2)`, [old, future]);
    const n = await db.pool.query('SELECT count(*)::int AS n FROM ONLY p_old.samples_2001090901');
    expect(n.rows[0].n).toBe(1);
  });

  it('two processes ensuring the same partitions at once both succeed', async () => {
    await fresh('p_race');
    const other = createPool({ connectionString: db.url, max: 2, applicationName: 'other-process' }, silent);
    try {
      const a = new Partitions({ pool: db.pool, schema: 'p_race', intervalMs: HOUR, log: silent });
      const b = new Partitions({ pool: other, schema: 'p_race', intervalMs: HOUR, log: silent });
      const from = Date.parse('2020-01-01T00:00:00Z');
      const to = from + 47 * HOUR;
      await Promise.all([a.ensure(from, to), b.ensure(from, to), a.ensureAhead(from, 10), b.ensureTimes([from + 5 * HOUR, to])]);
      expect(await partitionsOf('p_race')).toHaveLength(48);
    } finally {
      await other.end();
    }
  });

  it('a new instance reads the existing partitions and creates nothing; only missing ones are created', async () => {
    await fresh('p_reload');
    const start = Date.parse('2022-06-01T00:00:00Z');
    await new Partitions({ pool: db.pool, schema: 'p_reload', intervalMs: HOUR, log: silent }).ensure(start, start + 3 * HOUR);
    const { log, lines } = capture();
    const again = new Partitions({ pool: db.pool, schema: 'p_reload', intervalMs: HOUR, log });
    await again.ensure(start, start + 3 * HOUR);
    expect(lines.filter((l) => l.msg === 'sample partitions ensured')).toHaveLength(0);
    await again.ensure(start, start + 4 * HOUR);
    const created = lines.filter((l) => l.msg === 'sample partitions ensured');
    expect(created.map((l) => l.partitions)).toEqual([['samples_2022060104']]);
  });

  it('ensureAhead creates the current partition and the given number after it', async () => {
    await fresh('p_ahead', DAY);
    const now = Date.parse('2030-05-05T12:00:00Z');
    await new Partitions({ pool: db.pool, schema: 'p_ahead', intervalMs: DAY, log: silent }).ensureAhead(now, 2);
    expect((await partitionsOf('p_ahead')).map((p) => p.name)).toEqual(['samples_20300505', 'samples_20300506', 'samples_20300507']);
  });

  it('keeps the interval recorded at migration when the configured one differs', async () => {
    await fresh('p_interval', HOUR);
    const { log, lines } = capture();
    const parts = new Partitions({ pool: db.pool, schema: 'p_interval', intervalMs: DAY, log });
    await parts.ensure(Date.parse('2024-01-01T05:30:00Z'), Date.parse('2024-01-01T05:30:00Z'));
    expect((await partitionsOf('p_interval')).map((p) => p.name)).toEqual(['samples_2024010105']);
    expect(parts.intervalMs).toBe(HOUR);
    expect(lines.some((l) => /partition interval differs/.test(l.msg))).toBe(true);
  });

  it('refuses ranges that would create too many partitions and times it cannot store', async () => {
    await fresh('p_limits');
    const parts = new Partitions({ pool: db.pool, schema: 'p_limits', intervalMs: HOUR, log: silent, maxCreatePerCall: 10 });
    const t = Date.parse('2024-01-01T00:00:00Z');
    await expect(parts.ensure(t, t + 20 * HOUR)).rejects.toThrow(/more than 10 partitions/);
    await expect(parts.ensure(Number.NaN, t)).rejects.toMatchObject({ code: 'INVALID_SAMPLE' });
    await expect(parts.ensure(t, Date.parse('+010000-01-01T00:00:00Z'))).rejects.toMatchObject({ code: 'INVALID_SAMPLE' });
    // Far apart but few: ensureTimes creates only the partitions the times fall in.
    await parts.ensureTimes([t, t + 1000 * DAY, t + 2000 * DAY]);
    await expect(parts.ensureTimes(Array.from({ length: 11 }, (_, i) => t + 3000 * DAY + i * HOUR))).rejects.toMatchObject({ code: 'INVALID_SAMPLE' });
    expect(await partitionsOf('p_limits')).toHaveLength(3);
  });

  it('is a no-op for a table that is not natively partitioned (a hypertable)', async () => {
    await db.pool.query('CREATE SCHEMA p_plain');
    await db.pool.query('CREATE TABLE p_plain.samples (time timestamptz NOT NULL, series_id bigint NOT NULL, value double precision NOT NULL)');
    const parts = new Partitions({ pool: db.pool, schema: 'p_plain', intervalMs: HOUR, log: silent });
    await parts.ensure(0, 10 * HOUR);
    const r = await db.pool.query(`SELECT count(*)::int AS n FROM pg_class WHERE relnamespace = 'p_plain'::regnamespace AND relname LIKE 'samples\\_%'`);
    expect(r.rows[0].n).toBe(0);
  });
});

import { describe, expect, it, vi } from 'vitest';
import type pg from 'pg';
import { pino } from 'pino';
import { createPool, hashSeriesId, SeriesResolver, seriesKey } from '../../src/storage/index.js';
import type { Label } from '../../src/protocol/write/types.js';
import { useTestDatabase } from '../helpers/database.js';

const log = pino({ level: 'silent' });
const SCHEMA = 'prom';

const db = useTestDatabase('storage_series', {
  max: 4, applicationName: 'storage-series-test', log,
  migrate: { schema: SCHEMA, timescaledb: false, partitionIntervalMs: 3_600_000 },
});

function series(name: string, extra: Record<string, string> = {}): Label[] {
  const labels: Label[] = [{ name: '__name__', value: name }, ...Object.entries(extra).map(([n, v]) => ({ name: n, value: v }))];
  return labels.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

async function withClient<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await db.pool.connect();
  try {
    return await fn(c);
  } finally {
    c.release();
  }
}

describe('SeriesResolver', () => {
  it('returns one stable id per input series, in order, across calls and resolvers', async () => {
    const input = [series('up', { job: 'a' }), series('up', { job: 'b' }), series('up', { job: 'a' })];
    const first = await withClient((c) => new SeriesResolver({ schema: SCHEMA }).resolve(c, input));
    expect(first[0]).toBe(first[2]);
    expect(first[0]).not.toBe(first[1]);
    expect(first.every((id) => Number.isSafeInteger(id) && id > 0)).toBe(true);
    const second = await withClient((c) => new SeriesResolver({ schema: SCHEMA }).resolve(c, [input[1], input[0]]));
    expect(second).toEqual([first[1], first[0]]);
  });

  it('stores the metric name in metric and every other label (cluster included) in labels', async () => {
    const labels = series('http_requests_total', { cluster: 'eu1', code: '200', __proto__x: 'p' });
    labels.push({ name: '__proto__', value: 'kept' });
    const [id] = await withClient((c) => new SeriesResolver({ schema: SCHEMA }).resolve(c, [labels]));
    const r = await db.pool.query('SELECT metric, labels, labels_hash FROM prom.series WHERE id = $1', [id]);
    expect(r.rows[0].metric).toBe('http_requests_total');
    expect(r.rows[0].labels).toEqual(JSON.parse('{"cluster":"eu1","code":"200","__proto__x":"p","__proto__":"kept"}'));
    expect(Buffer.compare(r.rows[0].labels_hash as Buffer, seriesKey(labels).hash)).toBe(0);
  });

  it('stores label values that need quoting or several UTF-8 bytes exactly', async () => {
    const labels = series('température', { ville: 'Zürich', quote: 'say "hi" \\ there', brace: '{a,b}', emoji: '🌡️', empty: '' });
    const [id] = await withClient((c) => new SeriesResolver({ schema: SCHEMA }).resolve(c, [labels]));
    const r = await db.pool.query('SELECT metric, labels, labels_hash FROM prom.series WHERE id = $1', [id]);
    const key = seriesKey(labels);
    expect(r.rows[0].metric).toBe('température');
    expect(r.rows[0].labels).toEqual(JSON.parse(key.labelsJson));
    expect(Buffer.compare(r.rows[0].labels_hash as Buffer, key.hash)).toBe(0);
  });

  it('resolves a thousand new series in one round trip, then from the cache', async () => {
    const input = Array.from({ length: 1000 }, (_, i) => series('bulk_metric', { instance: `host-${i}`, cluster: 'c' }));
    const resolver = new SeriesResolver({ schema: SCHEMA });
    await withClient(async (c) => {
      const spy = vi.spyOn(c, 'query');
      const miss = await resolver.resolveWithStats(c, input);
      expect(spy).toHaveBeenCalledTimes(1);
      expect(miss).toMatchObject({ hits: 0, misses: 1000 });
      expect(new Set(miss.ids).size).toBe(1000);
      spy.mockClear();
      const hit = await resolver.resolveWithStats(c, input);
      expect(spy).not.toHaveBeenCalled();
      expect(hit).toMatchObject({ hits: 1000, misses: 0 });
      expect(hit.ids).toEqual(miss.ids);
      spy.mockRestore();
    });
    const r = await db.pool.query(`SELECT count(*)::int AS n FROM prom.series WHERE metric = 'bulk_metric'`);
    expect(r.rows[0].n).toBe(1000);
  });

  it('treats unsorted labels as the same series and refuses duplicate names and a missing metric name', async () => {
    const sorted = series('sorted_metric', { a: '1', b: '2' });
    const unsorted = [sorted[2], sorted[0], sorted[1]];
    const ids = await withClient((c) => new SeriesResolver({ schema: SCHEMA }).resolve(c, [sorted, unsorted]));
    expect(ids[0]).toBe(ids[1]);
    const resolver = new SeriesResolver({ schema: SCHEMA });
    await withClient(async (c) => {
      await expect(resolver.resolve(c, [[{ name: '__name__', value: 'x' }, { name: 'b', value: '1' }, { name: 'a', value: '1' }, { name: 'b', value: '2' }]]))
        .rejects.toMatchObject({ code: 'INVALID_LABELS' });
      await expect(resolver.resolve(c, [[{ name: 'job', value: 'x' }]])).rejects.toMatchObject({ code: 'INVALID_LABELS' });
    });
  });

  it('keeps at most maxEntries ids and evicts those not used lately', async () => {
    // Two generations of 2: a and b fill the first, a hit moves a into the second, c fills it
    // and turns it over, and b goes with the first.
    const resolver = new SeriesResolver({ schema: SCHEMA, maxEntries: 4 });
    const [a, b, c] = ['a', 'b', 'c'].map((v) => series('lru_metric', { v }));
    await withClient(async (client) => {
      await resolver.resolve(client, [a]);
      await resolver.resolve(client, [b]);
      expect((await resolver.resolveWithStats(client, [a])).hits).toBe(1); // a is now the most recent
      await resolver.resolve(client, [c]); // evicts b
      expect(resolver.size).toBe(2);
      expect((await resolver.resolveWithStats(client, [a, c])).hits).toBe(2);
      expect((await resolver.resolveWithStats(client, [b])).misses).toBe(1);
    });
  });

  it('gives a new label set the id derived from its hash, with an insert that returns no rows', async () => {
    const input = Array.from({ length: 50 }, (_, i) => series('hashed_metric', { i: String(i) }));
    await withClient(async (c) => {
      const spy = vi.spyOn(c, 'query');
      const ids = await new SeriesResolver({ schema: SCHEMA }).resolve(c, input);
      expect(spy).toHaveBeenCalledTimes(1);
      const result = (await spy.mock.results[0].value) as pg.QueryResult;
      expect(result.rows).toEqual([]);
      spy.mockRestore();
      expect(ids).toEqual(input.map((l) => hashSeriesId(seriesKey(l).hash.toString('latin1'))));
      for (const id of ids) expect(id >= 2 ** 52 && id < 2 ** 53).toBe(true);
    });
    const r = await db.pool.query<{ id: string }>(`SELECT id FROM prom.series WHERE metric = 'hashed_metric' ORDER BY labels->>'i'`);
    expect(r.rows).toHaveLength(50);
  });

  it('stores a label set whose hash id another label set holds with an identity id, and keeps both', async () => {
    const labels = series('collide_metric', { job: 'y' });
    const hashId = hashSeriesId(seriesKey(labels).hash.toString('latin1'));
    // Another label set holds that id already, as if the two hashes shared those 52 bits.
    await db.pool.query(`INSERT INTO prom.series (id, metric, labels, labels_hash) OVERRIDING SYSTEM VALUE VALUES ($1, 'other_metric', '{}', $2)`,
      [hashId, Buffer.alloc(32, 7)]);
    const id = await withClient(async (c) => (await new SeriesResolver({ schema: SCHEMA }).resolve(c, [labels]))[0]);
    expect(id).not.toBe(hashId);
    expect(id).toBeLessThan(2 ** 52);
    // Another process, its cache cold, finds the same id; neither row was touched.
    expect(await withClient((c) => new SeriesResolver({ schema: SCHEMA }).resolve(c, [labels]))).toEqual([id]);
    const rows = await db.pool.query<{ id: string; metric: string }>(
      `SELECT id, metric FROM prom.series WHERE metric IN ('collide_metric', 'other_metric') ORDER BY metric`);
    expect(rows.rows.map((r) => [Number(r.id), r.metric])).toEqual([[id, 'collide_metric'], [hashId, 'other_metric']]);
  });

  it('two processes resolving the same new series at once get the same ids', async () => {
    const other = createPool({ connectionString: db.url, max: 4, applicationName: 'other-process' }, log);
    try {
      for (let round = 0; round < 5; round++) {
        const input = Array.from({ length: 300 }, (_, i) => series('race_metric', { round: String(round), i: String(i) }));
        const reversed = [...input].reverse();
        const run = async (p: pg.Pool, s: Label[][]): Promise<number[]> => {
          const c = await p.connect();
          try {
            return await new SeriesResolver({ schema: SCHEMA }).resolve(c, s);
          } finally {
            c.release();
          }
        };
        const [x, y, z] = await Promise.all([run(db.pool, input), run(other, reversed), run(other, input)]);
        expect([...y].reverse()).toEqual(x);
        expect(z).toEqual(x);
      }
      const r = await db.pool.query(`SELECT count(*)::int AS n FROM prom.series WHERE metric = 'race_metric'`);
      expect(r.rows[0].n).toBe(1500);
    } finally {
      await other.end();
    }
  });
  it('finds a series another process committed while our insert waited on it (second query)', async () => {
    const labels = series('late_metric', { job: 'x' });
    const key = seriesKey(labels);
    const other = await db.pool.connect();
    try {
      await other.query('BEGIN');
      await other.query('INSERT INTO prom.series (metric, labels, labels_hash) VALUES ($1, $2, $3)', [key.metric, key.labelsJson, key.hash]);
      const resolver = new SeriesResolver({ schema: SCHEMA });
      await withClient(async (c) => {
        const spy = vi.spyOn(c, 'query');
        // Our INSERT blocks on the uncommitted row; once it commits, ON CONFLICT skips it and
        // the statement's snapshot (older than that commit) cannot see it either.
        const pending = resolver.resolve(c, [labels]);
        await new Promise((r) => setTimeout(r, 200));
        await other.query('COMMIT');
        const [id] = await pending;
        expect(spy).toHaveBeenCalledTimes(2);
        spy.mockRestore();
        const r = await db.pool.query('SELECT id FROM prom.series WHERE labels_hash = $1', [key.hash]);
        expect(id).toBe(Number(r.rows[0].id));
      });
    } finally {
      other.release();
    }
  });
});

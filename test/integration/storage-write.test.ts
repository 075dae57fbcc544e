import { describe, expect, it } from 'vitest';
import type pg from 'pg';
import { pino } from 'pino';
import { BatchWriter, Partitions, SeriesResolver, createPool, migrate, type WriteBatch } from '../../src/storage/index.js';
import type { Histogram, Label, TimeSeries } from '../../src/protocol/write/types.js';
import { useTestDatabase } from '../helpers/database.js';
import { fromBits, toBits } from '../helpers/float-bits.js';

const log = pino({ level: 'silent' });
const HOUR = 3_600_000;

const db = useTestDatabase('storage_write', { max: 4, applicationName: 'storage-write-test', log });

async function writerFor(schema: string, p: pg.Pool = db.pool): Promise<BatchWriter> {
  await migrate(p, { schema, timescaledb: false, partitionIntervalMs: HOUR, log });
  return new BatchWriter({
    pool: p, schema, log,
    partitions: new Partitions({ pool: p, schema, intervalMs: HOUR, log }),
    series: new SeriesResolver({ schema }),
  });
}

function ts(name: string, extra: Record<string, string>, samples: [number, number][], more: Partial<TimeSeries> = {}): TimeSeries {
  const labels: Label[] = [{ name: '__name__', value: name }, ...Object.entries(extra).map(([n, v]) => ({ name: n, value: v }))]
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  return { labels, samples: samples.map(([timestamp, value]) => ({ timestamp, value })), exemplars: [], histograms: [], ...more };
}

function batch(id: string, timeseries: TimeSeries[], metadata: WriteBatch['metadata'] = []): WriteBatch {
  return { id, queue: 'q:g:r1', timeseries, metadata };
}

async function count(sql: string): Promise<number> {
  const r = await db.pool.query<{ n: number }>(sql);
  return r.rows[0].n;
}

describe('BatchWriter', () => {
  it('round-trips NaN, ±Inf and the stale marker bit for bit, at millisecond precision', async () => {
    const w = await writerFor('w_bits');
    const t0 = Date.parse('2024-03-01T10:00:00.123Z');
    const cases: [string, number][] = [
      ['7ff0000000000002', fromBits('7ff0000000000002')], // Prometheus stale marker
      ['7ff8000000000001', fromBits('7ff8000000000001')], // Prometheus's ordinary NaN
      ['7ff0000000000000', Infinity],
      ['fff0000000000000', -Infinity],
      ['8000000000000000', -0],
      ['0000000000000001', 5e-324],
      ['7fefffffffffffff', Number.MAX_VALUE],
      ['3ff8000000000000', 1.5],
    ];
    // Goes through a number[] of doubles, which quiets the stale NaN to 0x7ff8000000000002.
    const quieted = [0.5, fromBits('7ff0000000000002')];
    expect(toBits(quieted[1])).toBe('7ff8000000000002');
    const samples: [number, number][] = cases.map(([, v], i) => [t0 + i, v]);
    samples.push([t0 + 100, quieted[1]]);
    const result = await w.write(batch('bits', [ts('bits_metric', { job: 'j' }, samples)]));
    expect(result).toMatchObject({ duplicate: false, samples: cases.length + 1, cacheMisses: 1, cacheHits: 0 });
    const r = await db.pool.query<{ ms: string; bits: string }>(
      `SELECT (extract(epoch FROM time) * 1000)::bigint AS ms, encode(float8send(value), 'hex') AS bits FROM w_bits.samples ORDER BY time`);
    expect(r.rows).toEqual([
      ...cases.map(([bits], i) => ({ ms: String(t0 + i), bits })),
      { ms: String(t0 + 100), bits: '7ff0000000000002' },
    ]);
    const stale = await db.pool.query(`SELECT float8send(value) = '\\x7ff0000000000002'::bytea AS is_stale FROM w_bits.samples WHERE time = to_timestamp($1 / 1000.0)`, [t0]);
    expect(stale.rows[0].is_stale).toBe(true);
  });

  it('writes nothing for a batch id already in the ledger', async () => {
    const w = await writerFor('w_dup');
    const b = batch('same-id', [ts('dup_metric', {}, [[Date.parse('2024-01-01T00:00:00Z'), 1]])], [{ metricFamilyName: 'dup_metric', type: 'gauge', help: 'h', unit: '' }]);
    const first = await w.write(b);
    const second = await w.write(b);
    expect(first).toMatchObject({ duplicate: false, samples: 1, metadata: 1 });
    expect(second).toMatchObject({ duplicate: true, samples: 0, metadata: 0, cacheHits: 1, cacheMisses: 0 });
    expect(await count('SELECT count(*)::int AS n FROM w_dup.samples')).toBe(1);
    expect(await count('SELECT count(*)::int AS n FROM w_dup.batches')).toBe(1);
    const ledger = await db.pool.query('SELECT id, queue, samples FROM w_dup.batches');
    expect(ledger.rows).toEqual([{ id: 'same-id', queue: 'q:g:r1', samples: 1 }]);
  });

  it('two workers writing the same batch at once commit it once', async () => {
    const other = createPool({ connectionString: db.url, max: 2, applicationName: 'other-worker' }, log);
    try {
      const a = await writerFor('w_race');
      const b = await writerFor('w_race', other);
      const t = Date.parse('2024-01-01T00:00:00Z');
      const payload = batch('raced', [ts('race_metric', { i: '1' }, Array.from({ length: 1000 }, (_, i): [number, number] => [t + i, i]))]);
      const results = await Promise.all([a.write(payload), b.write(payload)]);
      expect(results.map((r) => r.duplicate).sort()).toEqual([false, true]);
      expect(await count('SELECT count(*)::int AS n FROM w_race.samples')).toBe(1000);
    } finally {
      await other.end();
    }
  });

  it('upserts metadata, the last entry of a family in a batch winning', async () => {
    const w = await writerFor('w_meta');
    await w.write(batch('m1', [], [
      { metricFamilyName: 'up', type: 'gauge', help: 'old', unit: '' },
      { metricFamilyName: 'up', type: 'gauge', help: 'newer', unit: '' },
      { metricFamilyName: 'http_requests', type: 'counter', help: 'Requests.', unit: 'requests' },
    ]));
    const r2 = await w.write(batch('m2', [], [{ metricFamilyName: 'up', type: 'gauge', help: 'newest', unit: 'bool' }]));
    expect(r2.metadata).toBe(1);
    const r = await db.pool.query('SELECT metric_family, type, help, unit FROM w_meta.metadata ORDER BY metric_family');
    expect(r.rows).toEqual([
      { metric_family: 'http_requests', type: 'counter', help: 'Requests.', unit: 'requests' },
      { metric_family: 'up', type: 'gauge', help: 'newest', unit: 'bool' },
    ]);
  });

  it('the metrics view shows the metric as name and the labels without __name__', async () => {
    const w = await writerFor('w_view');
    const t = Date.parse('2024-05-05T05:05:05Z');
    await w.write(batch('v', [ts('node_load1', { cluster: 'eu1', instance: 'n1:9100' }, [[t, 0.25]])]));
    const r = await db.pool.query('SELECT (extract(epoch FROM time) * 1000)::bigint AS ms, name, value, labels FROM w_view.metrics');
    expect(r.rows).toEqual([{ ms: String(t), name: 'node_load1', value: 0.25, labels: { cluster: 'eu1', instance: 'n1:9100' } }]);
  });

  it('stores exemplars and histograms, resolves their series, and skips series with nothing to write', async () => {
    const w = await writerFor('w_extra');
    const t = Date.parse('2024-02-02T00:00:00Z');
    const h: Histogram = {
      countInt: 3, sum: fromBits('7ff0000000000002'), schema: 1, zeroThreshold: 1e-128, zeroCountInt: 1,
      negativeSpans: [], negativeDeltas: [], negativeCounts: [],
      positiveSpans: [{ offset: 0, length: 2 }], positiveDeltas: [1, 0], positiveCounts: [], resetHint: 0, timestamp: t + 1,
    };
    const result = await w.write(batch('x', [
      ts('with_exemplar', {}, [], { exemplars: [{ labels: [{ name: 'trace_id', value: 'abc' }], value: 7, timestamp: t }] }),
      ts('with_histogram', {}, [], { histograms: [h] }),
      ts('empty_series', {}, []),
    ]));
    expect(result).toMatchObject({ samples: 0, exemplars: 1, histograms: 1, cacheMisses: 2 });
    const series = await db.pool.query('SELECT metric FROM w_extra.series ORDER BY metric');
    expect(series.rows.map((r: { metric: string }) => r.metric)).toEqual(['with_exemplar', 'with_histogram']);
    const ex = await db.pool.query('SELECT (extract(epoch FROM time) * 1000)::bigint AS ms, value, labels FROM w_extra.exemplars');
    expect(ex.rows).toEqual([{ ms: String(t), value: 7, labels: { trace_id: 'abc' } }]);
    const hi = await db.pool.query(`SELECT histogram FROM w_extra.histograms`);
    expect(hi.rows[0].histogram).toMatchObject({ countInt: 3, sum: 'StaleNaN', positiveDeltas: [1, 0], timestamp: t + 1 });
  });

  it('writes samples of any age in one batch: 1900, 2001, now and 2400', async () => {
    const w = await writerFor('w_ages');
    const times = ['1900-01-01T00:00:00Z', '2001-01-01T00:00:00.001Z', new Date().toISOString(), '2400-12-31T23:59:59.999Z'].map(Date.parse);
    const result = await w.write(batch('ages', [ts('age_metric', {}, times.map((t, i): [number, number] => [t, i]))]));
    expect(result.samples).toBe(4);
    const r = await db.pool.query<{ ms: string }>('SELECT (extract(epoch FROM time) * 1000)::bigint AS ms FROM w_ages.samples ORDER BY time');
    expect(r.rows.map((x) => Number(x.ms))).toEqual(times);
    expect(await count(`SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = 'w_ages.samples'::regclass`)).toBe(4);
  });

  it('recreates a partition dropped behind its cache and writes the batch', async () => {
    const w = await writerFor('w_dropped');
    const t = Date.parse('2023-03-03T03:03:03Z');
    await w.write(batch('d1', [ts('drop_metric', {}, [[t, 1]])]));
    await db.pool.query('DROP TABLE w_dropped.samples_2023030303');
    const again = await w.write(batch('d2', [ts('drop_metric', {}, [[t + 1, 2]])]));
    expect(again).toMatchObject({ duplicate: false, samples: 1 });
    expect(await count('SELECT count(*)::int AS n FROM w_dropped.samples')).toBe(1);
    expect(await count(`SELECT count(*)::int AS n FROM w_dropped.batches WHERE id = 'd2'`)).toBe(1);
  });

  it('runs the hooks inside the transaction; a throwing beforeWrite writes nothing', async () => {
    const w = await writerFor('w_hooks');
    const t = Date.parse('2024-07-07T07:00:00Z');
    const b = batch('h1', [ts('hook_metric', {}, [[t, 1], [t + 5000, 2]])]);
    await expect(w.write(b, { beforeWrite: async (c) => { await c.query('SELECT 1'); throw new Error('not the leader'); } }))
      .rejects.toThrow('not the leader');
    expect(await count('SELECT count(*)::int AS n FROM w_hooks.batches')).toBe(0);
    expect(await count('SELECT count(*)::int AS n FROM w_hooks.samples')).toBe(0);
    let seen: unknown;
    await w.write(b, {
      afterWrite: async (c, summary) => {
        seen = summary;
        const inTx = await c.query('SELECT count(*)::int AS n FROM w_hooks.samples');
        expect(inTx.rows[0].n).toBe(2);
      },
    });
    expect(seen).toEqual({ samples: 2, minTimeMs: t, maxTimeMs: t + 5000 });
  });
});

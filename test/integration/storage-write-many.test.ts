/**
 * BatchWriter.writeMany: several batches, one transaction. Each batch id goes to the ledger
 * once; batches already there (or earlier in the same call) write nothing; the hooks run once
 * per transaction and see only what is written; a refusal leaves nothing behind.
 */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { BatchWriter, Partitions, SeriesResolver, migrate, type BatchWriteSummary, type WriteBatch } from '../../src/storage/index.js';
import type { TimeSeries } from '../../src/protocol/write/types.js';
import { useTestDatabase } from '../helpers/database.js';

const log = pino({ level: 'silent' });
const HOUR = 3_600_000;
const T = Date.parse('2024-05-01T00:00:00Z');

const db = useTestDatabase('storage_write_many', { max: 2, applicationName: 'storage-write-many-test', log });

async function writerFor(schema: string): Promise<BatchWriter> {
  const pool = db.pool;
  await migrate(pool, { schema, timescaledb: false, partitionIntervalMs: HOUR, log });
  return new BatchWriter({
    pool, schema, log,
    partitions: new Partitions({ pool, schema, intervalMs: HOUR, log }),
    series: new SeriesResolver({ schema }),
  });
}

/** Batch `id`: series s0..s(n-1) of `metric`, one sample each at `t`, value `v`. */
function batch(id: string, metric: string, t: number, v: number, n = 3, group?: string): WriteBatch {
  const timeseries: TimeSeries[] = Array.from({ length: n }, (_, i) => ({
    labels: [{ name: '__name__', value: metric }, { name: 's', value: `s${i}` }],
    samples: [{ timestamp: t, value: v }],
    exemplars: [],
    histograms: [],
  }));
  return { id, queue: 'q', timeseries, metadata: [{ metricFamilyName: metric, type: 'gauge', help: `help of ${id}`, unit: '' }], group };
}

async function rows(sql: string): Promise<unknown[]> {
  return (await db.pool.query(sql)).rows;
}

describe('BatchWriter.writeMany', () => {
  it('writes several batches in one transaction, a repeated id once', async () => {
    const w = await writerFor('wm_basic');
    const r = await w.writeMany([batch('a', 'm', T, 1), batch('a', 'm', T + 1000, 99), batch('b', 'm', T + 2000, 2, 2)]);
    expect(r.batches.map((b) => [b.duplicate, b.samples])).toEqual([[false, 3], [true, 0], [false, 2]]);
    expect(r.samples).toBe(5);
    expect(r.metadata).toBe(1);
    // One bulk resolution for the whole call: nothing was cached yet, three label sets exist.
    expect(r).toMatchObject({ cacheHits: 0, cacheMisses: 8 });
    expect(await rows('SELECT count(*)::int AS n FROM wm_basic.series')).toEqual([{ n: 3 }]);
    expect(await rows('SELECT id, samples FROM wm_basic.batches ORDER BY id')).toEqual([{ id: 'a', samples: 3 }, { id: 'b', samples: 2 }]);
    expect(await rows(`SELECT (extract(epoch FROM time) * 1000)::bigint::float8 AS t, count(*)::int AS n, sum(value) AS v
                       FROM wm_basic.samples GROUP BY time ORDER BY time`)).toEqual([{ t: T, n: 3, v: 3 }, { t: T + 2000, n: 2, v: 4 }]);
    // One transaction: every ledger and sample row carries the same creating transaction id.
    expect(await rows(`SELECT count(DISTINCT x)::int AS n FROM (SELECT xmin::text AS x FROM wm_basic.batches
                       UNION ALL SELECT xmin::text FROM wm_basic.samples) u`)).toEqual([{ n: 1 }]);
    // The last batch's metadata wins, as if the batches had been written one after the other.
    expect(await rows('SELECT help FROM wm_basic.metadata')).toEqual([{ help: 'help of b' }]);
  });

  it('writes nothing of a batch whose id the ledger already has, and the rest of the group', async () => {
    const w = await writerFor('wm_ledger');
    await w.write(batch('old', 'm', T, 1));
    const r = await w.writeMany([batch('new1', 'm', T + 1000, 2), batch('old', 'm', T, 1), batch('new2', 'm', T + 2000, 3)]);
    expect(r.batches.map((b) => b.duplicate)).toEqual([false, true, false]);
    expect(r.samples).toBe(6);
    expect(await rows('SELECT count(*)::int AS n, sum(value) AS v FROM wm_ledger.samples')).toEqual([{ n: 9, v: 18 }]);
    const again = await w.writeMany([batch('new1', 'm', T + 1000, 2), batch('old', 'm', T, 1)]);
    expect(again.batches.map((b) => b.duplicate)).toEqual([true, true]);
    expect(again.samples).toBe(0);
    expect(await rows('SELECT count(*)::int AS n FROM wm_ledger.batches')).toEqual([{ n: 3 }]);
  });

  it('runs the hooks once per transaction; keep filters per sample; afterWrite sees only what is written', async () => {
    const w = await writerFor('wm_hooks');
    await w.write(batch('seen', 'm', T + 9000, 5));
    const calls: string[] = [];
    let summary: BatchWriteSummary | undefined;
    const r = await w.writeMany([batch('x', 'm', T, 1), batch('seen', 'm', T + 9000, 5), batch('y', 'm', T + 5000, 2)], {
      keep: (_id, t) => t !== T,
      async beforeWrite() { calls.push('before'); },
      async afterWrite(_c, s) { calls.push('after'); summary = s; },
    });
    expect(calls).toEqual(['before', 'after']);
    expect(r.batches.map((b) => [b.duplicate, b.samples])).toEqual([[false, 0], [true, 0], [false, 3]]);
    expect(summary).toEqual({ samples: 3, minTimeMs: T + 5000, maxTimeMs: T + 5000 });
    expect(await rows('SELECT id, samples FROM wm_hooks.batches ORDER BY id')).toEqual([
      { id: 'seen', samples: 3 }, { id: 'x', samples: 0 }, { id: 'y', samples: 3 },
    ]);
  });

  it('keep filters native histograms, exemplars and created timestamps by their own time, and histograms move the summary', async () => {
    const w = await writerFor('wm_extras');
    const h = (t: number) => ({
      countInt: 1, sum: 1, schema: 0, zeroThreshold: 0, zeroCountInt: 1, negativeSpans: [], negativeDeltas: [], negativeCounts: [],
      positiveSpans: [], positiveDeltas: [], positiveCounts: [], resetHint: 0, timestamp: t,
    });
    const ts = (name: string, t: number): TimeSeries => ({
      labels: [{ name: '__name__', value: name }], samples: [],
      exemplars: [{ labels: [{ name: 'trace_id', value: name }], value: 1, timestamp: t }], histograms: [h(t)], createdTimestamp: T - HOUR,
    });
    let summary: BatchWriteSummary | undefined;
    const r = await w.writeMany([{ id: 'e', queue: 'q', timeseries: [ts('old', T), ts('new', T + 7000)], metadata: [] }], {
      keep: (_id, t) => t > T,
      async afterWrite(_c, s) { summary = s; },
    });
    expect(r.batches.map((b) => [b.histograms, b.exemplars])).toEqual([[1, 1]]);
    expect(summary).toEqual({ samples: 1, minTimeMs: T + 7000, maxTimeMs: T + 7000 });
    expect(await rows(`SELECT s.metric FROM wm_extras.histograms x JOIN wm_extras.series s ON s.id = x.series_id`)).toEqual([{ metric: 'new' }]);
    expect(await rows(`SELECT labels->>'trace_id' AS t FROM wm_extras.exemplars`)).toEqual([{ t: 'new' }]);
    expect(await rows(`SELECT name FROM wm_extras.series_created`)).toEqual([{ name: 'new' }]);
  });

  it('leaves nothing behind when the database refuses one batch of the transaction', async () => {
    const w = await writerFor('wm_refused');
    await db.pool.query('ALTER TABLE wm_refused.samples ADD CONSTRAINT wm_positive CHECK (value >= 0)');
    await expect(w.writeMany([batch('ok1', 'm', T, 1), batch('bad', 'm', T + 1000, -1), batch('ok2', 'm', T + 2000, 2)]))
      .rejects.toMatchObject({ code: '23514' });
    expect(await rows('SELECT count(*)::int AS n FROM wm_refused.batches')).toEqual([{ n: 0 }]);
    expect(await rows('SELECT count(*)::int AS n FROM wm_refused.samples')).toEqual([{ n: 0 }]);
    // Written one per transaction (what the worker does next), only the culprit fails.
    expect((await w.write(batch('ok1', 'm', T, 1))).duplicate).toBe(false);
    await expect(w.write(batch('bad', 'm', T + 1000, -1))).rejects.toMatchObject({ code: '23514' });
    expect((await w.write(batch('ok2', 'm', T + 2000, 2))).duplicate).toBe(false);
    expect(await rows('SELECT id FROM wm_refused.batches ORDER BY id')).toEqual([{ id: 'ok1' }, { id: 'ok2' }]);
  });

  it('refuses batches of different HA groups in one transaction', async () => {
    const w = await writerFor('wm_groups');
    await expect(w.writeMany([batch('g1', 'm', T, 1, 1, 'g1'), batch('g2', 'm', T, 1, 1, 'g2')])).rejects.toThrow(RangeError);
    expect(await w.writeMany([])).toMatchObject({ batches: [], samples: 0 });
  });
});

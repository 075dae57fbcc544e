/**
 * Group commit: batches of one queue that wait together are written in one
 * transaction, every sample exactly once; a batch already in the ledger contributes nothing and
 * is acknowledged; a batch the database refuses is written again alone and dead-lettered alone,
 * while the batches that shared its transaction are written.
 */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { Counter, Histogram } from 'prom-client';
import { DEFAULT_COALESCE, DEFAULT_QUEUE, DeadLetters, Producer, batchId, queueName, type QueueIdentity } from '../../src/queue/index.js';
import { isEmpty } from '../../src/queue/backend.js';
import { uniqueName } from '../helpers/services.js';
import { startApp, type TestApp } from '../helpers/app.js';
import { queueStore } from '../helpers/queue-store.js';
import { waitFor } from '../helpers/ports.js';
import { seriesBody, useWriteFixture } from '../helpers/write-fixture.js';

const log = pino({ level: 'silent' });
const SERIES = 20;
const NO_HA: QueueIdentity = { group: undefined, replica: undefined };
const T0 = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;

const fx = useWriteFixture('group_commit');

/** Request b of a metric: SERIES series, one sample each at T0 + b s, value b * 1000 + series (or from `value`). */
function payload(metric: string, b: number, value?: (series: number) => number): Uint8Array {
  return seriesBody(metric, b, T0, SERIES, value);
}

/**
 * Enqueues the payloads on the queue without HA identity, one job each (these tests are about
 * the worker gathering jobs; test/integration/ingress-coalesce.test.ts has jobs of several
 * batches); returns their batch ids.
 */
async function enqueue(prefix: string, payloads: readonly Uint8Array[]): Promise<string[]> {
  const producer = new Producer({ ...queueStore(prefix, fx.db.url), log, coalesce: { ...DEFAULT_COALESCE, maxParts: 1 } });
  await producer.start();
  try {
    const queued = await producer.enqueue(payloads.map((p, b) => ({
      identity: NO_HA, payload: p, summary: { samples: SERIES, minTs: T0 + b * 1000, maxTs: T0 + b * 1000 },
    })), Date.now());
    return queued.map((q) => q.id);
  } finally {
    await producer.stop();
  }
}

async function freshPrefix(): Promise<string> {
  const prefix = uniqueName('pfgc');
  fx.prefixes.push(prefix);
  return prefix;
}

async function startWorker(prefix: string): Promise<TestApp> {
  const app = await startApp('worker', { pgUrl: fx.db.url, prefix });
  fx.apps.push(app);
  return app;
}

async function counterSum(c: Counter, labels: Record<string, string> = {}): Promise<number> {
  const { values } = await c.get();
  return values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((s, v) => s + v.value, 0);
}

/** Transactions committed and the batches they held, from promfleet_worker_transaction_batches. */
async function transactions(h: Histogram): Promise<{ count: number; batches: number }> {
  const { values } = await h.get();
  const pick = (name: string) => values.find((v) => v.metricName === name)?.value ?? 0;
  return { count: pick('promfleet_worker_transaction_batches_count'), batches: pick('promfleet_worker_transaction_batches_sum') };
}

async function stored(metric: string): Promise<{ rows: number; distinct: number; sum: number }> {
  const r = await fx.client.query<{ rows: number; distinct: number; sum: number | null }>(
    `SELECT count(*)::int AS rows, count(DISTINCT (sa.series_id, sa.time))::int AS distinct, sum(sa.value)::float8 AS sum
     FROM prom.samples sa JOIN prom.series se ON se.id = sa.series_id WHERE se.metric = $1`, [metric]);
  return { rows: r.rows[0].rows, distinct: r.rows[0].distinct, sum: r.rows[0].sum ?? 0 };
}

async function inLedger(ids: readonly string[]): Promise<number> {
  return (await fx.client.query<{ n: number }>('SELECT count(*)::int AS n FROM prom.batches WHERE id = ANY($1)', [ids])).rows[0].n;
}

async function queueIdle(prefix: string): Promise<boolean> {
  return isEmpty(await (await fx.queue(prefix)).depth(DEFAULT_QUEUE));
}

function expectedSum(batches: readonly number[]): number {
  let s = 0;
  for (const b of batches) for (let i = 0; i < SERIES; i++) s += b * 1000 + i;
  return s;
}

describe('worker group commit', () => {
  it('writes a backlog of batches in fewer transactions than batches, every sample exactly once', async () => {
    const prefix = await freshPrefix();
    const n = 60;
    const ids = await enqueue(prefix, Array.from({ length: n }, (_, b) => payload('gc_many', b)));
    const worker = await startWorker(prefix);
    await waitFor('every batch in the ledger', async () => (await inLedger(ids)) === n, 30_000);
    await waitFor('the queue drained', () => queueIdle(prefix), 10_000);

    const s = await stored('gc_many');
    expect(s).toEqual({ rows: n * SERIES, distinct: n * SERIES, sum: expectedSum(Array.from({ length: n }, (_, b) => b)) });
    const m = worker.app.metrics;
    const tx = await transactions(m.transactionBatches);
    expect(tx.batches).toBe(n);
    expect(tx.count).toBeLessThan(n / 2);
    expect(await counterSum(m.workerTransactions, { outcome: 'committed' })).toBe(tx.count);
    expect(await counterSum(m.writtenBatches, { outcome: 'written' })).toBe(n);
    expect(await counterSum(m.writtenSamples)).toBe(n * SERIES);
  });

  it('skips a batch of the group whose id is already in the ledger, and acknowledges it', async () => {
    const prefix = await freshPrefix();
    const n = 20;
    const payloads = Array.from({ length: n }, (_, b) => payload('gc_dup', b));
    // Batch 7 was committed before (a worker died before acknowledging it): its id is in the ledger.
    const already = batchId(queueName(NO_HA), payloads[7]);
    await fx.client.query('INSERT INTO prom.batches (id, queue, samples) VALUES ($1, $2, $3)', [already, DEFAULT_QUEUE, SERIES]);
    const ids = await enqueue(prefix, payloads);
    expect(ids[7]).toBe(already);
    const worker = await startWorker(prefix);
    const m = worker.app.metrics;
    await waitFor('every batch handled', async () => (await counterSum(m.writtenBatches)) === n, 30_000);
    await waitFor('the queue drained', () => queueIdle(prefix), 10_000);

    expect(await counterSum(m.writtenBatches, { outcome: 'duplicate' })).toBe(1);
    expect(await counterSum(m.writtenBatches, { outcome: 'written' })).toBe(n - 1);
    const others = Array.from({ length: n }, (_, b) => b).filter((b) => b !== 7);
    expect(await stored('gc_dup')).toEqual({ rows: (n - 1) * SERIES, distinct: (n - 1) * SERIES, sum: expectedSum(others) });
    const tx = await transactions(m.transactionBatches);
    expect(tx.count).toBeLessThan(n);
    expect(await new DeadLetters(await fx.queue(prefix)).list()).toEqual([]);
  });

  it('dead-letters only the batch the database refuses; the batches of its transaction are written', async () => {
    const prefix = await freshPrefix();
    const n = 20;
    const bad = 5;
    await fx.client.query('ALTER TABLE prom.samples ADD CONSTRAINT gc_positive CHECK (value >= 0)');
    try {
      const ids = await enqueue(prefix, Array.from({ length: n }, (_, b) => payload('gc_bad', b, b === bad ? (i) => (i === 3 ? -1 : i) : undefined)));
      const worker = await startWorker(prefix);
      const m = worker.app.metrics;
      const letters = new DeadLetters(await fx.queue(prefix));
      await waitFor('the refused batch dead-lettered', async () => (await letters.list()).length === 1, 30_000);
      await waitFor('the other batches written', async () => (await inLedger(ids)) === n - 1, 30_000);

      const [letter] = await letters.list();
      expect(letter.id).toBe(ids[bad]);
      expect(letter.reason).toMatch(/gc_positive/);
      const others = Array.from({ length: n }, (_, b) => b).filter((b) => b !== bad);
      expect(await stored('gc_bad')).toEqual({ rows: (n - 1) * SERIES, distinct: (n - 1) * SERIES, sum: expectedSum(others) });
      expect(await inLedger([ids[bad]])).toBe(0);
      expect(await counterSum(m.deadLetters)).toBe(1);
      expect(await counterSum(m.writtenBatches, { outcome: 'written' })).toBe(n - 1);
      // The group that met the refusal failed as a whole before its batches went one by one.
      expect(await counterSum(m.workerTransactions, { outcome: 'failed' })).toBeGreaterThanOrEqual(2);
    } finally {
      await fx.client.query('ALTER TABLE prom.samples DROP CONSTRAINT gc_positive');
    }
  });
});

/**
 * Concurrent requests of one queue travel as one queue job (the ingress's group commit), and
 * each still has its own batch id: every sample is written exactly once, a resent request that
 * lands in another job is acknowledged by the ledger without writing, and a batch the database
 * refuses sends its job to the dead-letter set naming it, while the job's other batches are
 * written and the dead letter keeps only the refused batch, so that a retry once the cause is
 * fixed writes only it, even after the ledger forgot the others.
 */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { Counter } from 'prom-client';
import { isPromfleetError } from '../../src/errors.js';
import { DEFAULT_QUEUE, DeadLetters, Producer, batchId, type QueueIdentity } from '../../src/queue/index.js';
import { uniqueName } from '../helpers/services.js';
import { startApp, type TestApp } from '../helpers/app.js';
import { queueStore } from '../helpers/queue-store.js';
import { waitFor } from '../helpers/ports.js';
import { seriesBody, useWriteFixture } from '../helpers/write-fixture.js';

const log = pino({ level: 'silent' });
const SERIES = 20;
const NO_HA: QueueIdentity = { group: undefined, replica: undefined };
const T0 = Math.floor(Date.now() / 1000) * 1000 - 600_000;

const fx = useWriteFixture('coalesce');

/** Request b of a metric: SERIES series, one sample each at T0 + b s, value b * 1000 + series (or from `value`). */
function body(metric: string, b: number, value?: (series: number) => number): Uint8Array {
  return seriesBody(metric, b, T0, SERIES, value);
}

async function post(url: string, payload: Uint8Array): Promise<number> {
  const res = await fetch(`${url}/write`, {
    method: 'POST',
    body: Buffer.from(payload),
    headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' },
  });
  await res.arrayBuffer();
  return res.status;
}

async function start(role: 'ingress' | 'worker', prefix: string, args: string[] = []): Promise<TestApp> {
  const app = await startApp(role, { pgUrl: fx.db.url, prefix, args: ['--storage.timescaledb=false', ...args] });
  fx.apps.push(app);
  return app;
}

function freshPrefix(): string {
  const prefix = uniqueName('pfco');
  fx.prefixes.push(prefix);
  return prefix;
}

async function counterSum(c: Counter, labels: Record<string, string> = {}): Promise<number> {
  const { values } = await c.get();
  return values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((s, v) => s + v.value, 0);
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

function expectedSum(batches: readonly number[]): number {
  let s = 0;
  for (const b of batches) for (let i = 0; i < SERIES; i++) s += b * 1000 + i;
  return s;
}

describe('ingress group commit', () => {
  it('puts concurrent requests of one queue in fewer jobs than requests; every sample is written once, and a resend is acknowledged by the ledger', async () => {
    const prefix = freshPrefix();
    const ingress = await start('ingress', prefix);
    const n = 80;
    const bodies = Array.from({ length: n }, (_, b) => body('co_many', b));
    const ids = bodies.map((p) => batchId(DEFAULT_QUEUE, p));
    // 16 requests in flight at a time, as 16 remote-write shards would send them.
    let next = 0;
    const statuses: number[] = [];
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (next < n) statuses.push(await post(ingress.url, bodies[next++]));
    }));
    expect(statuses.filter((s) => s !== 204)).toEqual([]);
    const m = ingress.app.metrics;
    const jobs = await counterSum(m.enqueuedJobs);
    expect(await counterSum(m.enqueuedBatches)).toBe(n);
    expect(jobs).toBeLessThan(n);
    expect(jobs).toBeGreaterThan(0);

    const worker = await start('worker', prefix);
    await waitFor('every batch in the ledger', async () => (await inLedger(ids)) === n, 30_000);
    const all = Array.from({ length: n }, (_, b) => b);
    expect(await stored('co_many')).toEqual({ rows: n * SERIES, distinct: n * SERIES, sum: expectedSum(all) });
    const wm = worker.app.metrics;
    expect(await counterSum(wm.writtenBatches, { outcome: 'written' })).toBe(n);

    // Prometheus resends after a lost answer: the same bytes, gathered now into other jobs.
    const resent = await Promise.all(bodies.slice(0, 24).map((p) => post(ingress.url, p)));
    expect(resent.filter((s) => s !== 204)).toEqual([]);
    await waitFor('the resent batches acknowledged', async () => (await counterSum(wm.writtenBatches, { outcome: 'duplicate' })) === 24, 30_000);
    expect(await stored('co_many')).toEqual({ rows: n * SERIES, distinct: n * SERIES, sum: expectedSum(all) });
    expect(await counterSum(wm.writtenBatches, { outcome: 'written' })).toBe(n);
    expect(await new DeadLetters(await fx.queue(prefix)).list()).toEqual([]);
  });

  it('dead-letters a job naming the batch the database refuses; its other batches are written, and a retry writes only the refused one', async () => {
    const prefix = freshPrefix();
    const bad = 3;
    const payloads = Array.from({ length: 6 }, (_, b) => body('co_bad', b, b === bad ? (i) => (i === 5 ? -1 : i) : undefined));
    const ids = payloads.map((p) => batchId(DEFAULT_QUEUE, p));
    await fx.client.query('ALTER TABLE prom.samples ADD CONSTRAINT co_positive CHECK (value >= 0)');
    const letters = new DeadLetters(await fx.queue(prefix));
    try {
      // One enqueue call: the first batch goes alone (the queue is idle), the five others wait
      // for it and travel together as one job.
      const producer = new Producer({ ...queueStore(prefix, fx.db.url), log });
      await producer.start();
      try {
        await producer.enqueue(payloads.map((p, b) => ({
          identity: NO_HA, payload: p, summary: { samples: SERIES, minTs: T0 + b * 1000, maxTs: T0 + b * 1000 },
        })), Date.now());
      } finally {
        await producer.stop();
      }
      const worker = await start('worker', prefix);
      await waitFor('the job dead-lettered', async () => (await letters.list()).length === 1, 30_000);
      await waitFor('the other batches written', async () => (await inLedger(ids)) === ids.length - 1, 30_000);
      const [letter] = await letters.list();
      expect(letter.reason).toContain(`batch 3 of 5 (${ids[bad]})`);
      // The dead letter keeps only the refused batch: the four others of its job are written.
      expect(letter.batches).toBe(1);
      expect(letter.samples).toBe(SERIES);
      expect(letter.reason).toMatch(/co_positive/);
      expect(await inLedger([ids[bad]])).toBe(0);
      expect(await counterSum(worker.app.metrics.deadLetters)).toBe(1);
      const good = [0, 1, 2, 4, 5];
      expect(await stored('co_bad')).toEqual({ rows: good.length * SERIES, distinct: good.length * SERIES, sum: expectedSum(good) });
    } finally {
      await fx.client.query('ALTER TABLE prom.samples DROP CONSTRAINT co_positive');
    }
    // The cause fixed, the operator retries, late: the ledger has forgotten the four batches the
    // job wrote (pruned), and still only the refused one is written.
    await fx.client.query('DELETE FROM prom.batches WHERE id = ANY($1)', [ids.filter((_, b) => b !== bad)]);
    expect(await letters.retry([])).toBe(1);
    await waitFor('the refused batch written', async () => (await inLedger([ids[bad]])) === 1, 30_000);
    await waitFor('the dead-letter set empty', async () => (await letters.list()).length === 0, 10_000);
    const s = await stored('co_bad');
    expect(s.rows).toBe(6 * SERIES);
    expect(s.distinct).toBe(6 * SERIES);
  });

  it('answers every request of a job with the job\'s error when the queue store is away (503 QUEUE_UNAVAILABLE, never 2xx)', async () => {
    // Nothing listens on port 1 (Redis, or the database on postgres): every add fails at once,
    // the first alone and the others as one job.
    const away = queueStore(freshPrefix(), 'postgres://postgres@127.0.0.1:1/promfleet', 'redis://127.0.0.1:1');
    const producer = new Producer({ ...away, log, enqueueTimeoutMs: 2000 });
    await producer.start();
    try {
      const outcomes = await Promise.allSettled(Array.from({ length: 6 }, (_, b) => producer.enqueue([{
        identity: NO_HA, payload: body('co_away', b), summary: { samples: SERIES, minTs: T0, maxTs: T0 },
      }], Date.now())));
      expect(outcomes.map((o) => (o.status === 'rejected' && isPromfleetError(o.reason) ? `${o.reason.code} ${o.reason.status}` : o.status)))
        .toEqual(Array(6).fill('QUEUE_UNAVAILABLE 503'));
    } finally {
      await producer.stop();
    }
  });
});

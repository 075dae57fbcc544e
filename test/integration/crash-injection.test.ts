/**
 * Crash injection: a worker process is killed with SIGKILL at a random point of a random write
 * transaction (before COPY, after COPY before COMMIT, after COMMIT before the queue ack); another
 * worker takes the stalled batch back once its lock expires, and every sample is in PostgreSQL
 * exactly once, every batch in the ledger once.
 *
 * BullMQ hands a killed worker's batch to another worker only after its lock (30 s) expired and a
 * stalled check (every 30 s) saw it, so the 20 runs go concurrently, each on its own queue prefix
 * and database schema. On the postgres queue backend every process of a run holds a few
 * connections more (its queue is in the database too): there the runs go a few at a time, so as
 * to stay well within the server's connections (100 by default, shared with whatever else runs).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { encodeWriteRequest, snappyCompress } from '../../src/protocol/index.js';
import { isEmpty } from '../../src/queue/backend.js';
import type { QueueBackend } from '../../src/queue/index.js';
import { createTestDatabase, uniqueName, type TestDatabase } from '../helpers/services.js';
import { deleteRedisPrefix, startApp, type TestApp } from '../helpers/app.js';
import { depthsOf, openTestBackend, queueFlags, testQueueBackend } from '../helpers/queue-store.js';
import { waitFor } from '../helpers/ports.js';
import { CRASH_POINTS, startCrashWorker, type CrashPoint, type CrashWorker } from '../helpers/crash-worker.js';

const RUNS = 20;
const BATCHES = 4; // write requests (batches) per run
const SERIES = 10; // series per batch, one sample each
/** Runs at a time: a postgres-queue run holds about 6 connections while its worker waits for the stalled batch. */
const PARALLEL = testQueueBackend() === 'postgres' ? 6 : RUNS;
/** One round of runs takes up to about 110 s (the lock, two stalled checks, the writes). */
const TIMEOUT_MS = 90_000 + 110_000 * Math.ceil(RUNS / PARALLEL);

let db: TestDatabase;
let passed = false;
const children: CrashWorker[] = [];
const apps: TestApp[] = [];
const prefixes: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase('crash');
});
afterAll(async () => {
  await Promise.all(children.map((c) => c.kill()));
  await Promise.all(apps.map((a) => a.stop()));
  await Promise.all(prefixes.map((p) => deleteRedisPrefix(p)));
  if (passed) await db?.drop();
});

/** fn over every item, at most `limit` at a time (their starts 300 ms apart), each settled. */
async function settleLimited<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<PromiseSettledResult<R>[]> {
  const out: PromiseSettledResult<R>[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async (_, lane) => {
    await new Promise((r) => setTimeout(r, lane * 300)); // staggered starts
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i).then((value) => ({ status: 'fulfilled', value }), (reason: unknown) => ({ status: 'rejected', reason }));
    }
  }));
  return out;
}

function body(batch: number, base: number): Uint8Array {
  return snappyCompress(encodeWriteRequest({
    timeseries: Array.from({ length: SERIES }, (_, s) => ({
      labels: [{ name: '__name__', value: 'crash_test' }, { name: 's', value: String(s).padStart(2, '0') }],
      samples: [{ value: batch * 1000 + s, timestamp: base + batch * 1000 }], exemplars: [], histograms: [],
    })),
    metadata: [],
  }));
}

/** Nothing waiting, in flight or delayed in any queue of the prefix. */
async function drained(queue: QueueBackend): Promise<boolean> {
  return Object.values(await depthsOf(queue)).every(isEmpty);
}

interface RunResult { run: number; point: CrashPoint; nth: number; ms: number }

async function crashRun(run: number, point: CrashPoint, nth: number, client: pg.Pool): Promise<RunResult> {
  const started = Date.now();
  const prefix = uniqueName(`pfcrash${run}`);
  prefixes.push(prefix);
  const schema = `crash_${run}`;
  const common = [`--pg.schema=${schema}`, '--pg.max-open-conns=1'];

  // K batches of known samples, acknowledged 204 by an ingress while no worker runs.
  const ingress = await startApp('ingress', { pgUrl: db.url, prefix, args: common });
  apps.push(ingress);
  const base = Date.now() - 30_000;
  for (let b = 0; b < BATCHES; b++) {
    const res = await fetch(`${ingress.url}/write`, {
      method: 'POST', headers: { 'Content-Encoding': 'snappy', 'Content-Type': 'application/x-protobuf' }, body: new Uint8Array(body(b, base)),
    });
    expect(res.status, `run ${run}: write ${b}: ${await res.text()}`).toBe(204);
  }
  await ingress.stop();

  // The crash worker: one batch per transaction, so the Nth transaction is the Nth batch.
  const child = startCrashWorker({
    point, nth,
    args: [
      '--web.listen-address=127.0.0.1:0', ...queueFlags(), `--queue.prefix=${prefix}`, `--pg.url=${db.url}`,
      '--worker.queue-poll-interval=200ms', '--worker.concurrency=1', `--worker.batch-max-samples=${SERIES}`, ...common,
    ],
  });
  children.push(child);
  const exit = await Promise.race([
    child.exited,
    new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 40_000)),
  ]);
  if (exit === 'timeout') throw new Error(`run ${run} (${point} #${nth}): the crash worker did not crash\n${child.output()}`);
  expect(exit.signal, `run ${run}: crash worker exit\n${child.output()}`).toBe('SIGKILL');
  expect(child.output()).toContain(`CRASH ${point} ${nth}`);

  // A normal worker on the same queues takes the stalled batch back.
  const worker = await startApp('worker', { pgUrl: db.url, prefix, args: ['--worker.concurrency=1', ...common] });
  apps.push(worker);
  const total = BATCHES * SERIES;
  // The queue as the test sees it (on postgres, in the test database beside the samples).
  const queue = await openTestBackend(prefix, db.url);
  let failed: string[];
  try {
    await waitFor(`run ${run}: all ${total} samples written and the queue drained`, async () => {
      const n = Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${schema}.samples`)).rows[0].n);
      if (n > total) throw new Error(`run ${run}: ${n} samples, more than the ${total} sent`);
      return n === total && (await drained(queue));
    }, 100_000, 500);
    failed = Object.entries(await depthsOf(queue)).filter(([, d]) => d.failed > 0).map(([name, d]) => `${name}: ${d.failed}`);
  } finally {
    await queue.close();
  }
  await worker.stop();

  // Exactly once, per sample: each (series, time) once, with the value sent.
  const rows = (await client.query<{ s: string; t: string; n: string; v: number }>(
    `SELECT labels->>'s' AS s, (extract(epoch FROM time) * 1000)::bigint::text AS t, count(*) AS n, max(value) AS v
       FROM ${schema}.metrics WHERE name = 'crash_test' GROUP BY 1, 2 ORDER BY 2, 1`)).rows;
  const expected: string[] = [];
  for (let b = 0; b < BATCHES; b++) for (let s = 0; s < SERIES; s++) expected.push(`${String(s).padStart(2, '0')}@${base + b * 1000}=${b * 1000 + s}x1`);
  expect(rows.map((r) => `${r.s}@${r.t}=${r.v}x${r.n}`).sort(), `run ${run} (${point} #${nth})`).toEqual(expected.sort());
  // The ledger has each batch once, with its samples.
  const ledger = (await client.query<{ id: string; samples: number }>(`SELECT id, samples FROM ${schema}.batches`)).rows;
  expect(ledger, `run ${run}: ledger`).toHaveLength(BATCHES);
  expect(new Set(ledger.map((l) => l.id)).size).toBe(BATCHES);
  expect(ledger.every((l) => l.samples === SERIES)).toBe(true);
  // Nothing dead-lettered.
  expect(failed, `run ${run}: dead letters`).toEqual([]);
  return { run, point, nth, ms: Date.now() - started };
}

describe('crash injection', () => {
  it(`exactly once over ${RUNS} kill -9 runs at random points`, async () => {
    const client = new pg.Pool({ connectionString: db.url, max: 3 });
    try {
      // Every point as often as the others, in a random order; a random batch each time.
      const plan = Array.from({ length: RUNS }, (_, i) => ({ point: CRASH_POINTS[i % CRASH_POINTS.length], nth: 1 + Math.floor(Math.random() * BATCHES) }))
        .map((p) => ({ p, k: Math.random() })).sort((a, b) => a.k - b.k).map((x) => x.p);
      const results = await settleLimited(plan, PARALLEL, ({ point, nth }, run) => crashRun(run, point, nth, client));
      const failures = results.flatMap((r, i) => (r.status === 'rejected' ? [`run ${i} (${plan[i].point} #${plan[i].nth}): ${String(r.reason)}`] : []));
      expect(failures).toEqual([]);
      const ok = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      expect(new Set(ok.map((r) => r.point)).size).toBe(CRASH_POINTS.length);
      console.log(ok.map((r) => `run ${r.run}: ${r.point} #${r.nth} ${r.ms} ms`).join('\n'));
    } finally {
      await client.end();
    }
    passed = true;
  }, TIMEOUT_MS);
});

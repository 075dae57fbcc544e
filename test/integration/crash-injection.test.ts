/**
 * Crash injection: a worker process is killed with SIGKILL at a random point of a random write
 * transaction (before COPY, after COPY before COMMIT, after COMMIT before the queue ack); another
 * worker takes the stalled batch back once its lock expires, and every sample is in PostgreSQL
 * exactly once, every batch in the ledger once.
 *
 * BullMQ hands a killed worker's batch to another worker only after its lock (30 s) expired and a
 * stalled check (every 30 s) saw it, so the 20 runs go concurrently, each on its own queue prefix
 * and database schema.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { Redis } from 'ioredis';
import { encodeWriteRequest, snappyCompress } from '../../src/protocol/index.js';
import { createTestDatabase, redisUrl, uniqueName, type TestDatabase } from '../helpers/services.js';
import { deleteRedisPrefix, startApp, type TestApp } from '../helpers/app.js';
import { waitFor } from '../helpers/ports.js';
import { CRASH_POINTS, startCrashWorker, type CrashPoint, type CrashWorker } from '../helpers/crash-worker.js';

const RUNS = 20;
const BATCHES = 4; // write requests (batches) per run
const SERIES = 10; // series per batch, one sample each

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

function body(batch: number, base: number): Uint8Array {
  return snappyCompress(encodeWriteRequest({
    timeseries: Array.from({ length: SERIES }, (_, s) => ({
      labels: [{ name: '__name__', value: 'crash_test' }, { name: 's', value: String(s).padStart(2, '0') }],
      samples: [{ value: batch * 1000 + s, timestamp: base + batch * 1000 }], exemplars: [], histograms: [],
    })),
    metadata: [],
  }));
}

/** Nothing waiting, in flight or delayed in any queue under the prefix. */
async function drained(redis: Redis, prefix: string): Promise<boolean> {
  const lists = [...(await redis.keys(`${prefix}:*:wait`)), ...(await redis.keys(`${prefix}:*:active`))];
  const sets = [...(await redis.keys(`${prefix}:*:delayed`)), ...(await redis.keys(`${prefix}:*:prioritized`))];
  for (const k of lists) if ((await redis.llen(k)) > 0) return false;
  for (const k of sets) if ((await redis.zcard(k)) > 0) return false;
  return true;
}

interface RunResult { run: number; point: CrashPoint; nth: number; ms: number }

async function crashRun(run: number, point: CrashPoint, nth: number, client: pg.Pool, redis: Redis): Promise<RunResult> {
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
    expect(res.status, `run ${run}: write ${b}`).toBe(204);
  }
  await ingress.stop();

  // The crash worker: one batch per transaction, so the Nth transaction is the Nth batch.
  const child = startCrashWorker({
    point, nth,
    args: [
      '--web.listen-address=127.0.0.1:0', `--redis.url=${redisUrl()}`, `--queue.prefix=${prefix}`, `--pg.url=${db.url}`,
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
  await waitFor(`run ${run}: all ${total} samples written and the queue drained`, async () => {
    const n = Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${schema}.samples`)).rows[0].n);
    if (n > total) throw new Error(`run ${run}: ${n} samples, more than the ${total} sent`);
    return n === total && (await drained(redis, prefix));
  }, 100_000, 500);
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
  for (const k of await redis.keys(`${prefix}:*:failed`)) expect(await redis.zcard(k), `run ${run}: ${k}`).toBe(0);
  return { run, point, nth, ms: Date.now() - started };
}

describe('crash injection', () => {
  it(`exactly once over ${RUNS} kill -9 runs at random points`, async () => {
    const client = new pg.Pool({ connectionString: db.url, max: 3 });
    const redis = new Redis(redisUrl(), { lazyConnect: true });
    await redis.connect();
    try {
      // Every point as often as the others, in a random order; a random batch each time.
      const plan = Array.from({ length: RUNS }, (_, i) => ({ point: CRASH_POINTS[i % CRASH_POINTS.length], nth: 1 + Math.floor(Math.random() * BATCHES) }))
        .map((p) => ({ p, k: Math.random() })).sort((a, b) => a.k - b.k).map((x) => x.p);
      const results = await Promise.allSettled(plan.map(async ({ point, nth }, run) => {
        await new Promise((r) => setTimeout(r, run * 300)); // staggered starts
        return crashRun(run, point, nth, client, redis);
      }));
      const failures = results.flatMap((r, i) => (r.status === 'rejected' ? [`run ${i} (${plan[i].point} #${plan[i].nth}): ${String(r.reason)}`] : []));
      expect(failures).toEqual([]);
      const ok = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      expect(new Set(ok.map((r) => r.point)).size).toBe(CRASH_POINTS.length);
      console.log(ok.map((r) => `run ${r.run}: ${r.point} #${r.nth} ${r.ms} ms`).join('\n'));
    } finally {
      await client.end();
      redis.disconnect();
    }
    passed = true;
  }, 200_000);
});

/**
 * Redis durability: with AOF and `appendfsync always`, a Redis restarted between enqueue and
 * consume (shut down, or killed with SIGKILL) still holds every batch the ingress acknowledged;
 * a worker started afterwards writes each of them exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { Redis } from 'ioredis';
import { encodeWriteRequest, snappyCompress } from '../../src/protocol/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/services.js';
import { startApp, type TestApp } from '../helpers/app.js';
import { waitFor } from '../helpers/ports.js';
import { startThrowawayRedis, type ThrowawayRedis } from '../helpers/throwaway-redis.js';

const WRITES = 40;
const SERIES = 10;

let db: TestDatabase;
let redis: ThrowawayRedis;
let pool: pg.Pool;
const apps: TestApp[] = [];
let passed = 0;

beforeAll(async () => {
  db = await createTestDatabase('redisaof');
  redis = await startThrowawayRedis();
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
});
afterAll(async () => {
  await Promise.all(apps.map((a) => a.stop()));
  await pool?.end();
  await redis?.destroy();
  if (passed === 2) await db?.drop();
});

function body(write: number, base: number): Buffer {
  return Buffer.from(snappyCompress(encodeWriteRequest({
    timeseries: Array.from({ length: SERIES }, (_, s) => ({
      labels: [{ name: '__name__', value: 'aof_test' }, { name: 's', value: String(s).padStart(2, '0') }],
      samples: [{ value: write * 1000 + s, timestamp: base + write * 100 }], exemplars: [], histograms: [],
    })),
    metadata: [],
  })));
}

async function waiting(prefix: string): Promise<number> {
  const r = new Redis(redis.url, { lazyConnect: true });
  await r.connect();
  try {
    let n = 0;
    for (const k of await r.keys(`${prefix}:*:wait`)) n += await r.llen(k);
    return n;
  } finally {
    r.disconnect();
  }
}

describe('Redis AOF restart between enqueue and consume', () => {
  it.each(['graceful', 'kill'] as const)('every acknowledged batch is written once (%s restart)', async (how) => {
    const schema = `aof_${how}`;
    const common = [`--redis.url=${redis.url}`, `--pg.schema=${schema}`];
    const ingress = await startApp('ingress', { pgUrl: db.url, args: common });
    apps.push(ingress);
    const base = Date.now() - 30_000;
    const statuses: number[] = [];
    for (let w = 0; w < WRITES; w++) {
      const res = await fetch(`${ingress.url}/write`, {
        method: 'POST', headers: { 'Content-Encoding': 'snappy', 'Content-Type': 'application/x-protobuf' }, body: new Uint8Array(body(w, base)),
      });
      statuses.push(res.status);
    }
    expect(statuses.every((s) => s === 204), `statuses ${statuses.join(',')}`).toBe(true);
    expect(await waiting(ingress.prefix)).toBe(WRITES);

    await redis.stop(how);
    await redis.start();
    expect(await waiting(ingress.prefix), `after the restart:\n${redis.output()}`).toBe(WRITES);

    const worker = await startApp('worker', { pgUrl: db.url, prefix: ingress.prefix, args: common });
    apps.push(worker);
    const total = WRITES * SERIES;
    await waitFor(`all ${total} samples written`, async () => {
      const n = Number((await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${schema}.samples`)).rows[0].n);
      if (n > total) throw new Error(`${n} samples, more than the ${total} acknowledged`);
      return n === total && (await waiting(ingress.prefix)) === 0;
    }, 30_000, 200);
    await worker.stop();
    await ingress.stop();

    const rows = (await pool.query<{ s: string; t: string; n: string; v: number }>(
      `SELECT labels->>'s' AS s, (extract(epoch FROM time) * 1000)::bigint::text AS t, count(*) AS n, max(value) AS v
         FROM ${schema}.metrics WHERE name = 'aof_test' GROUP BY 1, 2`)).rows;
    const expected: string[] = [];
    for (let w = 0; w < WRITES; w++) for (let s = 0; s < SERIES; s++) expected.push(`${String(s).padStart(2, '0')}@${base + w * 100}=${w * 1000 + s}x1`);
    expect(rows.map((r) => `${r.s}@${r.t}=${r.v}x${r.n}`).sort()).toEqual(expected.sort());
    const ledger = (await pool.query<{ n: string; samples: string }>(`SELECT count(*) AS n, sum(samples) AS samples FROM ${schema}.batches`)).rows[0];
    expect(Number(ledger.n)).toBe(WRITES);
    expect(Number(ledger.samples)).toBe(total);
    passed += 1;
  });
});

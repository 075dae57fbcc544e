/**
 * Shared replica liveness (src/queue/liveness.ts) against the real Redis, and how the elector
 * uses it (real PostgreSQL, rounds driven with an injected clock): a replica that writes only
 * through another ingress process keeps its leader; a Redis that stops answering never makes
 * the elector resign.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { pino } from 'pino';
import { Redis } from 'ioredis';
import { LockElector } from '../../src/election/index.js';
import { Metrics } from '../../src/observability/metrics.js';
import { RedisLivenessStore, SharedLiveness, livenessKey } from '../../src/queue/index.js';
import { migrate } from '../../src/storage/index.js';
import { deleteRedisPrefix } from '../helpers/app.js';
import { leaderRow } from '../helpers/ha-load.js';
import { waitFor } from '../helpers/ports.js';
import { createTestDatabase, redisUrl, uniqueName, type TestDatabase } from '../helpers/services.js';
import { startThrowawayRedis, type ThrowawayRedis } from '../helpers/throwaway-redis.js';

const log = pino({ level: 'silent' });
const prefix = uniqueName('pflive');
let db: TestDatabase | undefined;
let observer: pg.Client | undefined;
let redis: Redis | undefined;
let failed = false;
const cleanups: (() => Promise<void>)[] = [];

function r(): Redis {
  if (!redis) throw new Error('no redis (set-up failed)');
  return redis;
}

function dbUrl(): string {
  if (!db) throw new Error('no test database (set-up failed)');
  return db.url;
}

function obs(): pg.Client {
  if (!observer) throw new Error('no database connection (set-up failed)');
  return observer;
}

function liveness(opts: { now?: () => number; ttlMs?: number; writeEveryMs?: number; on?: Redis; readTimeoutMs?: number } = {}): SharedLiveness {
  return new SharedLiveness({
    store: new RedisLivenessStore(opts.on ?? r(), prefix), ttlMs: opts.ttlMs ?? 6_000, writeEveryMs: opts.writeEveryMs ?? 1_000, log, now: opts.now, readTimeoutMs: opts.readTimeoutMs,
  });
}

beforeAll(async () => {
  redis = new Redis(redisUrl(), { lazyConnect: true });
  await redis.connect();
  db = await createTestDatabase('liveness');
  const pool = new pg.Pool({ connectionString: db.url, max: 1 });
  try {
    await migrate(pool, { schema: 'prom', timescaledb: false, partitionIntervalMs: 86_400_000, log });
  } finally {
    await pool.end();
  }
  observer = new pg.Client({ connectionString: db.url });
  await observer.connect();
});

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') failed = true;
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

afterAll(async () => {
  await observer?.end().catch(() => undefined);
  await deleteRedisPrefix(prefix);
  redis?.disconnect();
  if (!failed) await db?.drop();
});

describe('SharedLiveness', () => {
  it('records a replica\'s last write in its group\'s hash (Redis time, TTL) and reads it back as an age', async () => {
    const l = liveness();
    l.record('g1', 'a');
    l.record('g1', 'b');
    await waitFor('both recorded', async () => (await r().hlen(livenessKey(prefix, 'g1'))) === 2, 2_000, 10);
    expect(livenessKey(prefix, 'g1')).toBe(`${prefix}:seen:{w.g1.}`);
    const [sec] = await r().time();
    const stored = Number(await r().hget(livenessKey(prefix, 'g1'), 'a'));
    expect(Math.abs(stored - Number(sec) * 1000)).toBeLessThan(2_000);
    const ttl = await r().pttl(livenessKey(prefix, 'g1'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(6_000);

    await new Promise((res) => setTimeout(res, 300));
    const ages = await l.ages(['g1', 'nothing-here']);
    expect([...ages.keys()]).toEqual(['g1']);
    const g1 = ages.get('g1');
    expect([...(g1?.keys() ?? [])].sort()).toEqual(['a', 'b']);
    expect(g1?.get('a')).toBeGreaterThanOrEqual(250);
    expect(g1?.get('a')).toBeLessThan(2_000);
  });

  it('writes a replica at most once per writeEveryMs per process, and drops fields older than the TTL', async () => {
    let clock = 1_000_000;
    const l = liveness({ now: () => clock, writeEveryMs: 1_000, ttlMs: 5_000 });
    const key = livenessKey(prefix, 'g2');
    await r().hset(key, 'gone', String(Number((await r().time())[0]) * 1000 - 60_000));
    l.record('g2', 'a');
    await waitFor('first write', async () => (await r().hget(key, 'a')) !== null, 2_000, 10);
    const first = await r().hget(key, 'a');
    expect(await r().hget(key, 'gone'), 'a field older than the TTL is dropped on write').toBeNull();
    await new Promise((res) => setTimeout(res, 20));
    clock += 999;
    l.record('g2', 'a');
    await new Promise((res) => setTimeout(res, 100));
    expect(await r().hget(key, 'a'), 'no second write within writeEveryMs').toBe(first);
    clock += 1;
    l.record('g2', 'a');
    await waitFor('second write', async () => (await r().hget(key, 'a')) !== first, 2_000, 10);
  });

  it('a read rejects when Redis does not answer; a record never throws', async () => {
    const dead = new Redis('redis://127.0.0.1:1', { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    dead.on('error', () => undefined);
    cleanups.push(async () => dead.disconnect());
    const l = liveness({ on: dead, readTimeoutMs: 500 });
    expect(() => l.record('g3', 'a')).not.toThrow();
    await expect(l.ages(['g3'])).rejects.toThrow();
  });
});

describe('the elector with shared liveness', () => {
  function elector(name: string, l: SharedLiveness, now: () => number): LockElector {
    const e = new LockElector({
      connectionString: dbUrl(), schema: 'prom', applicationName: `promfleet test elector ${name}`,
      intervalMs: 250, timeoutMs: 2_000, cuts: () => ({ acceptedMs: async () => undefined, quietMs: async () => undefined, maxSkewMs: 60_000 }), log, metrics: new Metrics(), now, liveness: l,
    });
    cleanups.push(() => e.stop());
    return e;
  }

  it('keeps leading a replica that now writes only through another ingress process', async () => {
    let clock = Date.now();
    const here = liveness();
    const elsewhere = liveness();
    const e = elector('here', here, () => clock);
    e.observe('s', 'a');
    await e.tick();
    expect(e.isLeader('s', 'a')).toBe(true);
    const before = await leaderRow(obs(), 's');

    // a's writes go through another ingress from now on; this process never sees them.
    for (let i = 0; i < 20; i++) {
      clock += 250;
      elsewhere.record('s', 'a');
      await new Promise((res) => setTimeout(res, 25));
      await e.refreshLiveness();
      await e.tick();
      expect(e.isLeader('s', 'a'), `round ${i}`).toBe(true);
    }
    expect((await leaderRow(obs(), 's'))?.epoch).toBe(before?.epoch);

    // Without writes anywhere, it resigns after the timeout (the store's ages are real time).
    clock += 2_500;
    await new Promise((res) => setTimeout(res, 2_200));
    await e.refreshLiveness();
    await e.tick();
    expect(e.isLeader('s', 'a')).toBe(false);
    expect((await leaderRow(obs(), 's'))?.leader).toBeNull();
  }, 30_000);

  it('learns the other replicas of its groups from the store, and elects one that writes only elsewhere', async () => {
    let clock = Date.now();
    const e = elector('other', liveness(), () => clock);
    // This process saw a once; then a stops, and b writes only through another ingress process.
    e.observe('o', 'a');
    clock += 3_000;
    liveness().record('o', 'b');
    await waitFor('b recorded', async () => (await r().hget(livenessKey(prefix, 'o'), 'b')) !== null, 2_000, 10);
    await e.refreshLiveness();
    await e.tick();
    expect(e.isLeader('o', 'b')).toBe(true);
    expect(e.isLeader('o', 'a')).toBe(false);
    expect((await leaderRow(obs(), 'o'))?.leader).toBe('b');
  }, 30_000);

  it('never resigns while the store does not answer, nor for one timeout after it is back', async () => {
    const own: ThrowawayRedis = await startThrowawayRedis();
    cleanups.push(() => own.destroy());
    const conn = new Redis(own.url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: () => 200 });
    conn.on('error', () => undefined);
    await conn.connect();
    cleanups.push(async () => conn.disconnect());
    let clock = Date.now();
    const l = liveness({ on: conn, readTimeoutMs: 300 });
    const e = elector('redis-down', l, () => clock);
    e.observe('d', 'a');
    await e.refreshLiveness();
    await e.tick();
    expect(e.isLeader('d', 'a')).toBe(true);

    await own.stop('kill');
    // Far beyond the timeout and nothing seen anywhere: still leader, because the store is away.
    for (let i = 0; i < 5; i++) {
      clock += 1_000;
      await e.refreshLiveness();
      await e.tick();
      expect(e.isLeader('d', 'a'), `round ${i}`).toBe(true);
    }
    expect((await leaderRow(obs(), 'd'))?.leader).toBe('a');

    // Back: the writes other ingresses tried while it was away are lost, so for one timeout
    // the store's ages are not trusted; after that, a (silent for 5 s everywhere) leaves.
    await own.start();
    await waitFor('the liveness store to answer again', async () => {
      await e.refreshLiveness();
      return conn.status === 'ready';
    }, 10_000, 100);
    await e.refreshLiveness();
    await e.tick();
    expect(e.isLeader('d', 'a'), 'just after the store is back').toBe(true);
    clock += 1_900;
    await e.refreshLiveness();
    await e.tick();
    expect(e.isLeader('d', 'a'), 'within one timeout of it').toBe(true);
    clock += 200;
    await e.refreshLiveness();
    await e.tick();
    expect(e.isLeader('d', 'a')).toBe(false);
  }, 60_000);
});

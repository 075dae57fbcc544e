/**
 * Shared replica liveness (src/queue/liveness.ts) against the real queue store (a Redis hash on
 * Redis's clock, or rows of the PostgreSQL queue schema on the database's clock), and how the
 * elector uses it (real PostgreSQL, rounds driven with an injected clock): a replica that writes
 * only through another ingress process keeps its leader; a store that stops answering never
 * makes the elector resign.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { pino } from 'pino';
import { LockElector } from '../../src/election/index.js';
import { Metrics } from '../../src/observability/metrics.js';
import { SharedLiveness, livenessKey, type LivenessStore, type QueueBackend } from '../../src/queue/index.js';
import { migrate } from '../../src/storage/index.js';
import { deleteRedisPrefix } from '../helpers/app.js';
import { leaderRow } from '../helpers/ha-load.js';
import { waitFor } from '../helpers/ports.js';
import { openFailFastBackend, openTestBackend, startThrowawayQueueStore } from '../helpers/queue-store.js';
import { createTestDatabase, uniqueName, type TestDatabase } from '../helpers/services.js';

const log = pino({ level: 'silent' });
const prefix = uniqueName('pflive');
let db: TestDatabase | undefined;
let observer: pg.Client | undefined;
let backend: QueueBackend | undefined;
let failed = false;
const cleanups: (() => Promise<void>)[] = [];

/** The suite's liveness store (on postgres, in the test database, as a deployment's is). */
function store(): LivenessStore {
  if (!backend) throw new Error('no queue backend (set-up failed)');
  return backend.liveness;
}

function dbUrl(): string {
  if (!db) throw new Error('no test database (set-up failed)');
  return db.url;
}

function obs(): pg.Client {
  if (!observer) throw new Error('no database connection (set-up failed)');
  return observer;
}

function sleep(ms: number): Promise<void> {
  return new Promise((res) => setTimeout(res, ms));
}

function liveness(opts: { now?: () => number; ttlMs?: number; writeEveryMs?: number; on?: LivenessStore; readTimeoutMs?: number } = {}): SharedLiveness {
  return new SharedLiveness({
    store: opts.on ?? store(), ttlMs: opts.ttlMs ?? 6_000, writeEveryMs: opts.writeEveryMs ?? 1_000, log, now: opts.now, readTimeoutMs: opts.readTimeoutMs,
  });
}

/** The age the store gives a replica of a group, undefined when it has none. */
async function ageOf(group: string, replica: string): Promise<number | undefined> {
  return (await store().ages([group])).get(group)?.get(replica);
}

beforeAll(async () => {
  db = await createTestDatabase('liveness');
  const pool = new pg.Pool({ connectionString: db.url, max: 1 });
  try {
    await migrate(pool, { schema: 'prom', timescaledb: false, partitionIntervalMs: 86_400_000, log });
  } finally {
    await pool.end();
  }
  observer = new pg.Client({ connectionString: db.url });
  await observer.connect();
  backend = await openTestBackend(prefix, db.url);
});

afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') failed = true;
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

afterAll(async () => {
  await observer?.end().catch(() => undefined);
  await backend?.close();
  await deleteRedisPrefix(prefix);
  if (!failed) await db?.drop();
});

describe('SharedLiveness', () => {
  it('records a replica\'s last write on the store\'s clock and reads it back as an age; a group nobody writes to expires after the TTL', async () => {
    const l = liveness();
    l.record('g1', 'a');
    l.record('g1', 'b');
    await waitFor('both recorded', async () => (await store().ages(['g1'])).get('g1')?.size === 2, 2_000, 10);
    if (backend?.kind === 'redis') {
      // One hash per group, in one Redis Cluster slot.
      expect(livenessKey(prefix, 'g1')).toBe(`${prefix}:seen:{w.g1.}`);
    }

    await sleep(300);
    const ages = await l.ages(['g1', 'nothing-here']);
    expect([...ages.keys()]).toEqual(['g1']);
    const g1 = ages.get('g1');
    expect([...(g1?.keys() ?? [])].sort()).toEqual(['a', 'b']);
    expect(g1?.get('a')).toBeGreaterThanOrEqual(250);
    expect(g1?.get('a')).toBeLessThan(2_000);

    const brief = liveness({ ttlMs: 500 });
    brief.record('g1t', 'a');
    await waitFor('recorded with a short TTL', async () => (await ageOf('g1t', 'a')) !== undefined, 2_000, 10);
    await sleep(700);
    expect((await brief.ages(['g1t'])).has('g1t'), 'the group is gone one TTL after its last write').toBe(false);
  });

  it('writes a replica at most once per writeEveryMs per process, and drops entries older than the TTL when its group is written', async () => {
    let clock = 1_000_000;
    const l = liveness({ now: () => clock, writeEveryMs: 1_000, ttlMs: 1_000 });
    // "gone" wrote 1.1 s ago, "keeper" 0.5 s ago: the group lives on, only "gone" is too old.
    await store().record('g2', 'gone', 1_000);
    await sleep(600);
    await store().record('g2', 'keeper', 1_000);
    await sleep(500);
    l.record('g2', 'a');
    await waitFor('first write', async () => (await ageOf('g2', 'a')) !== undefined, 2_000, 10);
    const after = (await store().ages(['g2'])).get('g2');
    expect(after?.has('gone'), 'an entry older than the TTL is dropped on write').toBe(false);
    expect(after?.has('keeper'), 'a younger one stays').toBe(true);

    await sleep(400);
    clock += 999;
    l.record('g2', 'a');
    await sleep(100);
    expect(await ageOf('g2', 'a'), 'no second write within writeEveryMs').toBeGreaterThanOrEqual(400);
    clock += 1;
    l.record('g2', 'a');
    await waitFor('second write', async () => ((await ageOf('g2', 'a')) ?? Infinity) < 300, 2_000, 10);
  });

  it('a read rejects when the store does not answer; a record never throws', async () => {
    const dead = await openFailFastBackend(prefix, 'postgres://postgres@127.0.0.1:1/postgres', 'redis://127.0.0.1:1');
    cleanups.push(() => dead.close());
    const l = liveness({ on: dead.liveness, readTimeoutMs: 500 });
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
    // The last record is not awaited and may land late on a busy store: wait for its age, not a fixed time.
    clock += 2_500;
    await waitFor("a's age in the store past the timeout", async () => ((await ageOf('s', 'a')) ?? Infinity) > 2_100, 10_000, 50);
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
    await waitFor('b recorded', async () => (await ageOf('o', 'b')) !== undefined, 2_000, 10);
    await e.refreshLiveness();
    await e.tick();
    expect(e.isLeader('o', 'b')).toBe(true);
    expect(e.isLeader('o', 'a')).toBe(false);
    expect((await leaderRow(obs(), 'o'))?.leader).toBe('b');
  }, 30_000);

  it('never resigns while the store does not answer, nor for one timeout after it is back', async () => {
    const own = await startThrowawayQueueStore();
    cleanups.push(() => own.destroy());
    const away = await openFailFastBackend(prefix, own.database, own.redis);
    cleanups.push(() => away.close());
    let clock = Date.now();
    const l = liveness({ on: away.liveness, readTimeoutMs: 300 });
    const e = elector('store-down', l, () => clock);
    e.observe('d', 'a');
    await e.refreshLiveness();
    await e.tick();
    expect(e.isLeader('d', 'a')).toBe(true);

    await own.stop();
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
      return away.liveness.ages(['d']).then(() => true, () => false);
    }, 20_000, 100);
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

/**
 * Which queue backend the suites run on: PROMFLEET_TEST_QUEUE_BACKEND=redis (default) or
 * postgres. The queue suites run once per backend (see vitest.config.ts); the helpers that start
 * promfleet or open a queue take the backend from here, so a suite runs unchanged on both.
 */
import { createPostgresBackend, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { pino } from 'pino';
import {
  openQueueBackend, PostgresQueueBackend, queueSchema, readyJobsKey, RedisQueueBackend, type QueueBackend, type QueueDepth, type QueueStoreOptions,
} from '../../src/queue/index.js';
import { pgUrl, redisUrl } from './services.js';
import { startThrowawayPostgres } from './throwaway-pg.js';
import { startThrowawayRedis } from './throwaway-redis.js';

export type TestQueueBackend = 'redis' | 'postgres';

export function testQueueBackend(): TestQueueBackend {
  const v = process.env.PROMFLEET_TEST_QUEUE_BACKEND ?? 'redis';
  if (v !== 'redis' && v !== 'postgres') throw new Error(`PROMFLEET_TEST_QUEUE_BACKEND must be redis or postgres, not ${JSON.stringify(v)}`);
  return v;
}

/** The flags that put a promfleet process's queue on the suite's backend. */
export function queueFlags(redis: string = redisUrl()): string[] {
  return [`--queue.backend=${testQueueBackend()}`, `--redis.url=${redis}`];
}

/** Options for a Producer or Consumer built in a test; on postgres the queue lives in `database`. */
export function queueStore(prefix: string, database: string = pgUrl(), redis: string = redisUrl()): QueueStoreOptions {
  return { backend: testQueueBackend(), redisUrl: redis, pgUrl: database, prefix };
}

/** A connected backend for a test to look into the queue with; close it after. */
export async function openTestBackend(prefix: string, database: string = pgUrl(), redis: string = redisUrl()): Promise<QueueBackend> {
  const backend = openQueueBackend(queueStore(prefix, database, redis), 'worker', pino({ level: 'silent' }));
  await backend.connect();
  return backend;
}

/**
 * Every registered queue of a prefix with its jobs per state, in name order (empty when nothing
 * was ever enqueued): what a test looks at to see what reached the queue, on either backend.
 */
export async function queueDepths(prefix: string, database: string = pgUrl(), redis: string = redisUrl()): Promise<Record<string, QueueDepth>> {
  const backend = await openTestBackend(prefix, database, redis);
  try {
    return await depthsOf(backend);
  } finally {
    await backend.close();
  }
}

/** queueDepths on a backend a test keeps open (to poll without a connection per look). */
export async function depthsOf(backend: Pick<QueueBackend, 'registry' | 'depth'>): Promise<Record<string, QueueDepth>> {
  const out: Record<string, QueueDepth> = {};
  for (const name of await backend.registry.list()) out[name] = { ...(await backend.depth(name)) };
  return out;
}

/**
 * A backend whose client fails fast, as a producer's (a call while the store is away rejects
 * at once rather than wait for it): connected when the store answers, else left to connect on
 * the next call. Close it after.
 */
export async function openFailFastBackend(prefix: string, database: string = pgUrl(), redis: string = redisUrl()): Promise<QueueBackend> {
  const backend = openQueueBackend(queueStore(prefix, database, redis), 'producer', pino({ level: 'silent' }));
  await backend.connect().catch(() => undefined);
  return backend;
}

/** A queue store of the test's own that it can stop and start: a Redis, or a PostgreSQL server. */
export interface ThrowawayQueueStore {
  /** Where the suite's backend finds it (the other one points at the shared service). */
  readonly database: string;
  readonly redis: string;
  /** The store goes away at once (SIGKILL for Redis, a fast shutdown for PostgreSQL). */
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

export async function startThrowawayQueueStore(): Promise<ThrowawayQueueStore> {
  if (testQueueBackend() === 'postgres') {
    const s = await startThrowawayPostgres();
    return { database: s.url, redis: redisUrl(), stop: () => s.stop(), start: () => s.start(), destroy: () => s.destroy() };
  }
  const s = await startThrowawayRedis();
  return { database: pgUrl(), redis: s.url, stop: () => s.stop('kill'), start: () => s.start(), destroy: () => s.destroy() };
}

/** Drops a postgres queue's schema from `database` (a test database takes its queue along when dropped). */
export async function dropQueueSchema(prefix: string, database: string = pgUrl()): Promise<void> {
  const c = new pg.Client({ connectionString: database });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(queueSchema(prefix))} CASCADE`);
  } finally {
    await c.end();
  }
}

/**
 * The ready-jobs count as the autoscaler reads it: KEDA's `redis` scaler takes the set's SCARD,
 * its `postgresql` scaler sums the shares' rows (see src/queue/ready-jobs.ts, pg/stores.ts).
 */
export async function scaledReadyJobs(backend: QueueBackend): Promise<number> {
  if (backend instanceof RedisQueueBackend) return backend.redis.scard(readyJobsKey(backend.prefix));
  if (backend instanceof PostgresQueueBackend) {
    const r = await backend.db.query<{ n: string }>(`SELECT coalesce(sum(n), 0) AS n FROM ${backend.db.tables.readyJobs}`);
    return Number(r.rows[0]?.n ?? 0);
  }
  throw new Error(`no autoscaler query for the ${backend.kind} backend`);
}

/**
 * Takes up to n waiting jobs of a queue the way a worker does, without processing them: they
 * stay active, each locked for lockMs and never renewed (after that nobody holds them, as after a
 * worker died). Resolves to their ids in the order they were taken.
 */
export async function takeJobs(prefix: string, queue: string, n: number, lockMs: number, database: string = pgUrl(), redis: string = redisUrl()): Promise<string[]> {
  let connection: Redis | undefined;
  let worker: Worker;
  if (testQueueBackend() === 'postgres') {
    const opts = { connection: { connectionString: database, schema: queueSchema(prefix), max: 1 }, autorun: false, lockDuration: lockMs, skipVersionCheck: true };
    worker = new Worker(queue, null, opts, createPostgresBackend) as unknown as Worker;
  } else {
    connection = new Redis(redis, { maxRetriesPerRequest: null });
    worker = new Worker(queue, null, { connection, prefix, autorun: false, lockDuration: lockMs });
  }
  try {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const job = await worker.getNextJob(`take-${i}`, { block: false });
      if (job?.id === undefined) break;
      ids.push(job.id);
    }
    return ids;
  } finally {
    await worker.close();
    connection?.disconnect();
  }
}

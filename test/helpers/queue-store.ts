/**
 * Which queue backend the suites run on: PROMFLEET_TEST_QUEUE_BACKEND=redis (default) or
 * postgres. The queue suites run once per backend (see vitest.config.ts); the helpers that start
 * promfleet or open a queue take the backend from here, so a suite runs unchanged on both.
 */
import pg from 'pg';
import { pino } from 'pino';
import { openQueueBackend, queueSchema, type QueueBackend, type QueueDepth, type QueueStoreOptions } from '../../src/queue/index.js';
import { pgUrl, redisUrl } from './services.js';

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

/**
 * The set-up the worker's write tests share: a fresh, migrated database (native partitions), a
 * client on it, the queue prefixes and apps a test file starts (stopped after each test,
 * prefixes deleted at the end), a queue backend per prefix to look into the queue with (on the
 * suite's backend: on postgres the queue lives in the test database), and the database kept
 * when a test failed.
 */
import { afterAll, afterEach, beforeAll } from 'vitest';
import pg from 'pg';
import { pino } from 'pino';
import { encodeWriteRequest, snappyCompress } from '../../src/protocol/index.js';
import { createPool, migrate } from '../../src/storage/index.js';
import type { QueueBackend } from '../../src/queue/index.js';
import { createTestDatabase, type TestDatabase } from './services.js';
import { deleteRedisPrefix, type TestApp } from './app.js';
import { openTestBackend } from './queue-store.js';

export interface WriteFixture {
  db: TestDatabase;
  client: pg.Client;
  /** The queue backend of a prefix, opened on first use and closed once the file is done. */
  queue(prefix: string): Promise<QueueBackend>;
  /** Queue prefixes to delete once the file is done. */
  readonly prefixes: string[];
  /** Apps to stop after each test. */
  readonly apps: TestApp[];
}

/** Registers the file's hooks; the fixture's fields are set once beforeAll ran. */
export function useWriteFixture(name: string): WriteFixture {
  const log = pino({ level: 'silent' });
  const backends = new Map<string, Promise<QueueBackend>>();
  const f = { prefixes: [], apps: [] } as unknown as WriteFixture;
  let failed = false;
  f.queue = (prefix) => {
    let b = backends.get(prefix);
    if (b === undefined) {
      b = openTestBackend(prefix, f.db.url);
      backends.set(prefix, b);
    }
    return b;
  };
  beforeAll(async () => {
    f.db = await createTestDatabase(name);
    // Migrated here, so a test can change the schema before any worker runs.
    const pool = createPool({ connectionString: f.db.url, max: 1, applicationName: `${name}-test migrate` }, log);
    try {
      await migrate(pool, { schema: 'prom', timescaledb: false, partitionIntervalMs: 86_400_000, log });
    } finally {
      await pool.end();
    }
    f.client = new pg.Client({ connectionString: f.db.url });
    await f.client.connect();
  });
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') failed = true;
    await Promise.allSettled(f.apps.splice(0).map((a) => a.stop()));
  });
  afterAll(async () => {
    await f.client?.end();
    await Promise.allSettled([...backends.values()].map(async (b) => (await b).close()));
    for (const p of f.prefixes) await deleteRedisPrefix(p);
    if (!failed) await f.db?.drop();
  });
  return f;
}

/** Request b of a metric: `series` series, one sample each at t0 + b s, value b * 1000 + series (or from `value`). */
export function seriesBody(metric: string, b: number, t0: number, series: number, value: (s: number) => number = (i) => b * 1000 + i): Uint8Array {
  return snappyCompress(encodeWriteRequest({
    timeseries: Array.from({ length: series }, (_, i) => ({
      labels: [{ name: '__name__', value: metric }, { name: 'series', value: String(i) }],
      samples: [{ value: value(i), timestamp: t0 + b * 1000 }],
      exemplars: [],
      histograms: [],
    })),
    metadata: [],
  }));
}

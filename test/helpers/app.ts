/** Runs promfleet in-process (createApp) against the test services, on a free loopback port. */
import { pino, type Logger } from 'pino';
import { Redis } from 'ioredis';
import { createApp, type App, type AppSeams, type ServiceRole } from '../../src/app.js';
import { parseConfig } from '../../src/config/index.js';
import { redisUrl, uniqueName } from './services.js';
import { dropQueueSchema, queueFlags, testQueueBackend } from './queue-store.js';

export interface TestApp {
  readonly app: App;
  readonly url: string;
  readonly prefix: string;
  stop(): Promise<void>;
}

export async function startApp(role: ServiceRole, opts: { pgUrl?: string; prefix?: string; args?: string[]; seams?: AppSeams; log?: Logger } = {}): Promise<TestApp> {
  const prefix = opts.prefix ?? uniqueName('pft');
  const args = ['--web.listen-address=127.0.0.1:0', ...queueFlags(), `--queue.prefix=${prefix}`, '--worker.queue-poll-interval=200ms', '--shutdown.timeout=10s'];
  if (opts.pgUrl) args.push(`--pg.url=${opts.pgUrl}`);
  const config = parseConfig([...args, ...(opts.args ?? [])], {});
  const app = createApp(role, config, opts.log ?? pino({ level: process.env.PROMFLEET_TEST_LOG ?? 'silent' }), opts.seams);
  await app.start();
  const scheme = app.server.secure ? 'https' : 'http';
  return { app, url: `${scheme}://127.0.0.1:${app.server.port}`, prefix, stop: () => app.stop() };
}

/** Every Redis key under a prefix (tests use this to prove nothing was enqueued, and to clean up). */
export async function redisKeys(prefix: string): Promise<string[]> {
  const r = new Redis(redisUrl(), { lazyConnect: true });
  await r.connect();
  try {
    return await r.keys(`${prefix}:*`);
  } finally {
    r.disconnect();
  }
}

/** Removes a queue: its Redis keys, or on postgres its schema in the default test database (test databases take theirs along). */
export async function deleteRedisPrefix(prefix: string): Promise<void> {
  if (testQueueBackend() === 'postgres') {
    await dropQueueSchema(prefix);
    return;
  }
  const r = new Redis(redisUrl(), { lazyConnect: true });
  await r.connect();
  try {
    const keys = await r.keys(`${prefix}:*`);
    if (keys.length) await r.del(...keys);
  } finally {
    r.disconnect();
  }
}

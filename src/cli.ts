import { parseConfig, helpText, maskUrl, ROLES, type Config, type Role } from './config/index.js';
import { isPromfleetError } from './errors.js';
import { HttpServer } from './http/server.js';
import { createIngress, type Ingress } from './ingress/index.js';
import { createLogger, type Logger } from './observability/log.js';
import { Metrics } from './observability/metrics.js';
import { createPool, migrate } from './storage/index.js';
import { createWorker, type WorkerRole } from './worker/index.js';
import { Backoff } from './worker/backoff.js';
import type pg from 'pg';

/** Entry point: returns the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [role, ...rest] = argv;
  if (role === undefined || role === '--help' || role === '-h' || role === 'help' || rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${helpText()}\n`);
    return role === undefined ? 2 : 0;
  }
  if (!(ROLES as readonly string[]).includes(role)) {
    process.stderr.write(`promfleet: unknown command "${role}"; expected one of ${ROLES.join(', ')}\n`);
    return 2;
  }
  let config: Config;
  try {
    config = parseConfig(rest);
  } catch (err) {
    if (isPromfleetError(err)) {
      process.stderr.write(`promfleet: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const log = createLogger(config['log.level']).child({ role });
  log.info({ pg: maskUrl(config.pgConnectionString), redis: maskUrl(config['redis.url']), schema: config['pg.schema'], prefix: config['queue.prefix'] }, 'starting');
  if (role === 'migrate') return runMigrate(config, log);
  return runService(role as Exclude<Role, 'migrate'>, config, log);
}

async function runMigrate(config: Config, log: Logger): Promise<number> {
  const pool = createPool({ connectionString: config.pgConnectionString, max: 1, applicationName: 'promfleet migrate' }, log);
  try {
    const result = await migrate(pool, migrateOptions(config, log));
    log.info({ applied: result.applied, timescaledb: result.timescaledb }, 'migrations applied');
    return 0;
  } finally {
    await pool.end();
  }
}

function migrateOptions(config: Config, log: Logger) {
  return {
    schema: config['pg.schema'],
    timescaledb: config['storage.timescaledb'],
    partitionIntervalMs: config['storage.partition-interval'],
    log: log.child({ component: 'migrate' }),
  };
}

/** Migrations at start-up, retried with backoff while the database is away. */
async function migrateUntilDone(pool: pg.Pool, config: Config, log: Logger, signal: AbortSignal): Promise<void> {
  const backoff = new Backoff(500, 10_000);
  while (!signal.aborted) {
    try {
      await migrate(pool, migrateOptions(config, log));
      return;
    } catch (err) {
      const wait = backoff.next();
      log.warn({ err: (err as Error).message, retryInMs: wait }, 'migrations failed; retrying');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, wait);
        signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
      });
    }
  }
  throw new Error('aborted before migrations completed');
}

async function runService(role: Exclude<Role, 'migrate'>, config: Config, log: Logger): Promise<number> {
  const metrics = new Metrics();
  const addr = config['web.listen-address'];
  const server = new HttpServer({ host: addr.host, port: addr.port, log: log.child({ component: 'http' }), metrics });
  const lifetime = new AbortController();
  let ingress: Ingress | undefined;
  let worker: WorkerRole | undefined;
  let pool: pg.Pool | undefined;

  if (role === 'ingress' || role === 'all') {
    ingress = createIngress({
      server,
      redisUrl: config['redis.url'],
      queuePrefix: config['queue.prefix'],
      limits: {
        maxBodyBytes: config['web.max-body-bytes'],
        maxDecompressedBytes: config['web.max-decompressed-bytes'],
        maxSampleAgeMs: config['web.max-sample-age'],
        maxFutureMs: config['web.max-future'],
      },
      ha: {
        clusterLabel: config['ha.cluster-label'],
        replicaLabel: config['ha.replica-label'],
        defaultGroup: config['ha.group'],
        defaultReplica: config['ha.replica'],
      },
      log: log.child({ component: 'ingress' }),
      metrics,
    });
  }
  if (role === 'worker' || role === 'all') {
    pool = createPool({ connectionString: config.pgConnectionString, max: config['pg.max-open-conns'], applicationName: `promfleet ${role}` }, log);
    const ready = migrateUntilDone(pool, config, log, lifetime.signal);
    ready.catch(() => undefined);
    worker = createWorker({
      server,
      pool,
      schema: config['pg.schema'],
      redisUrl: config['redis.url'],
      queuePrefix: config['queue.prefix'],
      concurrency: config['worker.concurrency'],
      queuePollIntervalMs: config['worker.queue-poll-interval'],
      maxDecompressedBytes: config['web.max-decompressed-bytes'],
      partitionIntervalMs: config['storage.partition-interval'],
      partitionsAhead: config['storage.partitions-ahead'],
      ready,
      log: log.child({ component: 'worker' }),
      metrics,
    });
  }

  await server.start();
  await ingress?.start();
  void worker?.start().catch((err: unknown) => {
    if (!lifetime.signal.aborted) log.error({ err }, 'worker failed to start');
  });

  const done = new Promise<number>((resolve) => {
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      signals++;
      if (signals > 1) {
        // Everything answered 2xx is already in Redis; a second signal may leave at once.
        log.warn({ signal: sig }, 'second signal; exiting now');
        process.exit(130);
      }
      log.info({ signal: sig, timeoutMs: config['shutdown.timeout'] }, 'shutting down');
      void shutdown().then(() => resolve(0), (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        resolve(1);
      });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });

  /** Stop accepting, drain up to the deadline, then cut; stop parts in reverse order of start. */
  async function shutdown(): Promise<void> {
    server.beginClosing();
    lifetime.abort();
    const deadline = AbortSignal.timeout(config['shutdown.timeout']);
    await Promise.all([ingress?.drain(deadline), worker?.drain(deadline)]);
    await worker?.stop();
    await ingress?.stop();
    const closed = server.stop();
    const cut = await Promise.race([closed.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 1000))]);
    if (cut) server.closeAllConnections();
    await closed;
    await pool?.end();
    log.info('stopped');
  }

  return done;
}

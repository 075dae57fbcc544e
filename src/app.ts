import type pg from 'pg';
import type { Config, Role } from './config/index.js';
import { HttpServer } from './http/server.js';
import { RateLimiter } from './http/rate-limit.js';
import { CredentialStore, createGuard } from './auth/index.js';
import { createIngress, type Ingress } from './ingress/index.js';
import { LockElector, RestElector, registerElectionAdmin, type Elector } from './election/index.js';
import type { Logger } from './observability/log.js';
import { Metrics } from './observability/metrics.js';
import { createPool, migrate, SampleReader, type CutSource } from './storage/index.js';
import { QueueTimeIndex, SharedLiveness, producerConnection, queueName } from './queue/index.js';
import type { Redis } from 'ioredis';
import { registerRead } from './ingress/read.js';
import { PromfleetError } from './errors.js';
import { createWorker, type WorkerRole } from './worker/index.js';
import { Backoff } from './lib/backoff.js';
import { sleep } from './lib/sleep.js';

export type ServiceRole = Exclude<Role, 'migrate' | 'dead-letters'>;

export interface App {
  readonly server: HttpServer;
  readonly metrics: Metrics;
  start(): Promise<void>;
  /** Re-reads the auth file and the TLS certificate (SIGHUP); what fails to load keeps the previous. */
  reload(): void;
  /** Stop accepting, drain up to --shutdown.timeout, then cut; parts stop in reverse order. Idempotent. */
  stop(): Promise<void>;
}

export function migrateOptions(config: Config, log: Logger) {
  return {
    schema: config['pg.schema'],
    timescaledb: config['storage.timescaledb'],
    partitionIntervalMs: config['storage.partition-interval'],
    compressAfterMs: config['storage.compress-after'],
    retentionMs: config['storage.retention'],
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
      await sleep(wait, signal);
    }
  }
  throw new Error('stopped before migrations completed');
}

/** The lock elector, or the REST one with --leader-election.rest. */
function createElector(
  role: ServiceRole, config: Config, log: Logger, metrics: Metrics, ready: () => Promise<void>, index: QueueTimeIndex, liveness: SharedLiveness | undefined,
): Elector {
  const common = {
    cuts: (group: string): CutSource => ({
      acceptedMs: (replica: string) => index.accepted(queueName({ group, replica })),
      maxSkewMs: config['ha.max-clock-skew'],
    }),
    ready,
    connectionString: config.pgConnectionString,
    schema: config['pg.schema'],
    applicationName: `promfleet ${role} elector pid ${process.pid}`,
    log: log.child({ component: 'election' }),
    metrics,
  };
  if (liveness === undefined) {
    const group = config['ha.group'];
    const replica = config['ha.replica'];
    return new RestElector({ ...common, identity: group !== undefined && replica !== undefined ? { group, replica } : undefined });
  }
  return new LockElector({
    ...common,
    intervalMs: config['election.interval'],
    timeoutMs: config['leader-election.pg-advisory-lock.prometheus-timeout'],
    liveness,
  });
}

/** Wires one process: the HTTP listener, and the ingress and/or worker role. */
export interface AppSeams {
  /** Awaited inside an HA batch's transaction just before the fence (tests move leadership here). */
  readonly pauseBeforeFence?: (batch: { group: string; replica: string }) => Promise<void>;
  /** Awaited inside a write transaction after COPY, before COMMIT. */
  readonly afterCopy?: (queue: string) => Promise<void>;
  /** Awaited after COMMIT, before the queue hears the batches are done. */
  readonly afterCommit?: (queue: string) => Promise<void>;
}

export function createApp(role: ServiceRole, config: Config, log: Logger, seams: AppSeams = {}): App {
  const metrics = new Metrics();
  const addr = config['web.listen-address'];
  const authFile = config['web.auth-file'];
  const credentials = authFile === undefined ? undefined : new CredentialStore({ path: authFile, log: log.child({ component: 'auth' }) });
  const guard = credentials && createGuard({
    store: credentials,
    openPaths: config['web.auth-open-paths'],
    limiter: new RateLimiter({ perSecond: config['web.rate-limit.credential'], status: config['web.rate-limit.status'], what: 'credential', flag: '--web.rate-limit.credential' }),
    log: log.child({ component: 'auth' }),
    metrics,
  });
  const certFile = config['web.tls-cert'];
  const keyFile = config['web.tls-key'];
  const server = new HttpServer({
    host: addr.host, port: addr.port, log: log.child({ component: 'http' }), metrics, guard,
    tls: certFile !== undefined && keyFile !== undefined ? { certFile, keyFile } : undefined,
    limits: {
      headerTimeoutMs: config['web.read-header-timeout'],
      requestTimeoutMs: config['web.read-timeout'],
      idleTimeoutMs: config['web.idle-timeout'],
      maxRequestsPerSocket: config['web.keep-alive-max-requests'],
      maxConnections: config['web.max-connections'],
      maxConcurrent: config['web.max-concurrent-requests'],
      maxInflightBodyBytes: config['web.max-inflight-body-bytes'],
    },
  });
  const lifetime = new AbortController();
  let ingress: Ingress | undefined;
  let worker: WorkerRole | undefined;
  let pool: pg.Pool | undefined;
  let elector: Elector | undefined;
  /** The elector's Redis connection: handoffs read the replicas' accepted watermarks beside their queues. */
  let electorRedis: Redis | undefined;
  let liveness: SharedLiveness | undefined;

  // One migration per process, shared by the elector and the worker.
  let schemaReady: Promise<void> | undefined;
  let schemaDone = false;
  const ensureSchema = (): Promise<void> => {
    schemaReady ??= (async () => {
      const p = createPool({ connectionString: config.pgConnectionString, max: 1, applicationName: `promfleet ${role} migrate` }, log);
      try {
        await migrateUntilDone(p, config, log, lifetime.signal);
        schemaDone = true;
      } finally {
        await p.end();
      }
    })();
    return schemaReady;
  };
  // Not ready until the first migration ran (once; a later database outage never makes an
  // ingress unready: it keeps accepting into the queue).
  server.readiness('schema', async () => (schemaDone ? undefined : 'schema migrations not applied yet'));

  let readPool: pg.Pool | undefined;
  if (role === 'ingress' || role === 'all') {
    readPool = createPool({ connectionString: config.pgConnectionString, max: config['pg.max-open-conns'], applicationName: `promfleet ${role} reader` }, log);
    registerRead({
      server,
      reader: new SampleReader({ pool: readPool, schema: config['pg.schema'] }),
      ignoreLabels: [config['ha.replica-label']],
      maxBodyBytes: config['web.max-body-bytes'],
      maxDecompressedBytes: config['web.max-decompressed-bytes'],
      decodeLimits: { maxQueries: config['web.read-max-queries'], maxMatchers: config['web.read-max-matchers'] },
      maxSeries: config['web.read-series-limit'],
      maxSamples: config['web.read-sample-limit'],
      clusterLabel: config['ha.cluster-label'],
      log: log.child({ component: 'read' }),
    });
  }
  if (config['read-only']) {
    // Reads only (e.g. against a read replica): no queue, no election, no migration.
    schemaDone = true;
    const refuse = async (): Promise<void> => {
      throw new PromfleetError('METHOD_NOT_ALLOWED', 'this process is --read-only; send writes to a writing ingress');
    };
    server.route('POST', '/write', refuse, 'write');
    server.route('POST', '/api/v1/write', refuse, 'write');
  } else if (role === 'ingress' || role === 'all') {
    electorRedis = producerConnection(config['redis.url']);
    electorRedis.on('error', (err: Error) => log.debug({ err: err.message }, 'redis elector connection error'));
    // The lock elector sees a replica alive while it writes through any ingress process.
    const l = config['leader-election.rest'] ? undefined : SharedLiveness.open({
      redisUrl: config['redis.url'], prefix: config['queue.prefix'],
      timeoutMs: config['leader-election.pg-advisory-lock.prometheus-timeout'], log: log.child({ component: 'liveness' }),
    });
    liveness = l;
    const e = createElector(role, config, log, metrics, ensureSchema, new QueueTimeIndex(electorRedis, config['queue.prefix']), l);
    elector = e;
    registerElectionAdmin({
      server,
      elector: e,
      token: config['leader-election.rest-token'],
      listenHost: addr.host,
      authFile: authFile !== undefined,
      log: log.child({ component: 'election' }),
    });
    ingress = createIngress({
      observe: (id) => {
        if (id.group === undefined || id.replica === undefined) return;
        e.observe(id.group, id.replica);
        l?.record(id.group, id.replica);
      },
      server,
      redisUrl: config['redis.url'],
      queuePrefix: config['queue.prefix'],
      maxBacklogSamples: config['queue.max-backlog-samples'],
      coalesce: {
        maxParts: config['queue.job-max-batches'],
        maxSamples: config['queue.job-max-samples'],
        maxBytes: config['queue.job-max-bytes'],
        waitMs: config['queue.job-wait'],
      },
      groupRate: { perSecond: config['web.rate-limit.group'], status: config['web.rate-limit.status'] },
      limits: {
        maxBodyBytes: config['web.max-body-bytes'],
        maxDecompressedBytes: config['web.max-decompressed-bytes'],
        maxSampleAgeMs: config['web.max-sample-age'],
        maxFutureMs: config['web.max-future'],
        decode: {
          maxSeriesPerRequest: config['web.max-series-per-request'],
          maxSamplesPerRequest: config['web.max-samples-per-request'],
          maxSamplesPerSeries: config['web.max-samples-per-series'],
          maxLabelsPerSeries: config['web.max-labels-per-series'],
          maxLabelNameBytes: config['web.max-label-name-length'],
          maxLabelValueBytes: config['web.max-label-value-length'],
        },
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
    const p = createPool({ connectionString: config.pgConnectionString, max: config['pg.max-open-conns'], applicationName: `promfleet ${role}` }, log);
    pool = p;
    worker = createWorker({
      server,
      pool: p,
      schema: config['pg.schema'],
      redisUrl: config['redis.url'],
      queuePrefix: config['queue.prefix'],
      concurrency: config['worker.concurrency'],
      batchMaxSamples: config['worker.batch-max-samples'],
      batchWaitMs: config['worker.batch-wait'],
      lockDurationMs: config['worker.lock-duration'],
      maxTransactions: config['worker.max-transactions'],
      queuePollIntervalMs: config['worker.queue-poll-interval'],
      maxDecompressedBytes: config['web.max-decompressed-bytes'],
      partitionIntervalMs: config['storage.partition-interval'],
      partitionsAhead: config['storage.partitions-ahead'],
      followerMarginMs: config['ha.follower-margin'],
      markLookbackMs: config['ha.mark-lookback'],
      maxClockSkewMs: config['ha.max-clock-skew'],
      ledgerRetentionMs: config['ledger.retention'],
      retentionMs: config['storage.retention'],
      migrate: ensureSchema,
      pauseBeforeFence: seams.pauseBeforeFence,
      seams: { afterCopy: seams.afterCopy, afterCommit: seams.afterCommit },
      log: log.child({ component: 'worker' }),
      metrics,
    });
  }

  let started: Promise<void> | undefined;
  let stopped: Promise<void> | undefined;
  return {
    server,
    metrics,
    reload() {
      credentials?.reload();
      server.reloadTls();
    },
    start() {
      started ??= (async () => {
        credentials?.start();
        await server.start();
        await ingress?.start();
        await electorRedis?.connect().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'redis not reachable at start; handoffs wait for it'));
        await liveness?.start();
        await elector?.start();
        void worker?.start().catch((err: unknown) => {
          if (!lifetime.signal.aborted) log.error({ err }, 'worker failed to start');
        });
      })();
      return started;
    },
    stop() {
      stopped ??= (async () => {
        server.beginClosing();
        lifetime.abort();
        const deadline = AbortSignal.timeout(config['shutdown.timeout']);
        await Promise.all([ingress?.drain(deadline), worker?.drain(deadline)]);
        await worker?.stop();
        await ingress?.stop();
        await elector?.stop();
        await liveness?.stop();
        electorRedis?.disconnect();
        const closed = server.stop();
        const lingering = await Promise.race([closed.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), 1000))]);
        if (lingering) server.closeAllConnections();
        await closed;
        await pool?.end();
        await readPool?.end();
        credentials?.stop();
        log.info('stopped');
      })();
      return stopped;
    },
  };
}

import { setTimeout as delay } from 'node:timers/promises';
import type pg from 'pg';
import type { Config, Role } from './config/index.js';
import type { HttpServer } from './http/server.js';
import { createIngress, type Ingress } from './ingress/index.js';
import { prometheusMatching, registerRead } from './read/index.js';
import { registerElectionAdmin } from './election/index.js';
import type { Logger } from './observability/log.js';
import { Metrics } from './observability/metrics.js';
import { createPool, SampleReader } from './storage/index.js';
import { PromfleetError } from './errors.js';
import { createWorker, type WorkerRole } from './worker/index.js';
import { createElection, createListener, schemaGate, type Election } from './wiring/index.js';

export { migrateOptions } from './wiring/index.js';

export type ServiceRole = Exclude<Role, 'migrate' | 'dead-letters'>;

export interface App {
  readonly server: HttpServer;
  readonly metrics: Metrics;
  start(): Promise<void>;
  /** Re-reads the auth file, the web config file and the TLS certificate (SIGHUP); what fails to load keeps the previous. */
  reload(): void;
  /** Stop accepting, drain up to --shutdown.timeout, then cut; parts stop in reverse order. Idempotent. */
  stop(): Promise<void>;
}

export interface AppSeams {
  /** Awaited inside an HA batch's transaction just before the fence (tests move leadership here). */
  readonly pauseBeforeFence?: (batch: { group: string; replica: string }) => Promise<void>;
  /** Awaited inside a write transaction after COPY, before COMMIT. */
  readonly afterCopy?: (queue: string) => Promise<void>;
  /** Awaited after COMMIT, before the queue hears the batches are done. */
  readonly afterCommit?: (queue: string) => Promise<void>;
}

/** Wires one process: the HTTP listener, and the ingress and/or worker role, each with its slice of the config. */
export function createApp(role: ServiceRole, config: Config, log: Logger, seams: AppSeams = {}): App {
  const { storage } = config;
  const metrics = new Metrics();
  const { server, credentials, webConfig, guarded } = createListener(config, log, metrics);
  const lifetime = new AbortController();
  const pool = (name: string, metricName: string): pg.Pool => {
    const p = createPool({ connectionString: storage.connectionString, max: storage.maxOpenConns, applicationName: `promfleet ${name}` }, log);
    metrics.watchPool(metricName, p);
    return p;
  };
  const schema = schemaGate(storage, `promfleet ${role} migrate`, log, lifetime.signal);
  // Not ready until the first migration ran (once; a later database outage never makes an
  // ingress unready: it keeps accepting into the queue).
  server.readiness('schema', async () => (schema.done ? undefined : 'schema migrations not applied yet'));

  const serves = role === 'ingress' || role === 'all';
  const readPool = serves ? pool(`${role} reader`, 'read') : undefined;
  if (readPool) registerRead({ ...config.read, server, reader: new SampleReader({ pool: readPool, schema: storage.schema, matching: prometheusMatching(config.read.regex) }), log: log.child({ component: 'read' }), metrics });
  let ingress: Ingress | undefined;
  let election: Election | undefined;
  if (config.ingress.readOnly) {
    // Reads only (e.g. against a read replica): no queue, no election, no migration.
    schema.markDone();
    const refuse = (): Promise<void> => Promise.reject(new PromfleetError('METHOD_NOT_ALLOWED', 'this process is --read-only; send writes to a writing ingress'));
    server.route('POST', '/write', refuse, 'write');
    server.route('POST', '/api/v1/write', refuse, 'write');
  } else if (serves) {
    const e = (election = createElection(config, `promfleet ${role} elector pid ${process.pid}`, log, metrics, () => schema.ensure()));
    registerElectionAdmin({
      server, elector: e.elector, token: config.election.restToken, listenHost: config.http.host,
      authFile: guarded, log: log.child({ component: 'election' }),
    });
    ingress = createIngress({ ...config.queue, ...config.ingress, pgUrl: storage.connectionString, server, observe: (id) => e.observe(id), log: log.child({ component: 'ingress' }), metrics });
  }
  const workerPool = role === 'worker' || role === 'all' ? pool(role, 'worker') : undefined;
  const worker: WorkerRole | undefined = workerPool && createWorker({
    ...config.queue, ...config.worker, pgUrl: storage.connectionString, server, pool: workerPool, schema: storage.schema, migrate: () => schema.ensure(),
    pauseBeforeFence: seams.pauseBeforeFence, seams: { afterCopy: seams.afterCopy, afterCommit: seams.afterCommit },
    log: log.child({ component: 'worker' }), metrics,
  });

  let started: Promise<void> | undefined;
  let stopped: Promise<void> | undefined;
  return {
    server,
    metrics,
    reload() {
      credentials?.reload();
      webConfig?.reload();
      server.reloadTls();
    },
    start() {
      started ??= (async () => {
        credentials?.start();
        await server.start();
        await ingress?.start();
        await election?.start();
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
        const deadline = AbortSignal.timeout(config.shutdown.timeoutMs);
        await Promise.all([ingress?.drain(deadline), worker?.drain(deadline)]);
        await worker?.stop();
        await ingress?.stop();
        await election?.stop();
        const closed = server.stop();
        const lingering = await Promise.race([closed.then(() => false), delay(1000, true)]);
        if (lingering) server.closeAllConnections();
        await closed;
        await workerPool?.end();
        await readPool?.end();
        credentials?.stop();
        log.info('stopped');
      })();
      return stopped;
    },
  };
}

import type { Config } from '../config/index.js';
import { LockElector, RestElector, type Elector } from '../election/index.js';
import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';
import { openQueueBackend, SharedLiveness, type QueueIdentity, type QueueStoreOptions } from '../queue/index.js';
import type { CutSource } from '../storage/index.js';
import { ReadyJobsPublisher } from './ready-jobs.js';

/** The elector of a writing ingress, with what it reads beside the queues. */
export interface Election {
  readonly elector: Elector;
  /** A batch arrived: its replica is alive (here and, for the lock elector, in the shared store). */
  observe(id: QueueIdentity): void;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The lock elector, or the REST one with --leader-election.rest. Its own queue-store connection reads
 * the replicas' accepted watermarks beside their queues (a handoff cuts there); the lock elector
 * sees a replica alive while it writes through any ingress process (shared liveness). The same
 * connection keeps the ready-jobs set KEDA reads (ReadyJobsPublisher).
 */
export function createElection(config: Config, applicationName: string, log: Logger, metrics: Metrics, ready: () => Promise<void>): Election {
  const { election, queue } = config;
  const store = queueStore(config);
  const backend = openQueueBackend(store, 'producer', log.child({ component: 'election' }));
  const index = backend.index;
  const common = {
    cuts: (group: string): CutSource => index.cuts(group, election.maxClockSkewMs),
    ready,
    connectionString: config.storage.connectionString,
    schema: config.storage.schema,
    applicationName,
    log: log.child({ component: 'election' }),
    metrics,
  };
  const liveness = election.rest ? undefined : livenessOn(store, election.timeoutMs, log.child({ component: 'liveness' }));
  const elector: Elector = liveness === undefined
    ? new RestElector({ ...common, identity: election.identity })
    : new LockElector({ ...common, intervalMs: election.intervalMs, timeoutMs: election.timeoutMs, liveness });
  // The set KEDA scales workers on: kept here, where the leaders are known, so it is right
  // while no worker runs.
  const readyJobs = new ReadyJobsPublisher({
    ready: backend.readyJobs(queue.readyJobs.max),
    registry: backend.registry,
    leaders: () => elector.leaders(),
    intervalMs: queue.readyJobs.intervalMs,
    log: log.child({ component: 'ready-jobs' }),
  });
  return {
    elector,
    observe(id) {
      if (id.group === undefined || id.replica === undefined) return;
      elector.observe(id.group, id.replica);
      liveness?.record(id.group, id.replica);
    },
    async start() {
      await backend.connect().catch((err: unknown) => log.warn({ err }, 'queue store not reachable at start; handoffs wait for it'));
      await liveness?.start();
      await elector.start();
      readyJobs.start();
    },
    async stop() {
      await readyJobs.stop();
      await elector.stop();
      await liveness?.stop();
      await backend.close();
    },
  };
}

/** Shared liveness on a connection of its own, failing fast like the producer's. */
function livenessOn(store: QueueStoreOptions, timeoutMs: number, log: Logger): SharedLiveness {
  return SharedLiveness.open({ backend: openQueueBackend(store, 'producer', log), timeoutMs, log });
}

/** Where this deployment's queues live (on the postgres backend, in the storage database). */
export function queueStore(config: Config): QueueStoreOptions {
  return { backend: config.queue.backend, redisUrl: config.queue.redisUrl, pgUrl: config.storage.connectionString, prefix: config.queue.queuePrefix };
}

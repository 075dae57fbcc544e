import type { Config } from '../config/index.js';
import { LockElector, RestElector, type Elector } from '../election/index.js';
import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';
import { RedisQueueBackend, SharedLiveness, type QueueIdentity } from '../queue/index.js';
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
 * The lock elector, or the REST one with --leader-election.rest. Its own Redis connection reads
 * the replicas' accepted watermarks beside their queues (a handoff cuts there); the lock elector
 * sees a replica alive while it writes through any ingress process (shared liveness). The same
 * connection keeps the ready-jobs set KEDA reads (ReadyJobsPublisher).
 */
export function createElection(config: Config, applicationName: string, log: Logger, metrics: Metrics, ready: () => Promise<void>): Election {
  const { election, queue } = config;
  const backend = RedisQueueBackend.forProducer(queue.redisUrl, queue.queuePrefix, log.child({ component: 'election' }));
  backend.redis.on('error', (err: Error) => log.debug({ err }, 'redis elector connection error'));
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
  const liveness = election.rest ? undefined : livenessOn(queue.redisUrl, queue.queuePrefix, election.timeoutMs, log.child({ component: 'liveness' }));
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
      await backend.connect().catch((err: unknown) => log.warn({ err }, 'redis not reachable at start; handoffs wait for it'));
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

/** Shared liveness on a Redis connection of its own, failing fast like the producer's. */
function livenessOn(redisUrl: string, prefix: string, timeoutMs: number, log: Logger): SharedLiveness {
  const backend = RedisQueueBackend.forProducer(redisUrl, prefix, log);
  backend.redis.on('error', (err: Error) => log.debug({ err }, 'redis liveness connection error'));
  return SharedLiveness.open({ backend, timeoutMs, log });
}

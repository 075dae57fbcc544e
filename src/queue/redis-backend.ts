import { randomBytes } from 'node:crypto';
import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../observability/log.js';
import type { BullBinding, QueueBackend, QueueDepth, QueueLease, ReadyJobsStore, WorkerTuning } from './backend.js';
import { RedisBacklogCounters } from './backlog.js';
import { RedisLivenessStore } from './liveness.js';
import { openQueue } from './open.js';
import { ReadyJobs } from './ready-jobs.js';
import { QueueRegistry } from './registry.js';
import { producerConnection, workerConnection } from './redis.js';
import { QueueTimeIndex } from './time-index.js';

/**
 * The queue on Redis: BullMQ's keys under the prefix, promfleet's beside them. One connection
 * (a producer's fails fast, a worker's waits out restarts); each BullMQ worker gets a duplicate
 * of its own, closed with it.
 */
export class RedisQueueBackend implements QueueBackend {
  readonly kind = 'redis';
  readonly bull: BullBinding;
  readonly registry: QueueRegistry;
  readonly backlog: RedisBacklogCounters;
  readonly index: QueueTimeIndex;
  readonly lease: QueueLease;
  readonly liveness: RedisLivenessStore;

  constructor(readonly redis: Redis, readonly prefix: string, private readonly log: Logger) {
    this.registry = new QueueRegistry(redis, prefix);
    this.liveness = new RedisLivenessStore(redis, prefix);
    this.backlog = new RedisBacklogCounters(redis, prefix);
    this.index = new QueueTimeIndex(redis, prefix);
    this.bull = {
      queue: (name) => openQueue(name, redis, prefix, log),
      worker: (name, processor, tuning) => this.worker(name, processor, tuning),
    };
    this.lease = {
      acquire: async (queue, ttlMs) => {
        const token = randomBytes(8).toString('hex');
        return (await redis.set(this.leaseKey(queue), token, 'PX', ttlMs, 'NX')) === 'OK' ? token : undefined;
      },
      release: async (queue, token) => {
        if ((await redis.get(this.leaseKey(queue))) === token) await redis.del(this.leaseKey(queue));
      },
    };
  }

  /** A producer's backend: its connection fails fast (see redis.ts). */
  static forProducer(url: string, prefix: string, log: Logger): RedisQueueBackend {
    return new RedisQueueBackend(producerConnection(url), prefix, log);
  }

  /** A worker's backend: its connection waits out Redis restarts (see redis.ts). */
  static forWorker(url: string, prefix: string, log: Logger): RedisQueueBackend {
    return new RedisQueueBackend(workerConnection(url), prefix, log);
  }

  private leaseKey(queue: string): string {
    return `${this.prefix}:${queue}:replay-lease`;
  }

  private worker(name: string, processor: (job: Job, token?: string, signal?: AbortSignal) => Promise<void>, tuning: WorkerTuning): Worker {
    // BullMQ does not close a connection it was handed: the worker's own is closed with it.
    const connection = this.redis.duplicate();
    const worker = new Worker(name, processor, {
      connection,
      prefix: this.prefix,
      concurrency: tuning.concurrency,
      autorun: true,
      skipVersionCheck: true,
      lockDuration: tuning.lockDurationMs,
      maxStalledCount: tuning.maxStalledCount,
    });
    worker.on('closed', () => connection.disconnect());
    return worker;
  }

  readyJobs(max: number): ReadyJobsStore {
    return new ReadyJobs(this.redis, this.prefix, max);
  }

  /** BullMQ keeps wait and active as lists, delayed, prioritized and failed as sorted sets. */
  async depth(queue: string): Promise<QueueDepth> {
    const key = (s: string) => `${this.prefix}:${queue}:${s}`;
    const [wait, active, delayed, prioritized, failed] = await Promise.all([
      this.redis.llen(key('wait')), this.redis.llen(key('active')), this.redis.zcard(key('delayed')),
      this.redis.zcard(key('prioritized')), this.redis.zcard(key('failed')),
    ]);
    return { wait, active, delayed, prioritized, failed };
  }

  async ping(): Promise<boolean> {
    return (await this.redis.ping()) === 'PONG';
  }

  /** A Redis that may evict keys can drop acknowledged batches: say so loudly. */
  async check(): Promise<void> {
    try {
      const reply = (await this.redis.config('GET', 'maxmemory-policy')) as unknown;
      const policy = Array.isArray(reply) ? String(reply[1]) : undefined;
      if (policy !== undefined && policy !== 'noeviction') {
        this.log.warn({ maxmemoryPolicy: policy }, 'Redis may evict keys (maxmemory-policy is not noeviction): queued batches can be lost; see infra/redis.conf');
      }
    } catch (err) {
      // Managed Redis services often forbid CONFIG; nothing to check then.
      this.log.debug({ err }, 'cannot read Redis maxmemory-policy');
    }
  }

  async connect(): Promise<void> {
    await this.redis.connect();
  }

  close(): Promise<void> {
    this.redis.disconnect();
    return Promise.resolve();
  }
}

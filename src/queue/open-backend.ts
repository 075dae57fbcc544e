import type { Logger } from '../observability/log.js';
import type { QueueBackend } from './backend.js';
import { PostgresQueueBackend } from './pg/backend.js';
import { RedisQueueBackend } from './redis-backend.js';

/** Where a process finds the queues. */
export interface QueueStoreOptions {
  /** Default redis. */
  readonly backend?: 'redis' | 'postgres';
  readonly redisUrl: string;
  /** The storage database (the queue's home on the postgres backend). */
  readonly pgUrl?: string;
  readonly prefix: string;
}

/**
 * A backend for one part of a process. A producer's fails fast (a write must learn within a
 * second or two that the store is away, to answer 503); a worker's waits out restarts.
 */
export function openQueueBackend(o: QueueStoreOptions, role: 'producer' | 'worker', log: Logger): QueueBackend {
  if (o.backend === 'postgres') {
    if (o.pgUrl === undefined) throw new Error('the postgres queue backend needs the storage database URL');
    return new PostgresQueueBackend({ connectionString: o.pgUrl, prefix: o.prefix, connectTimeoutMs: role === 'producer' ? 2000 : 5000, maxConnections: role === 'producer' ? 2 : 3, log });
  }
  const backend = role === 'producer' ? RedisQueueBackend.forProducer(o.redisUrl, o.prefix, log) : RedisQueueBackend.forWorker(o.redisUrl, o.prefix, log);
  // ioredis reports every failed reconnect here; callers turn failures into 503s or retries.
  backend.redis.on('error', (err: Error) => log.debug({ err }, `redis ${role} connection error`));
  return backend;
}

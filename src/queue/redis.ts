import { Redis, type RedisOptions } from 'ioredis';

/**
 * Producer connections fail fast: a write request must learn within a second or so that Redis
 * is away, so that it can answer 503 and Prometheus keeps the data in its WAL.
 */
export function producerConnection(url: string): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 2000,
    lazyConnect: true,
    retryStrategy: (times) => Math.min(100 * 2 ** times, 2000),
  } satisfies RedisOptions);
}

/** Worker connections wait out Redis restarts (BullMQ requires maxRetriesPerRequest null). */
export function workerConnection(url: string): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: null,
    connectTimeout: 5000,
    lazyConnect: true,
    retryStrategy: (times) => Math.min(100 * 2 ** times, 5000),
  } satisfies RedisOptions);
}

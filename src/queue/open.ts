import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../observability/log.js';

/** A BullMQ handle on one write queue over a shared connection; its errors go to the log (the callers handle failures per call). */
export function openQueue(name: string, redis: Redis, prefix: string, log: Logger): Queue {
  const q = new Queue(name, { connection: redis, prefix, skipVersionCheck: true });
  q.on('error', (err: Error) => log.debug({ err, queue: name }, 'queue error'));
  return q;
}

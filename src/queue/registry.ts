import type { Redis } from 'ioredis';
import type { QueueRegistryStore } from './backend.js';

/**
 * The set of write queues that exist, so workers can find new (group, replica) queues without
 * scanning Redis keys. Ingress adds a name once per process; the set only grows.
 */
export class QueueRegistry implements QueueRegistryStore {
  private readonly known = new Set<string>();
  private readonly key: string;

  constructor(private readonly redis: Redis, prefix: string) {
    this.key = `${prefix}:{queues}`;
  }

  async register(name: string): Promise<void> {
    if (this.known.has(name)) return;
    await this.redis.sadd(this.key, name);
    this.known.add(name);
  }

  async list(): Promise<string[]> {
    return (await this.redis.smembers(this.key)).sort();
  }
}

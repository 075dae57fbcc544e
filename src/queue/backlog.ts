import type { Redis } from 'ioredis';
import type { BacklogStore, QueueRegistryStore } from './backend.js';
import { parseQueueName } from './names.js';

/**
 * Samples waiting per queue, counted beside the queue in Redis (same hash slot): ingress adds
 * what it enqueued, workers subtract what they wrote, dead-lettered or dropped. A crash between
 * a queue operation and its count makes the count drift, so a consumer that finds a queue empty
 * resets it to zero.
 */
export class RedisBacklogCounters implements BacklogStore {
  constructor(private readonly redis: Redis, private readonly prefix: string) {}

  private key(queue: string): string {
    return `${this.prefix}:${queue}:backlog-samples`;
  }

  async add(queue: string, samples: number): Promise<void> {
    if (samples > 0) await this.redis.incrby(this.key(queue), samples);
  }

  async remove(queue: string, samples: number): Promise<void> {
    if (samples <= 0) return;
    const left = await this.redis.decrby(this.key(queue), samples);
    if (left < 0) await this.redis.set(this.key(queue), '0');
  }

  async reset(queue: string): Promise<void> {
    await this.redis.set(this.key(queue), '0');
  }

  async total(queues: readonly string[]): Promise<number> {
    if (queues.length === 0) return 0;
    let sum = 0;
    // One key per call: queues of one group live in different hash slots on a Redis Cluster.
    for (const q of queues) sum += Number((await this.redis.get(this.key(q))) ?? 0);
    return sum;
  }
}

/** The backlog counters of a store, with subtractions gathered per turn of the event loop. */
export class Backlog implements BacklogStore {
  /** Samples written off but not yet subtracted in the store, per queue (see removeLater). */
  private readonly owed = new Map<string, number>();
  private scheduled = false;

  constructor(private readonly store: BacklogStore) {}

  /**
   * Subtracts without making the caller wait: what a worker writes off in one turn of the event
   * loop goes to the store as one subtraction per queue, not one round trip per batch. Errors
   * are dropped (the count drifts, and is reset when the queue is found empty).
   */
  removeLater(queue: string, samples: number): void {
    if (samples <= 0) return;
    this.owed.set(queue, (this.owed.get(queue) ?? 0) + samples);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => void this.settle());
  }

  /** Sends what removeLater has gathered (call before closing the connection). */
  async settle(): Promise<void> {
    this.scheduled = false;
    const owed = [...this.owed];
    this.owed.clear();
    await Promise.all(owed.map(([queue, samples]) => this.remove(queue, samples).catch(() => undefined)));
  }

  add(queue: string, samples: number): Promise<void> {
    return this.store.add(queue, samples);
  }

  remove(queue: string, samples: number): Promise<void> {
    return this.store.remove(queue, samples);
  }

  reset(queue: string): Promise<void> {
    return this.store.reset(queue);
  }

  total(queues: readonly string[]): Promise<number> {
    return this.store.total(queues);
  }
}

/**
 * The per-group bound behind 503 QUEUE_FULL. The group's total is re-read at most every
 * refreshMs, so the check costs no Redis round trip on most requests; being a little late is
 * fine for a bound meant to protect Redis memory during a long database outage.
 */
export class BacklogGate {
  private readonly cache = new Map<string, { total: number; at: number }>();

  constructor(
    private readonly backlog: BacklogStore,
    private readonly registry: QueueRegistryStore,
    private readonly maxSamples: number,
    private readonly now: () => number,
    private readonly refreshMs = 250,
  ) {}

  /** The group's backlog in samples if admitting `samples` more would pass the bound; undefined when admitted. */
  async over(group: string | undefined, samples: number): Promise<number | undefined> {
    if (this.maxSamples <= 0) return undefined;
    const key = group ?? '';
    const now = this.now();
    let entry = this.cache.get(key);
    if (!entry || now - entry.at > this.refreshMs) {
      entry = { total: await this.backlog.total(await this.queuesOf(group)), at: now };
      this.cache.set(key, entry);
    }
    if (entry.total + samples <= this.maxSamples) {
      entry.total += samples;
      return undefined;
    }
    return entry.total;
  }

  private async queuesOf(group: string | undefined): Promise<string[]> {
    return (await this.registry.list()).filter((name) => {
      const id = parseQueueName(name);
      return id !== undefined && id.group === group;
    });
  }
}

import type { Job, Queue } from 'bullmq';
import type { QueueBackend } from './backend.js';
import { isQueuedJob, partCount } from './batch.js';

export interface DeadLetter {
  readonly queue: string;
  readonly id: string;
  readonly reason: string;
  readonly failedAt: string | undefined;
  readonly samples: number;
  /** Batches in the job (several when the ingress gathered concurrent requests into one job). */
  readonly batches: number;
  readonly attempts: number;
}

/**
 * The dead-letter queue is each write queue's failed set: batches the database refused for
 * their content (or that failed every attempt). An operator lists them, retries them once the
 * cause is fixed (they go back to their queue; the ledger still guarantees at most one write),
 * or drops them. Only BullMQ's API is used, so they work on any queue backend.
 */
export class DeadLetters {
  constructor(private readonly backend: Pick<QueueBackend, 'registry' | 'bull'>) {}

  private async each<T>(fn: (queue: Queue, name: string) => Promise<T[]>): Promise<T[]> {
    const out: T[] = [];
    for (const name of await this.backend.registry.list()) {
      const q = this.backend.bull.queue(name);
      try {
        out.push(...(await fn(q, name)));
      } finally {
        await q.close();
      }
    }
    return out;
  }

  private static failed(q: Queue): Promise<Job[]> {
    return q.getJobs(['failed'], 0, -1, true);
  }

  async list(): Promise<DeadLetter[]> {
    return this.each(async (q, name) => (await DeadLetters.failed(q)).map((job) => ({
      queue: name,
      id: job.id ?? '',
      reason: job.failedReason,
      failedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : undefined,
      samples: isQueuedJob(job.data) ? job.data.n : 0,
      batches: isQueuedJob(job.data) ? partCount(job.data) : 0,
      attempts: job.attemptsMade,
    })));
  }

  /** Moves the named dead letters (all when ids is empty) back to their queues; returns how many. */
  async retry(ids: readonly string[]): Promise<number> {
    const moved = await this.each(async (q) => {
      const done: string[] = [];
      for (const job of await DeadLetters.failed(q)) {
        if (ids.length > 0 && !ids.includes(job.id ?? '')) continue;
        await job.retry('failed');
        done.push(job.id ?? '');
      }
      return done;
    });
    return moved.length;
  }

  /** Deletes the named dead letters (all when ids is empty); returns how many. */
  async drop(ids: readonly string[]): Promise<number> {
    const dropped = await this.each(async (q) => {
      const done: string[] = [];
      for (const job of await DeadLetters.failed(q)) {
        if (ids.length > 0 && !ids.includes(job.id ?? '')) continue;
        await job.remove();
        done.push(job.id ?? '');
      }
      return done;
    });
    return dropped.length;
  }
}

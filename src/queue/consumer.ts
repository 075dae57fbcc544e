import { UnrecoverableError, Worker, type Job, type Queue } from 'bullmq';
import type { Logger } from '../observability/log.js';
import { sleep } from '../lib/sleep.js';
import { isEmpty, type QueueBackend, type TimeIndexStore } from './backend.js';
import { Backlog } from './backlog.js';
import { parseQueueName, type QueueIdentity } from './names.js';
import { isQueuedJob, jobBatches, narrowJob, type QueuedBatch, type QueuedJob } from './batch.js';
import { openQueueBackend, type QueueStoreOptions } from './open-backend.js';

/** One job as the handler takes it: its id, its queue, the batches it holds (one or more) and their data times. */
export interface QueuedWork {
  readonly id: string;
  readonly queue: string;
  readonly batches: readonly QueuedBatch[];
  /** Samples and histograms over the batches, and the oldest and newest sample time (0 and 0 when none). */
  readonly n: number;
  readonly t0: number;
  readonly t1: number;
}

/** What became of a job whose batches were handled without error. */
export interface HandleResult {
  /**
   * Set when the job still holds samples after this time whose owner is not decided yet (an HA
   * follower's): what was decided is written, and the job stays in its queue for the rest.
   */
  readonly retainedAfterMs?: number;
}

export function queuedWork(id: string, queue: string, job: QueuedJob): QueuedWork {
  return { id, queue, batches: jobBatches(id, job), n: job.n, t0: job.t0, t1: job.t1 };
}

/** What the consumer asks of whoever writes the batches of a job. */
export interface BatchHandler {
  /**
   * Resolves when every batch of the job is durable; rejects with a TransientError to put the
   * job back, with a PermanentError to move it to the dead-letter set.
   */
  handle(job: QueuedWork, signal: AbortSignal): Promise<HandleResult>;
}

/** Thrown by a handler when the batch must wait (database away): it goes back to its queue. */
export class TransientError extends Error {
  constructor(message: string, readonly retryAfterMs: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransientError';
  }
}

/** Thrown by a handler when the batch can never be written: it goes to the dead-letter (failed) set. */
export class PermanentError extends Error {
  override name = 'PermanentError';

  /** refused: in a job of several batches, the ids of those at fault (the job keeps only them). */
  constructor(message: string, readonly refused?: readonly string[]) {
    super(message);
  }
}

export interface ConsumerOptions extends QueueStoreOptions {
  readonly concurrency: number;
  /** BullMQ lockDuration (ms): a job whose worker stops renewing it is taken again after this long. Default 30000. */
  readonly lockDurationMs?: number;
  readonly pollIntervalMs: number;
  readonly log: Logger;
  readonly handler: BatchHandler;
  /** Which queues to consume (election gates followers' queues); all when absent. */
  readonly shouldConsume?: (queue: string, identity: QueueIdentity) => boolean;
  /** Called after each queue scan with the job counts per queue, for metrics. */
  readonly onDepth?: (queue: string, counts: Record<string, number>) => void;
  /** Called at the start of every scan with the write queues there are (the worker refreshes its view of the leaders here). */
  readonly beforeScan?: (queues: readonly string[]) => Promise<void>;
  /** Called in every scan for each HA queue that is not consumed (a follower's, or one whose owner waits). */
  readonly idle?: (queue: Queue, identity: QueueIdentity) => Promise<void>;
}

/**
 * Follows the registry of write queues and runs one BullMQ worker per consumed queue.
 * A job that hits a transient error is put back with the queue rate-limited for a while, which
 * consumes no attempt: a database outage never moves batches to the failed set.
 */
export class Consumer {
  /** The store the queues live in (the worker's other look-ups beside the queues go through it too). */
  readonly backend: QueueBackend;
  private readonly backlog: Backlog;
  readonly index: TimeIndexStore;
  private readonly workers = new Map<string, Worker>();
  private readonly idle = new Map<string, Queue>();
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(private readonly opts: ConsumerOptions) {
    this.backend = openQueueBackend(opts, 'worker', opts.log);
    this.backlog = new Backlog(this.backend.backlog);
    this.index = this.backend.index;
  }

  start(): Promise<void> {
    if (this.stopping) return Promise.resolve();
    this.loop ??= this.backend.connect().then(() => {
      void this.run(this.abort.signal);
    });
    return this.loop;
  }

  get queues(): string[] {
    return [...this.workers.keys()];
  }

  private async run(signal: AbortSignal): Promise<void> {
    let failingSince: number | undefined;
    while (!signal.aborted) {
      try {
        await this.scan();
        if (failingSince !== undefined) this.opts.log.info({ failedForMs: Date.now() - failingSince }, 'queue scan works again');
        failingSince = undefined;
      } catch (err) {
        // Once when it starts failing, then at debug: a database outage must not flood the log.
        if (failingSince === undefined) this.opts.log.warn({ err }, 'queue scan failed; retrying');
        else this.opts.log.debug({ err }, 'queue scan still failing');
        failingSince ??= Date.now();
      }
      await sleep(this.opts.pollIntervalMs, signal);
    }
  }

  /** One pass: open workers for new queues, close those no longer consumed, report depths. */
  async scan(): Promise<void> {
    const names = await this.backend.registry.list();
    await this.opts.beforeScan?.(names);
    for (const name of names) {
      const identity = parseQueueName(name);
      if (!identity) continue;
      const wanted = this.opts.shouldConsume?.(name, identity) ?? true;
      const running = this.workers.get(name);
      if (wanted && !running && !this.stopping) this.open(name);
      if (!wanted && running) {
        this.workers.delete(name);
        this.opts.log.info({ queue: name }, 'no longer consuming queue');
        await running.close();
      }
      if (!wanted && this.opts.idle && identity.group !== undefined && identity.replica !== undefined) {
        await this.opts.idle(this.idleQueue(name), identity);
      }
      const reported = this.opts.onDepth !== undefined && this.workers.has(name);
      if (!reported && !running) continue;
      const depth = await this.backend.depth(name);
      if (reported) this.opts.onDepth?.(name, { wait: depth.wait, active: depth.active, delayed: depth.delayed, failed: depth.failed });
      // Nothing waiting or in flight: whatever the backlog count says is drift (crashes between
      // a queue operation and its count); start again from zero.
      if (running && isEmpty(depth)) await this.backlog.reset(name);
    }
  }

  /** A Queue handle on a write queue, for work by job id outside a BullMQ worker. */
  idleQueue(name: string): Queue {
    let q = this.idle.get(name);
    if (!q) {
      q = this.backend.bull.queue(name);
      this.idle.set(name, q);
    }
    return q;
  }

  private open(name: string): void {
    const log = this.opts.log.child({ queue: name });
    const worker: Worker = this.backend.bull.worker(name, async (job: Job, _token?: string, signal?: AbortSignal) => {
      if (!isQueuedJob(job.data) || job.id === undefined) throw new UnrecoverableError('job is not a promfleet batch');
      const jobSignal = signal ?? this.abort.signal;
      try {
        const result = await this.opts.handler.handle(queuedWork(job.id, name, job.data), jobSignal);
        if (result.retainedAfterMs !== undefined) {
          // Leadership moved while the job was taken: what was decided is written; the rest waits.
          await this.index.writtenThrough(name, job.id, result.retainedAfterMs);
          await worker.rateLimit(1000);
          throw Worker.RateLimitError();
        }
        await this.index.unindex(name, [job.id]);
        this.backlog.removeLater(name, job.data.n);
      } catch (err) {
        if (err instanceof Error && err.name === 'RateLimitError') throw err;
        if (err instanceof TransientError) {
          // Put the job back and pause this queue; no attempt is consumed.
          await worker.rateLimit(err.retryAfterMs);
          throw Worker.RateLimitError();
        }
        if (err instanceof PermanentError) {
          log.error({ batch: job.id, err }, 'batch can never be written; its job moved to the dead-letter set');
          this.backlog.removeLater(name, job.data.n);
          await this.index.unindex(name, [job.id]).catch(() => undefined);
          await this.keepRefused(job, err.refused, log);
          throw new UnrecoverableError(err.message);
        }
        throw err;
      }
    }, {
      concurrency: this.opts.concurrency,
      // Stalled-job recovery: a worker killed mid-batch leaves its job active; another worker
      // takes it back after the lock expires, and the ledger makes the second write a no-op.
      lockDurationMs: this.opts.lockDurationMs ?? 30_000,
      maxStalledCount: 1000,
    });
    worker.on('error', (err: Error) => log.warn({ err }, 'worker error'));
    worker.on('failed', (job: Job | undefined, err: Error) => {
      if (err.name !== 'RateLimitError') log.warn({ batch: job?.id, err, attempts: job?.attemptsMade }, 'batch failed');
    });
    this.workers.set(name, worker);
    log.info('consuming queue');
  }

  /**
   * A dead letter of several batches keeps only the refused ones: the others are written, and a
   * retry long after (once the ledger forgot their ids) must not write them twice.
   */
  private async keepRefused(job: Job, refused: readonly string[] | undefined, log: Logger): Promise<void> {
    if (!refused || !isQueuedJob(job.data)) return;
    const narrowed = narrowJob(job.data, new Set(refused));
    if (!narrowed) return;
    try {
      await job.updateData(narrowed);
    } catch (err) {
      log.warn({ batch: job.id, err }, 'dead letter not narrowed to its refused batches; a retry relies on the ledger for the others');
    }
  }

  /** Stops taking jobs; in-flight jobs finish (BullMQ waits for them) unless the signal aborts first. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.abort.abort();
      await Promise.allSettled([...this.workers.values()].map((w) => w.close()));
      await Promise.allSettled([...this.idle.values()].map((q) => q.close()));
      this.workers.clear();
      await this.backlog.settle();
      await this.backend.close();
    })();
    return this.stopping;
  }

  /** Aborts in-flight jobs (they return to their queue as stalled and are taken again). */
  async forceStop(): Promise<void> {
    this.abort.abort();
    await Promise.allSettled([...this.workers.values()].map((w) => w.close(true)));
    await this.backend.close();
  }
}


import type { JobsOptions, Queue } from 'bullmq';
import { PromfleetError } from '../errors.js';
import type { Logger } from '../observability/log.js';
import type { QueueBackend } from './backend.js';
import { openQueueBackend, type QueueStoreOptions } from './open-backend.js';
import { batchId, makeJob, type BatchSummary, type PartInput, type WireFormat } from './batch.js';
import { Coalescer, DEFAULT_COALESCE, type CoalesceBounds } from './coalesce.js';
import { queueName, type QueueIdentity } from './names.js';
import { BacklogGate } from './backlog.js';

export interface ProducerOptions extends QueueStoreOptions {
  readonly log: Logger;
  /** How long one enqueue may take before the request is answered 503 (ms). Default 5000. */
  readonly enqueueTimeoutMs?: number;
  /** Samples a group may have waiting before writes get 503 QUEUE_FULL; 0 for no bound. */
  readonly maxBacklogSamples?: number;
  /**
   * Batches for one queue that arrive while an add to it is in flight travel as one job, within
   * these bounds (see coalesce.ts). Default DEFAULT_COALESCE; maxParts 1: one job per batch.
   */
  readonly coalesce?: CoalesceBounds;
  /**
   * A replica whose samples resume more than this after what it had sent before was quiet (its
   * Prometheus timeout, ms): the accepted watermark from before the silence is kept for the
   * handoff. Default 30 s.
   */
  readonly quietAfterMs?: number;
  /** Told about every job Redis acknowledged: its queue and how many batches it held (for metrics). */
  readonly onJob?: (queue: string, parts: number) => void;
  readonly now?: () => number;
}

export interface OutgoingBatch {
  readonly identity: QueueIdentity;
  /** snappy(prometheus.WriteRequest), or snappy(io.prometheus.write.v2.Request) when format is 2. */
  readonly payload: Uint8Array;
  /** Remote-write version of payload; default 1. */
  readonly format?: WireFormat;
  readonly summary: BatchSummary;
  /** A label the worker removes from every series before writing (the HA replica label). */
  readonly stripLabel?: string;
  /** A label the worker adds, with the batch's group as its value, to every series without it (the HA cluster label). */
  readonly groupLabel?: string;
}

export interface EnqueuedBatch {
  readonly id: string;
  readonly queue: string;
}

/**
 * Jobs leave the queue when written; a job that fails for good stays in BullMQ's failed set,
 * which is promfleet's dead-letter queue. Transient database trouble never consumes an attempt
 * (the worker puts the job back), so attempts only count real faults.
 */
export const JOB_OPTIONS: JobsOptions = {
  removeOnComplete: true,
  removeOnFail: false,
  attempts: 5,
  backoff: { type: 'exponential', delay: 1000 },
};

/** A batch on its way into a job. */
interface Part extends PartInput {
  readonly samples: number;
  readonly bytes: number;
}

/**
 * Puts batches on their (group, replica) queue and resolves only once the store acknowledged them.
 * Batches for one queue that meet while an add to it is in flight share the next job.
 */
export class Producer {
  private readonly backend: QueueBackend;
  private readonly queues = new Map<string, Queue>();
  private readonly coalescers = new Map<string, Coalescer<Part>>();
  private readonly bounds: CoalesceBounds;
  private readonly timeoutMs: number;
  private readonly gate: BacklogGate;
  private started: Promise<void> | undefined;
  private stopped: Promise<void> | undefined;

  constructor(private readonly opts: ProducerOptions) {
    this.backend = openQueueBackend(opts, 'producer', opts.log);
    this.timeoutMs = opts.enqueueTimeoutMs ?? 5000;
    this.bounds = opts.coalesce ?? DEFAULT_COALESCE;
    this.gate = new BacklogGate(this.backend.backlog, this.backend.registry, opts.maxBacklogSamples ?? 0, opts.now ?? Date.now);
  }

  start(): Promise<void> {
    this.started ??= this.backend.connect().then(() => this.backend.check()).catch((err: unknown) => {
      // Not fatal: ingress answers 503 until the store is back and its client reconnects by itself.
      this.opts.log.warn({ err }, 'queue store not reachable at start; writes answer 503 until it is');
    });
    return this.started;
  }

  /** Whether the store answers within a second: readiness, evaluated at every /readyz and scrape, must not hang with it. */
  async ping(): Promise<boolean> {
    try {
      return await this.withTimeout(this.backend.ping(), Math.min(this.timeoutMs, 1000));
    } catch {
      return false;
    }
  }

  async enqueue(batches: readonly OutgoingBatch[], receivedAtMs: number): Promise<EnqueuedBatch[]> {
    if (this.stopped) throw new PromfleetError('SHUTTING_DOWN', 'producer is stopped');
    try {
      return await this.withTimeout((async () => {
        for (const b of batches) {
          const over = await this.gate.over(b.identity.group, b.summary.samples);
          if (over !== undefined) {
            throw new PromfleetError('QUEUE_FULL', `group ${JSON.stringify(b.identity.group ?? '')} has ${over} samples waiting; the bound is ${this.opts.maxBacklogSamples}`);
          }
        }
        return Promise.all(batches.map((b) => this.add(b, receivedAtMs)));
      })());
    } catch (err) {
      if (err instanceof PromfleetError) throw err;
      throw new PromfleetError('QUEUE_UNAVAILABLE', `queue did not acknowledge: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Resolves once the job holding the batch was acknowledged (several batches may share it). */
  private async add(b: OutgoingBatch, receivedAtMs: number): Promise<EnqueuedBatch> {
    const name = queueName(b.identity);
    const id = batchId(name, b.payload);
    await this.coalescer(name, b.identity).add({
      id, payload: b.payload, format: b.format ?? 1, summary: b.summary, stripLabel: b.stripLabel, groupLabel: b.groupLabel, receivedAtMs,
      samples: b.summary.samples, bytes: b.payload.byteLength,
    });
    return { id, queue: name };
  }

  private coalescer(name: string, identity: QueueIdentity): Coalescer<Part> {
    let c = this.coalescers.get(name);
    if (!c) {
      c = new Coalescer<Part>(this.bounds, (parts) => this.addJob(name, identity, parts));
      this.coalescers.set(name, c);
    }
    return c;
  }

  private async addJob(name: string, identity: QueueIdentity, parts: readonly Part[]): Promise<void> {
    await this.backend.registry.register(name);
    const { jobId, data } = makeJob(identity, parts);
    // An HA queue's jobs are indexed by data time (before the add: a crash in between leaves an
    // entry without a job, which readers drop, never a job nobody can find), and the newest
    // accepted time is raised before anyone is answered: a handoff cuts ownership there.
    const ha = identity.group !== undefined && identity.replica !== undefined && data.n > 0;
    if (ha) await this.backend.index.index(name, jobId, data.t0, data.t1);
    await this.queue(name).add('batch', data, { ...JOB_OPTIONS, jobId });
    await Promise.all([ha ? this.backend.index.raiseAccepted(name, data.t0, data.t1, this.opts.quietAfterMs ?? 30_000) : undefined, this.backend.backlog.add(name, data.n)]);
    this.opts.onJob?.(name, parts.length);
  }

  private queue(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = this.backend.bull.queue(name);
      this.queues.set(name, q);
    }
    return q;
  }

  private withTimeout<T>(p: Promise<T>, ms = this.timeoutMs): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new PromfleetError('QUEUE_UNAVAILABLE', `queue did not answer within ${ms} ms`)), ms);
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }

  stop(): Promise<void> {
    this.stopped ??= (async () => {
      // Batches waiting for a job go now; their callers are still waiting for the answer.
      await this.withTimeout(Promise.allSettled([...this.coalescers.values()].map((c) => c.drain()))).catch(() => undefined);
      await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
      await this.backend.close();
    })();
    return this.stopped;
  }
}

import { PermanentError, TransientError, type BatchHandler, type HandleResult, type QueuedWork } from '../queue/index.js';
import { classifyPgError, type BatchOutcome, type BatchWriter, type Leadership, type RawSeriesCaches, type WriteManyResult } from '../storage/index.js';
import { decodeBatch } from './decode-batch.js';
import type { OwnershipView } from './leaders.js';
import { withSeams, type WriteSeams } from './write-test-seams.js';
import { FencedError, planHaWrite, type HaPlan, type SpannedBatch } from './fence.js';
import { GroupCommit } from './group-commit.js';
import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';
import { PromfleetError } from '../errors.js';
import { Backoff } from '../lib/backoff.js';

export interface WriteHandlerOptions {
  readonly writer: BatchWriter;
  readonly maxDecompressedBytes: number;
  /** Series ids by the bytes of their labels, filled by the writer as it resolves new series. */
  readonly rawSeries: RawSeriesCaches;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly backoff?: Backoff;
  /** Group commit: batches of one queue written together, up to this many samples a transaction. */
  readonly batchMaxSamples: number;
  /** Group commit: how long (ms) a batch waits for others of its queue before it is written alone. */
  readonly batchWaitMs: number;
  /** Group commit: transactions at once per queue (default: no bound). */
  readonly maxTransactions?: number;
  /** Jobs the consumer runs at once per queue: once that many wait, no more can come, so they are written. */
  readonly concurrency: number;
  /** HA: who leads, and the SQL to fence with; batches of a (group, replica) are fenced. */
  readonly ha?: {
    readonly view: OwnershipView;
    readonly leadership: Leadership;
    /** The group watermark never passes the database clock plus this (ms). */
    readonly maxSkewMs: number;
    /** Test seam: awaited inside the transaction just before the fence. */
    readonly pauseBeforeFence?: (batch: { group: string; replica: string }) => Promise<void>;
  };
  /** Test seams after COPY and after COMMIT (see write-test-seams.ts). */
  readonly seams?: WriteSeams;
  readonly now?: () => number;
}

/** Where a batch goes: its queue and its HA identity, shared by every batch written with it. */
interface Destination {
  readonly queue: string;
  readonly group: string | undefined;
  readonly replica: string | undefined;
}

/** A batch's outcome, and from which sample time on its replica's samples were left for later (undecided owner). */
interface Written extends BatchOutcome {
  readonly undecidedFromMs: number;
  /** Some of its samples' owner is not decided yet: its job stays queued. */
  readonly retained: boolean;
}

const NOTHING: BatchOutcome = { duplicate: false, samples: 0, metadata: 0, exemplars: 0, histograms: 0 };

/** Folds the outcomes of a batch's per-epoch parts into one. */
function merge(parts: readonly BatchOutcome[]): BatchOutcome {
  if (parts.length === 0) return NOTHING;
  return {
    duplicate: parts.every((p) => p.duplicate),
    samples: parts.reduce((n, p) => n + p.samples, 0),
    metadata: Math.max(...parts.map((p) => p.metadata)),
    exemplars: parts.reduce((n, p) => n + p.exemplars, 0),
    histograms: parts.reduce((n, p) => n + p.histograms, 0),
  };
}

/**
 * A failure the batches themselves may have caused (the database refused data, a bug met an
 * unexpected value): the group is written again one batch per transaction to find the culprit.
 * Transient failures (database away, fence refusal) send every batch back to its queue instead.
 */
function mayBeOneBatch(err: unknown): boolean {
  return !(err instanceof TransientError);
}

/**
 * The error a job of batches ends with when some failed. Transient wins (the job comes back and
 * its written batches are duplicates then), then an unexpected error (BullMQ retries the job,
 * attempts counted), then a permanent failure: the job goes to the dead-letter set with a reason
 * naming the batches at fault when it holds several.
 */
function jobError(job: QueuedWork, failures: readonly { index: number; err: unknown }[], written: number): unknown {
  const transient = failures.find((f) => f.err instanceof TransientError);
  if (transient) return transient.err;
  const other = failures.find((f) => !(f.err instanceof PermanentError));
  if (other) return other.err;
  if (job.batches.length === 1) return failures[0].err;
  const named = failures.map((f) => `batch ${f.index + 1} of ${job.batches.length} (${job.batches[f.index].id}): ${(f.err as Error).message}`);
  return new PermanentError(`${named.join('; ')}; the other ${written} batches of the job are written, the dead letter keeps only the refused ones`,
    failures.map((f) => job.batches[f.index].id));
}

/**
 * Turns queued batches into database transactions, several batches of one queue per
 * transaction (group commit). Database trouble that passes (connection loss, restarts,
 * serialization failures) puts every batch of the transaction back and backs off with jitter;
 * data the database refuses sends the batch at fault to the dead-letter set, and only it.
 */
export class WriteBatchHandler implements BatchHandler {
  private readonly backoff: Backoff;
  private readonly now: () => number;
  private readonly groups = new Map<string, GroupCommit<SpannedBatch, Written>>();
  /** Why the worker is not writing right now, for /readyz; undefined while healthy. */
  waitingReason: string | undefined;

  constructor(private readonly opts: WriteHandlerOptions) {
    this.backoff = opts.backoff ?? new Backoff();
    this.now = opts.now ?? Date.now;
  }

  /**
   * Resolves once every batch of the job is committed (or found in the ledger). Each batch goes
   * into the queue's group commit on its own, with its own ledger id, so a redelivered job, or a
   * resent request that landed in another job, writes only what the ledger lacks. The job's
   * fate once all its batches are settled: a transient failure of any puts the whole job back
   * (its written batches are duplicates next time); otherwise a batch that can never be written
   * sends the job to the dead-letter set, the reason naming the batch, while the others are
   * written and the consumer narrows the dead letter to the refused batches.
   */
  async handle(job: QueuedWork): Promise<HandleResult> {
    const m = this.opts.metrics;
    const items: { item: SpannedBatch; samples: number; index: number }[] = [];
    const failures: { index: number; err: unknown }[] = [];
    job.batches.forEach((queued, index) => {
      try {
        const decoded = decodeBatch(queued, job.queue, this.opts.maxDecompressedBytes, this.opts.rawSeries);
        items.push({ item: { batch: decoded.batch, t0: job.t0, t1: job.t1 }, samples: decoded.samples, index });
      } catch (err) {
        failures.push({ index, err: new PermanentError(`batch does not decode: ${(err as Error).message}`) });
      }
    });
    const first = job.batches[0];
    const to: Destination = { queue: job.queue, group: first?.group, replica: first?.replica };
    const started = this.now();
    let undecidedFromMs = Infinity;
    let retained = false;
    const settled = await Promise.allSettled(items.length > 0 ? this.groupOf(to).addAll(items) : []);
    settled.forEach((s, i) => {
      if (s.status === 'rejected') {
        const err: unknown = s.reason;
        if (err instanceof TransientError && err.cause instanceof FencedError) m.fencedBatches.inc({ queue: job.queue });
        failures.push({ index: items[i].index, err });
        return;
      }
      const outcome = s.value;
      undecidedFromMs = Math.min(undecidedFromMs, outcome.undecidedFromMs);
      retained ||= outcome.retained;
      m.batchWriteSeconds.observe((this.now() - started) / 1000);
      m.writtenBatches.inc({ queue: job.queue, outcome: outcome.duplicate ? 'duplicate' : 'written' });
      if (!outcome.duplicate) {
        m.writtenSamples.inc({ queue: job.queue }, outcome.samples);
        if (outcome.histograms > 0) m.writtenHistograms.inc({ queue: job.queue }, outcome.histograms);
        if (outcome.exemplars > 0) m.writtenExemplars.inc({ queue: job.queue }, outcome.exemplars);
      }
    });
    if (failures.length === 0) return retained ? { retainedAfterMs: undecidedFromMs } : {};
    const err = jobError(job, failures.sort((a, b) => a.index - b.index), job.batches.length - failures.length);
    // Counted once the job's fate is known: a job that comes back dead-letters nothing yet.
    if (err instanceof PermanentError) m.deadLetters.inc({ queue: job.queue }, failures.length);
    throw err;
  }

  private groupOf(to: Destination): GroupCommit<SpannedBatch, Written> {
    const key = `${to.queue}\u0000${to.group ?? ''}\u0000${to.replica ?? ''}`;
    let g = this.groups.get(key);
    if (!g) {
      g = new GroupCommit<SpannedBatch, Written>({
        maxSamples: this.opts.batchMaxSamples,
        maxCallers: this.opts.concurrency,
        waitMs: this.opts.batchWaitMs,
        maxConcurrent: this.opts.maxTransactions,
        write: (batches) => this.writeGroup(to, batches),
        isolate: mayBeOneBatch,
      });
      this.groups.set(key, g);
    }
    return g;
  }

  /** One transaction for the batches; any error comes out as the queue should see it (Transient, Permanent or as is). */
  private async writeGroup(to: Destination, items: readonly SpannedBatch[]): Promise<readonly Written[]> {
    const m = this.opts.metrics;
    let ha: HaPlan | undefined;
    const batches = items.map((it) => it.batch);
    try {
      const h = this.opts.ha;
      if (h && to.group !== undefined && to.replica !== undefined) {
        const view = h.view.of(to.group);
        // A group nobody ever led: nothing of it is decided yet.
        if (!view) return items.map((it) => ({ ...NOTHING, undecidedFromMs: -Infinity, retained: !(it.t0 === 0 && it.t1 === 0) }));
        ha = planHaWrite(view, to.group, to.replica, items, { leadership: h.leadership, maxSkewMs: h.maxSkewMs, pause: h.pauseBeforeFence });
        const empty = ha;
        if (empty.batches.length === 0) return items.map((_, i) => ({ ...NOTHING, undecidedFromMs: empty.undecidedFromMs, retained: empty.retained[i] }));
      }
      const result: WriteManyResult = await this.opts.writer.writeMany(ha?.batches ?? batches, withSeams(ha?.hooks, this.opts.seams, to.queue));
      await this.opts.seams?.afterCommit?.(to.queue);
      m.workerTransactions.inc({ queue: to.queue, outcome: 'committed' });
      m.transactionBatches.observe(batches.length);
      if (ha && to.group !== undefined && ha.filtered() > 0) m.handoffFilteredSamples.inc({ group: to.group }, ha.filtered());
      m.writtenMetadata.inc(result.metadata);
      m.seriesCache.inc({ result: 'hit' }, result.cacheHits);
      m.seriesCache.inc({ result: 'miss' }, result.cacheMisses);
      if (this.backoff.failing) this.opts.log.info('database answers again; writing');
      this.backoff.reset();
      this.waitingReason = undefined;
      if (!ha) return result.batches.map((b) => ({ ...b, undecidedFromMs: Infinity, retained: false }));
      const plan = ha;
      const parts: BatchOutcome[][] = items.map(() => []);
      result.batches.forEach((b, k) => parts[plan.origin[k]].push(b));
      const undecidedFromMs = plan.undecidedFromMs;
      return parts.map((p, i) => ({ ...merge(p), undecidedFromMs, retained: plan.retained[i] }));
    } catch (err) {
      m.workerTransactions.inc({ queue: to.queue, outcome: 'failed' });
      const out = this.asQueueError(err, to, batches);
      if (batches.length > 1 && mayBeOneBatch(out)) {
        this.opts.log.warn({ queue: to.queue, batches: batches.length, err },
          'a transaction of several batches failed; writing them one per transaction so only the faulty one fails');
      }
      throw out;
    }
  }

  /** Maps a write failure once per transaction (one backoff step, one log line), whatever the number of batches. */
  private asQueueError(err: unknown, to: Destination, batches: readonly { readonly id: string }[]): unknown {
    const ids = batches.length === 1 ? { batch: batches[0].id } : { batches: batches.length };
    if (err instanceof FencedError) {
      this.opts.log.info({ ...ids, queue: to.queue, err }, 'fenced; the batches stay in their queue');
      return new TransientError(err.message, 1000, { cause: err });
    }
    const kind = classifyPgError(err);
    const code = (err as { code?: unknown }).code;
    this.opts.metrics.databaseErrors.inc({ class: typeof code === 'string' ? code.slice(0, 2) : 'connection' });
    if (kind === 'retryable') {
      const wait = this.backoff.next();
      this.waitingReason = `database unavailable (${(err as Error).message}); retrying in ${wait} ms`;
      this.opts.log.warn({ ...ids, queue: to.queue, err, retryInMs: wait }, 'database unavailable; the batches return to their queue');
      return new TransientError(this.waitingReason, wait, { cause: err });
    }
    if (kind === 'data') return new PermanentError(`database rejected the batch: ${(err as Error).message}`);
    if (err instanceof PromfleetError && err.retryable) return new TransientError(err.message, this.backoff.next(), { cause: err });
    return err;
  }
}

import { snappyDecompress, decodeWriteRequest, withoutLabel } from '../protocol/index.js';
import { PermanentError, TransientError, type BatchHandler } from '../queue/index.js';
import { classifyPgError, type BatchWriter, type Leadership } from '../storage/index.js';
import type { BatchJob } from '../queue/index.js';
import type { LeaderView } from './leaders.js';
import { FencedError, haWrite, type HaWrite } from './fence.js';
import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';
import { PromfleetError } from '../errors.js';
import { Backoff } from '../lib/backoff.js';

export interface WriteHandlerOptions {
  readonly writer: BatchWriter;
  readonly maxDecompressedBytes: number;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly backoff?: Backoff;
  /** HA: who leads, and the SQL to fence with; batches of a (group, replica) are fenced. */
  readonly ha?: {
    readonly view: LeaderView;
    readonly leadership: Leadership;
    /** Test seam: awaited inside the transaction just before the fence. */
    readonly pauseBeforeFence?: (batch: { group: string; replica: string }) => Promise<void>;
  };
  readonly now?: () => number;
}

/**
 * Turns one queued batch into one database transaction. Database trouble that passes
 * (connection loss, restarts, serialization failures) puts the batch back and backs off with
 * jitter; data the database refuses sends it to the dead-letter set.
 */
export class WriteBatchHandler implements BatchHandler {
  private readonly backoff: Backoff;
  private readonly now: () => number;
  /** Why the worker is not writing right now, for /readyz; undefined while healthy. */
  waitingReason: string | undefined;

  constructor(private readonly opts: WriteHandlerOptions) {
    this.backoff = opts.backoff ?? new Backoff();
    this.now = opts.now ?? Date.now;
  }

  async handle(job: { id: string; queue: string; data: BatchJob; payload: Uint8Array }): Promise<void> {
    let request;
    try {
      request = decodeWriteRequest(snappyDecompress(job.payload, this.opts.maxDecompressedBytes));
      if (job.data.s !== undefined) request = { ...request, timeseries: withoutLabel(request.timeseries, job.data.s) };
    } catch (err) {
      this.opts.metrics.deadLetters.inc({ queue: job.queue });
      throw new PermanentError(`batch does not decode: ${(err as Error).message}`);
    }
    const started = this.now();
    const group = job.data.g ?? undefined;
    const replica = job.data.r ?? undefined;
    let ha: HaWrite | undefined;
    try {
      if (this.opts.ha && group !== undefined && replica !== undefined) ha = await haWrite(this.opts.ha.view, this.opts.ha.leadership, group, replica, this.opts.ha.pauseBeforeFence);
      const result = await this.opts.writer.write(
        { id: job.id, queue: job.queue, timeseries: request.timeseries, metadata: request.metadata, group }, ha?.hooks);
      if (ha && group !== undefined && ha.filtered() > 0) this.opts.metrics.handoffFilteredSamples.inc({ group }, ha.filtered());
      const m = this.opts.metrics;
      m.batchWriteSeconds.observe((this.now() - started) / 1000);
      m.writtenBatches.inc({ queue: job.queue, outcome: result.duplicate ? 'duplicate' : 'written' });
      if (!result.duplicate) {
        m.writtenSamples.inc({ queue: job.queue }, result.samples);
        m.writtenMetadata.inc(result.metadata);
      }
      m.seriesCache.inc({ result: 'hit' }, result.cacheHits);
      m.seriesCache.inc({ result: 'miss' }, result.cacheMisses);
      if (this.backoff.failing) this.opts.log.info('database answers again; writing');
      this.backoff.reset();
      this.waitingReason = undefined;
    } catch (err) {
      if (err instanceof FencedError) {
        this.opts.metrics.fencedBatches.inc({ queue: job.queue });
        this.opts.log.info({ batch: job.id, queue: job.queue, why: err.message }, 'batch fenced; it stays in its queue');
        throw new TransientError(err.message, 1000, { cause: err });
      }
      const kind = classifyPgError(err);
      const code = (err as { code?: unknown }).code;
      this.opts.metrics.databaseErrors.inc({ class: typeof code === 'string' ? code.slice(0, 2) : 'connection' });
      if (kind === 'retryable') {
        const wait = this.backoff.next();
        this.waitingReason = `database unavailable (${(err as Error).message}); retrying in ${wait} ms`;
        this.opts.log.warn({ batch: job.id, err: (err as Error).message, retryInMs: wait }, 'database unavailable; batch returns to its queue');
        throw new TransientError(this.waitingReason, wait, { cause: err });
      }
      if (kind === 'data') {
        this.opts.metrics.deadLetters.inc({ queue: job.queue });
        throw new PermanentError(`database rejected the batch: ${(err as Error).message}`);
      }
      if (err instanceof PromfleetError && err.retryable) throw new TransientError(err.message, this.backoff.next(), { cause: err });
      throw err;
    }
  }
}

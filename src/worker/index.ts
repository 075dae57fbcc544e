import type pg from 'pg';
import type { HttpServer } from '../http/server.js';
import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';
import { Consumer } from '../queue/index.js';
import { BatchWriter, Leadership, Partitions, RawSeriesCaches, SeriesResolver, pruneLedger } from '../storage/index.js';
import { OwnershipView } from './leaders.js';
import { FollowerWork } from './followers.js';
import type { WriteSeams } from './write-test-seams.js';
import { sleep } from '../lib/sleep.js';
import { WriteBatchHandler } from './handler.js';

/**
 * Label sets whose ids a worker keeps by the bytes of their labels (RawSeriesCaches): it evicts
 * by generations, half its bound at a time, so twice this bound keeps at least the last
 * SERIES_CACHE_ENTRIES series seen.
 */
const SERIES_CACHE_ENTRIES = 1_000_000;
/**
 * Behind it, label sets by their canonical hash (SeriesResolver): only series the first cache
 * missed reach it (first seen, or sent by another replica after a failover), so it is smaller;
 * what it misses costs a bulk lookup in the database.
 */
const CANONICAL_CACHE_ENTRIES = 100_000;

export interface WorkerOptions {
  readonly server: HttpServer;
  readonly pool: pg.Pool;
  readonly schema: string;
  readonly redisUrl: string;
  readonly queuePrefix: string;
  /** Where the queue lives (default redis); on postgres, in the database at pgUrl. */
  readonly backend?: 'redis' | 'postgres';
  readonly pgUrl?: string;
  /** Jobs taken at once per queue (BullMQ concurrency), each of one or more batches; batches are written together when they arrive together. */
  readonly concurrency: number;
  /** Group commit: most samples one transaction gathers from a queue's batches. */
  readonly batchMaxSamples: number;
  /** Group commit: how long (ms) a batch waits for others of its queue before it is written alone. */
  readonly batchWaitMs: number;
  /** Group commit: transactions at once per queue (default: no bound). */
  readonly maxTransactions?: number;
  /** How long a taken batch stays locked to this worker before others may take it (ms; BullMQ renews it while the batch is written). */
  readonly lockDurationMs?: number;
  readonly queuePollIntervalMs: number;
  readonly maxDecompressedBytes: number;
  readonly partitionIntervalMs: number;
  readonly partitionsAhead: number;
  /** Follower retention: a follower's batch goes once the leader committed this far past its newest sample (ms). */
  readonly followerMarginMs: number;
  /** At a handoff, how far before the cut each series' last committed sample is looked for (ms). */
  readonly markLookbackMs: number;
  /** Watermarks and cuts never pass the database clock plus this (ms). */
  readonly maxClockSkewMs: number;
  /** Ledger entries older than this are pruned (ms). */
  readonly ledgerRetentionMs: number;
  /** Samples older than this are dropped with their partitions (ms; 0 keeps everything). */
  readonly retentionMs: number;
  /** Brings the schema up to date (retrying while the database is away); nothing is consumed before. */
  readonly migrate: () => Promise<void>;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly now?: () => number;
  /** Test seam: awaited inside an HA batch's transaction just before the fence. */
  readonly pauseBeforeFence?: (batch: { group: string; replica: string }) => Promise<void>;
  /** Test seams after COPY and after COMMIT. */
  readonly seams?: WriteSeams;
}

export interface WorkerRole {
  start(): Promise<void>;
  /** Stops taking batches and lets in-flight ones finish, until the signal aborts (then they are cut and return to their queue). */
  drain(signal: AbortSignal): Promise<void>;
  stop(): Promise<void>;
}

/** The worker role: consume every write queue, several batches of a queue per transaction (group commit). */
export function createWorker(opts: WorkerOptions): WorkerRole {
  const now = opts.now ?? Date.now;
  const log = opts.log;
  const partitions = new Partitions({ pool: opts.pool, schema: opts.schema, intervalMs: opts.partitionIntervalMs, log });
  const series = new SeriesResolver({ schema: opts.schema, maxEntries: CANONICAL_CACHE_ENTRIES });
  const writer = new BatchWriter({ pool: opts.pool, schema: opts.schema, partitions, series, log });
  const leadership = new Leadership(opts.schema);
  const view = new OwnershipView(opts.pool, leadership, opts.markLookbackMs);
  const abort = new AbortController();
  const handler = new WriteBatchHandler({
    writer, maxDecompressedBytes: opts.maxDecompressedBytes, rawSeries: new RawSeriesCaches(2 * SERIES_CACHE_ENTRIES), log, metrics: opts.metrics, now,
    concurrency: opts.concurrency, batchMaxSamples: opts.batchMaxSamples, batchWaitMs: opts.batchWaitMs, maxTransactions: opts.maxTransactions,
    ha: { view, leadership, maxSkewMs: opts.maxClockSkewMs, pauseBeforeFence: opts.pauseBeforeFence },
    seams: opts.seams,
  });
  const consumer: Consumer = new Consumer({
    backend: opts.backend, redisUrl: opts.redisUrl, pgUrl: opts.pgUrl,
    prefix: opts.queuePrefix,
    concurrency: opts.concurrency,
    lockDurationMs: opts.lockDurationMs,
    pollIntervalMs: opts.queuePollIntervalMs,
    log: log.child({ component: 'consumer' }),
    handler,
    beforeScan: (queues) => followers.beforeScan(queues),
    shouldConsume: (_queue, identity) => view.shouldConsume(identity),
    idle: (queue, identity) => followers.idle(queue, identity),
    onDepth: (queue, counts) => {
      for (const [state, n] of Object.entries(counts)) opts.metrics.queueDepth.set({ queue, state }, n);
    },
  });
  const followers: FollowerWork = new FollowerWork({
    view, leadership, pool: opts.pool, backend: consumer.backend, index: consumer.index, handler,
    marginMs: opts.followerMarginMs, lookbackMs: opts.markLookbackMs, maxSkewMs: opts.maxClockSkewMs,
    log: log.child({ component: 'handoff' }), metrics: opts.metrics, signal: abort.signal,
  });
  let migrated = false;
  opts.server.readiness('database', async () => (migrated ? handler.waitingReason : 'schema migrations not applied yet'));

  /** Housekeeping: partitions ahead of time, ledger pruning. Any worker may do it; all do, harmlessly. */
  async function maintain(signal: AbortSignal): Promise<void> {
    const every = Math.min(opts.partitionIntervalMs / 4, 600_000);
    while (!signal.aborted) {
      try {
        await partitions.ensureAhead(now(), opts.partitionsAhead);
        if (opts.retentionMs > 0) await partitions.dropBefore(now() - opts.retentionMs);
        const pruned = await pruneLedger(opts.pool, opts.schema, opts.ledgerRetentionMs, now());
        if (pruned > 0) log.debug({ pruned }, 'ledger pruned');
      } catch (err) {
        log.warn({ err }, 'maintenance failed; retrying');
      }
      await sleep(every, signal);
    }
  }

  let started: Promise<void> | undefined;
  let stopped: Promise<void> | undefined;
  return {
    start() {
      started ??= (async () => {
        await opts.migrate();
        // stop() may have come while migrations ran: start nothing then.
        if (abort.signal.aborted) return;
        migrated = true;
        void maintain(abort.signal);
        await consumer.start();
      })();
      return started;
    },
    async drain(signal) {
      abort.abort();
      const graceful = consumer.stop();
      const cut = new Promise<'cut'>((resolve) => signal.addEventListener('abort', () => resolve('cut'), { once: true }));
      if ((await Promise.race([graceful.then(() => 'done' as const), cut])) === 'cut') {
        log.warn('shutdown deadline reached; in-flight batches are cut and will be taken again');
        await consumer.forceStop();
      }
    },
    stop() {
      stopped ??= (async () => {
        abort.abort();
        await consumer.stop();
      })();
      return stopped;
    },
  };
}

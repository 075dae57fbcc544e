import type pg from 'pg';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every promfleet_* metric, on a registry of its own so several components (or tests) can live
 * in one process, beside prom-client's standard process_* and nodejs_* metrics. Label values are
 * bounded: reasons come from the error catalogue, queues from the (group, replica) pairs an
 * operator runs, pools from the roles a process runs.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly receivedSamples = new Counter({
    name: 'promfleet_received_samples_total', help: 'Samples received in remote-write requests that decoded.',
    registers: [this.registry],
  });
  readonly enqueuedSamples = new Counter({
    name: 'promfleet_enqueued_samples_total', help: 'Samples acknowledged by the queue (durable).',
    labelNames: ['queue'], registers: [this.registry],
  });
  readonly enqueuedBatches = new Counter({
    name: 'promfleet_enqueued_batches_total',
    help: 'Batches (one per request and queue) acknowledged by the queue; several may travel in one job (promfleet_enqueued_jobs_total).',
    labelNames: ['queue'], registers: [this.registry],
  });
  readonly enqueuedJobs = new Counter({
    name: 'promfleet_enqueued_jobs_total',
    help: 'Queue jobs acknowledged by Redis, each holding one or more batches of the queue (see --queue.job-max-batches).',
    labelNames: ['queue'], registers: [this.registry],
  });
  readonly jobBatches = new Histogram({
    name: 'promfleet_enqueued_job_batches', help: 'Batches in each job the ingress put on a queue (requests gathered while an add was in flight).',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128], registers: [this.registry],
  });
  readonly queuedBytes = new Counter({
    name: 'promfleet_enqueued_bytes_total', help: 'Encoded batch bytes put on the queue.',
    registers: [this.registry],
  });
  readonly rejectedRequests = new Counter({
    name: 'promfleet_rejected_requests_total', help: 'Write requests refused, by error code.',
    labelNames: ['reason'], registers: [this.registry],
  });
  readonly authFailures = new Counter({
    name: 'promfleet_auth_failures_total', help: 'Requests refused by authentication, by reason (missing, malformed, unknown, expired, scope, group).',
    labelNames: ['reason'], registers: [this.registry],
  });
  readonly rateLimited = new Counter({
    name: 'promfleet_rate_limited_requests_total', help: 'Requests refused by a rate or concurrency limit (credential, group, concurrency).',
    labelNames: ['limit'], registers: [this.registry],
  });
  readonly processingRequests = new Gauge({
    name: 'promfleet_http_processing_requests', help: 'Requests past their body being processed (bounded by --web.max-concurrent-requests).',
    registers: [this.registry],
  });
  readonly inflightBodyBytes = new Gauge({
    name: 'promfleet_http_inflight_body_bytes', help: 'Bytes of request bodies held in memory (bounded by --web.max-inflight-body-bytes).',
    registers: [this.registry],
  });
  readonly rejectedSamples = new Counter({
    name: 'promfleet_rejected_samples_total', help: 'Samples in refused write requests (when the body decoded), by error code.',
    labelNames: ['reason'], registers: [this.registry],
  });
  readonly writtenSamples = new Counter({
    name: 'promfleet_written_samples_total', help: 'Samples committed to PostgreSQL.',
    labelNames: ['queue'], registers: [this.registry],
  });
  readonly writtenBatches = new Counter({
    name: 'promfleet_written_batches_total', help: 'Batches committed to PostgreSQL (or found already committed).',
    labelNames: ['queue', 'outcome'], registers: [this.registry],
  });
  readonly writtenHistograms = new Counter({
    name: 'promfleet_written_histograms_total', help: 'Native histogram samples committed to PostgreSQL.',
    labelNames: ['queue'], registers: [this.registry],
  });
  readonly writtenExemplars = new Counter({
    name: 'promfleet_written_exemplars_total', help: 'Exemplars committed to PostgreSQL.',
    labelNames: ['queue'], registers: [this.registry],
  });
  readonly writeRequests = new Counter({
    name: 'promfleet_write_requests_total', help: 'Remote-write requests received, by protocol version (1.0, 2.0) as negotiated by Content-Type.',
    labelNames: ['protocol'], registers: [this.registry],
  });
  readonly writtenMetadata = new Counter({
    name: 'promfleet_written_metadata_total', help: 'Metric metadata entries upserted.',
    registers: [this.registry],
  });
  readonly seriesCache = new Counter({
    name: 'promfleet_series_cache_lookups_total', help: 'Series id cache lookups by result.',
    labelNames: ['result'], registers: [this.registry],
  });
  readonly batchWriteSeconds = new Histogram({
    name: 'promfleet_batch_write_seconds', help: 'Time from a batch\'s dequeue to the commit of the transaction that wrote it (group-commit wait included).',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly workerTransactions = new Counter({
    name: 'promfleet_worker_transactions_total',
    help: 'Write transactions run by the worker, each for one or more batches of one queue, by outcome (committed, failed).',
    labelNames: ['queue', 'outcome'], registers: [this.registry],
  });
  readonly transactionBatches = new Histogram({
    name: 'promfleet_worker_transaction_batches', help: 'Batches written together in one transaction (group commit).',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128], registers: [this.registry],
  });
  readonly enqueueSeconds = new Histogram({
    name: 'promfleet_write_request_seconds', help: 'Time from a write request\'s end of body to its answer.',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: 'promfleet_queue_depth_batches', help: 'Jobs (each one or more batches) waiting or in flight per queue, sampled by the worker.',
    labelNames: ['queue', 'state'], registers: [this.registry],
  });
  readonly databaseErrors = new Counter({
    name: 'promfleet_database_errors_total', help: 'PostgreSQL errors seen while writing, by SQLSTATE class.',
    labelNames: ['class'], registers: [this.registry],
  });

  readonly deadLetters = new Counter({
    name: 'promfleet_dead_letter_batches_total', help: 'Batches refused for good (by the database, or undecodable); the job holding them moved to the dead-letter set.',
    labelNames: ['queue'], registers: [this.registry],
  });
  readonly haLeader = new Gauge({
    name: 'promfleet_ha_leader', help: '1 while this process holds the leadership of the group for the replica.',
    labelNames: ['group', 'replica'], registers: [this.registry],
  });
  readonly haLeadershipChanges = new Counter({
    name: 'promfleet_ha_leadership_changes_total', help: 'Leaderships taken by this process.',
    labelNames: ['group'], registers: [this.registry],
  });
  readonly haHandoffGap = new Histogram({
    name: 'promfleet_ha_handoff_gap_seconds', help: 'At a takeover, wall-clock time since the group\'s newest committed sample.',
    buckets: [1, 2, 5, 10, 20, 30, 60, 120, 300, 900], registers: [this.registry],
  });
  readonly fencedBatches = new Counter({
    name: 'promfleet_ha_fenced_batches_total', help: 'Batches refused by the leadership fence at commit time (returned to their queue).',
    labelNames: ['queue'], registers: [this.registry],
  });
  readonly handoffFilteredSamples = new Counter({
    name: 'promfleet_ha_filtered_samples_total', help: 'Samples of a new leader not written because the old leader owned their time.',
    labelNames: ['group'], registers: [this.registry],
  });
  readonly followerBacklog = new Gauge({
    name: 'promfleet_ha_follower_backlog_batches', help: 'Jobs (each one or more batches) retained in follower queues.',
    labelNames: ['queue'], registers: [this.registry],
  });
  readonly followerDropped = new Counter({
    name: 'promfleet_ha_follower_dropped_batches_total', help: 'Follower batches removed: redundant (leader committed past them) or over the retention bound.',
    labelNames: ['queue', 'reason'], registers: [this.registry],
  });

  readonly readRequests = new Counter({
    name: 'promfleet_read_requests_total', help: 'Remote-read requests answered, by outcome (success; refused: a 4xx; error: a 5xx).',
    labelNames: ['outcome'], registers: [this.registry],
  });
  readonly readSeries = new Counter({
    name: 'promfleet_read_series_total', help: 'Series returned by remote-read requests.',
    registers: [this.registry],
  });
  readonly readSamples = new Counter({
    name: 'promfleet_read_samples_total', help: 'Samples (floats and native histograms) returned by remote-read requests.',
    registers: [this.registry],
  });
  readonly readSeconds = new Histogram({
    name: 'promfleet_read_request_seconds', help: 'Time from a remote-read request\'s arrival to the end of its answer, whatever the outcome.',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  private readinessCheck: () => Promise<boolean> = () => Promise.resolve(true);
  readonly ready = ((read: () => Promise<boolean>) => new Gauge({
    name: 'promfleet_ready', help: '1 while the process is ready (GET /readyz answers 200), 0 while it is not; evaluated at each scrape.',
    registers: [this.registry],
    async collect() {
      this.set((await read()) ? 1 : 0);
    },
  }))(() => this.readinessCheck());

  /** The PostgreSQL pools the process runs, by name (read at each scrape). */
  private readonly pools = new Map<string, pg.Pool>();
  private readonly poolGauge = (name: string, help: string, read: (p: pg.Pool) => number): Gauge => {
    const pools = this.pools;
    return new Gauge({
      name, help, labelNames: ['pool'], registers: [this.registry],
      collect() {
        for (const [pool, p] of pools) this.set({ pool }, read(p));
      },
    });
  };
  readonly poolInUse = this.poolGauge('promfleet_pg_pool_connections_in_use', 'PostgreSQL connections of the pool checked out by the process.', (p) => p.totalCount - p.idleCount);
  readonly poolIdle = this.poolGauge('promfleet_pg_pool_connections_idle', 'PostgreSQL connections of the pool open and idle.', (p) => p.idleCount);
  readonly poolWaiting = this.poolGauge('promfleet_pg_pool_waiting_clients', 'Queries waiting for a connection of the pool (the pool is at --pg.max-open-conns).', (p) => p.waitingCount);

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    // Standard names (process_*, nodejs_*), so stock Node.js dashboards and alerts apply.
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** What promfleet_ready reports (the listener's readiness checks). */
  readiness(check: () => Promise<boolean>): void {
    this.readinessCheck = check;
  }

  /** Exports the pool's connection counts under `pool` until the process ends. */
  watchPool(name: string, pool: pg.Pool): void {
    this.pools.set(name, pool);
  }
}

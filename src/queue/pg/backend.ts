import pg from 'pg';
import { createPostgresBackend, Queue, Worker, type Job, type PostgresConnectionOptions } from 'bullmq';
import type { Logger } from '../../observability/log.js';
import type { BullBinding, QueueBackend, QueueDepth, WorkerTuning } from '../backend.js';
import { QueueDb } from './db.js';
import { queueSchema } from './schema.js';
import { PgBacklogCounters, PgLivenessStore, PgQueueLease, PgQueueRegistry, PgReadyJobs } from './stores.js';
import { PgTimeIndex } from './time-index.js';

/** BullMQ connections per consumed queue at most. */
const WORKER_MAX_CONNECTIONS = 6;

export interface PgQueueOptions {
  readonly connectionString: string;
  /** The deployment's queue prefix: the schema is queueSchema(prefix). */
  readonly prefix: string;
  /** How long a connection attempt may take (a producer's is short: it answers 503 rather than wait). */
  readonly connectTimeoutMs: number;
  readonly log: Logger;
  /** Connections of promfleet's own pool (BullMQ's queues and workers have theirs). */
  readonly maxConnections?: number;
}

/**
 * The queue on PostgreSQL: BullMQ's PostgreSQL backend for the jobs, promfleet's tables beside
 * them in the same schema. The queue then shares the database's fate: while it is down, writes
 * answer 503 and Prometheus keeps the samples in its WAL (about two hours) until it is back.
 */
export class PostgresQueueBackend implements QueueBackend {
  readonly kind = 'postgres';
  readonly schema: string;
  readonly bull: BullBinding;
  readonly db: QueueDb;
  readonly registry: PgQueueRegistry;
  readonly backlog: PgBacklogCounters;
  readonly index: PgTimeIndex;
  readonly lease: PgQueueLease;
  readonly liveness: PgLivenessStore;
  private closed = false;

  constructor(private readonly opts: PgQueueOptions) {
    this.schema = queueSchema(opts.prefix);
    const pool = new pg.Pool({
      connectionString: opts.connectionString, max: opts.maxConnections ?? 4, connectionTimeoutMillis: opts.connectTimeoutMs,
      keepAlive: true, application_name: 'promfleet queue',
    });
    pool.on('error', (err: Error) => opts.log.debug({ err }, 'queue database connection error'));
    this.db = new QueueDb(pool, this.schema);
    const t = this.db.tables;
    this.registry = new PgQueueRegistry(this.db, t);
    this.backlog = new PgBacklogCounters(this.db, t);
    this.index = new PgTimeIndex(this.db, t);
    this.lease = new PgQueueLease(this.db, t);
    this.liveness = new PgLivenessStore(this.db, t);
    this.bull = {
      queue: (name) => this.queue(name),
      worker: (name, processor, tuning) => this.worker(name, processor, tuning),
    };
  }

  /** BullMQ's connection for one queue or worker: its own small pool in the queue schema. */
  private connection(max: number): PostgresConnectionOptions {
    return {
      connectionString: this.opts.connectionString, schema: this.schema, migrate: true, max,
      connectionTimeoutMillis: this.opts.connectTimeoutMs, keepAlive: true,
    };
  }

  private queue(name: string): Queue {
    const q = new Queue(name, { connection: this.connection(1), skipVersionCheck: true }, createPostgresBackend);
    q.on('error', (err: Error) => this.opts.log.debug({ err, queue: name }, 'queue error'));
    return q as unknown as Queue;
  }

  private worker(name: string, processor: (job: Job, token?: string, signal?: AbortSignal) => Promise<void>, tuning: WorkerTuning): Worker {
    const w = new Worker(name, processor, {
      // Jobs beyond the pool wait for a connection: the database's connections are shared with storage.
      connection: this.connection(Math.min(tuning.concurrency + 1, WORKER_MAX_CONNECTIONS)),
      concurrency: tuning.concurrency,
      autorun: true,
      skipVersionCheck: true,
      lockDuration: tuning.lockDurationMs,
      maxStalledCount: tuning.maxStalledCount,
    }, createPostgresBackend);
    return w as unknown as Worker;
  }

  readyJobs(max: number): PgReadyJobs {
    return new PgReadyJobs(this.db, this.db.tables, max);
  }

  async depth(queue: string): Promise<QueueDepth> {
    const r = await this.db.query<{ wait: number; active: number; delayed: number; prioritized: number; failed: number }>(`
      SELECT count(*) FILTER (WHERE state = 'waiting' AND priority = 0)::int AS wait,
             count(*) FILTER (WHERE state = 'active')::int AS active,
             count(*) FILTER (WHERE state = 'delayed')::int AS delayed,
             count(*) FILTER (WHERE state = 'waiting' AND priority > 0)::int AS prioritized,
             count(*) FILTER (WHERE state = 'failed')::int AS failed
        FROM ${this.db.tables.job} WHERE queue = $1`, [queue]);
    const row = r.rows[0];
    return { wait: row.wait, active: row.active, delayed: row.delayed, prioritized: row.prioritized, failed: row.failed };
  }

  async ping(): Promise<boolean> {
    const r = await this.db.query<{ one: number }>('SELECT 1 AS one');
    return r.rows[0]?.one === 1;
  }

  check(): Promise<void> {
    return Promise.resolve();
  }

  /** Creates the schema if needed; rejects while the database is not reachable (later calls try again). */
  connect(): Promise<void> {
    return this.db.ready();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.db.pool.end();
  }
}

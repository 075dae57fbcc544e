/**
 * Enqueue and write throughput through promfleet's own components, in this process:
 * - enqueue: remote-write bodies POSTed to an in-process `ingress` (decode, validate, strip the
 *   replica label, re-encode, enqueue on BullMQ) until every one is answered 204; beside it the
 *   floor of the same work, a bare node:http server that RPUSHes each body to Redis.
 * - write: a `worker` started on the queue those requests filled, timed until its ledger holds
 *   every batch (queue read, decode, series resolution, COPY, commit), from its start and from
 *   its first commit (the steady state, once start-up and first-seen series are behind it).
 */
import http from 'node:http';
import { Redis } from 'ioredis';
import pg from 'pg';
import { pino } from 'pino';
import { Agent, request } from 'undici';
import { createApp, migrateOptions, type App, type ServiceRole } from '../src/app.js';
import { parseConfig } from '../src/config/index.js';
import { createPool, migrate } from '../src/storage/index.js';
import { elapsedMs, perSecond } from './report.js';

const log = pino({ level: process.env.PROMFLEET_BENCH_LOG ?? 'warn' }, pino.destination(2));

const HEADERS = {
  'content-type': 'application/x-protobuf',
  'content-encoding': 'snappy',
  'x-prometheus-remote-write-version': '0.1.0',
  'user-agent': 'promfleet-bench/1',
};

export interface PostResult {
  readonly samplesPerSec: number;
  readonly ms: number;
  readonly statuses: Record<string, number>;
  /** Queue jobs the ingress added for them (several requests of a queue may share one). */
  readonly jobs?: number;
}

/** POSTs every body once with `concurrency` in flight; counts statuses. */
async function postAll(url: string, bodies: readonly Buffer[], samples: number, concurrency: number): Promise<PostResult> {
  const agent = new Agent({ connections: concurrency, pipelining: 1 });
  const statuses: Record<string, number> = {};
  let next = 0;
  const start = process.hrtime.bigint();
  try {
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++]!;
        let status: string;
        try {
          const res = await request(url, { method: 'POST', dispatcher: agent, body, headers: HEADERS, headersTimeout: 30_000 });
          await res.body.dump();
          status = String(res.statusCode);
        } catch (err) {
          status = (err as { code?: string }).code ?? 'error';
        }
        statuses[status] = (statuses[status] ?? 0) + 1;
      }
    }));
    const ms = elapsedMs(start);
    return { samplesPerSec: perSecond(samples, ms), ms, statuses };
  } finally {
    await agent.close();
  }
}

function appArgs(opts: { prefix: string; redisUrl: string; pgUrl?: string; schema?: string }): string[] {
  const args = ['--web.listen-address=127.0.0.1:0', `--redis.url=${opts.redisUrl}`, `--queue.prefix=${opts.prefix}`, '--log.level=warn'];
  if (opts.pgUrl) args.push(`--pg.url=${opts.pgUrl}`);
  if (opts.schema) args.push(`--pg.schema=${opts.schema}`);
  return args;
}

async function startApp(role: ServiceRole, args: string[]): Promise<App> {
  const app = createApp(role, parseConfig(args, {}), log);
  await app.start();
  return app;
}

export interface EnqueueOptions {
  readonly bodies: readonly Buffer[];
  readonly samples: number;
  readonly redisUrl: string;
  readonly prefix: string;
  /** The ingress's elector keeps its leadership records here. */
  readonly pgUrl: string;
  readonly schema: string;
  readonly concurrency: number;
  /** More ingress flags (e.g. --queue.job-max-batches=1 to compare). */
  readonly extraArgs?: readonly string[];
}

/** promfleet ingress: samples/s answered 204 (the batches stay queued under `prefix`). */
export async function measureEnqueue(opts: EnqueueOptions): Promise<PostResult> {
  const app = await startApp('ingress', [...appArgs(opts), ...(opts.extraArgs ?? [])]);
  try {
    const result = await postAll(`http://127.0.0.1:${app.server.port}/write`, opts.bodies, opts.samples, opts.concurrency);
    const jobs = (await app.metrics.enqueuedJobs.get()).values.reduce((sum, v) => sum + v.value, 0);
    return { ...result, jobs };
  } finally {
    await app.stop();
  }
}

/** The floor: node:http reads each body and RPUSHes it to one Redis list, then 204. */
export async function measureRawIngress(opts: EnqueueOptions): Promise<PostResult> {
  const redis = new Redis(opts.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  const key = `${opts.prefix}:raw-ingress`;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      redis.rpush(key, Buffer.concat(chunks)).then(
        () => res.writeHead(204).end(),
        (err: Error) => res.writeHead(503).end(err.message),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  try {
    return await postAll(`http://127.0.0.1:${port}/write`, opts.bodies, opts.samples, opts.concurrency);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await redis.del(key);
    redis.disconnect();
  }
}

export interface WorkerWriteOptions {
  readonly pgUrl: string;
  readonly schema: string;
  readonly redisUrl: string;
  /** The prefix whose queues hold the batches to write. */
  readonly prefix: string;
  readonly batches: number;
  readonly samples: number;
  /** Check that samples holds exactly `samples` rows afterwards (false when it held rows before). Default true. */
  readonly expectTotal?: boolean;
}

export interface WorkerWriteResult {
  /** From the worker's start to the last commit: start-up and first-seen series included. */
  readonly samplesPerSec: number;
  readonly ms: number;
  /** From the first commit seen to the last: the running worker, its series cache warm. */
  readonly steadySamplesPerSec: number;
  readonly steadyMs: number;
  /** When the first commit was seen (ms after the start) and the samples it held. */
  readonly firstCommitMs: number;
  readonly firstCommitSamples: number;
  /** Write transactions the worker ran (promfleet_worker_transactions_total). */
  readonly transactions: number;
  /** Schema migration, done before the clock starts. */
  readonly migrateMs: number;
}

async function waitUntil(what: string, fn: () => Promise<boolean>, timeoutMs: number, everyMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** promfleet worker: samples/s from its start until its ledger holds every queued batch. */
export async function measureWorkerWrite(opts: WorkerWriteOptions): Promise<WorkerWriteResult> {
  const client = new pg.Client({ connectionString: opts.pgUrl, application_name: 'promfleet bench observer' });
  await client.connect();
  try {
    // Migrate first, so the clock sees only writing.
    const migrateStart = process.hrtime.bigint();
    const config = parseConfig(appArgs(opts), {});
    const pool = createPool({ connectionString: config.storage.connectionString, max: 1, applicationName: 'promfleet bench migrate' }, log);
    try {
      await migrate(pool, migrateOptions(config.storage, log));
    } finally {
      await pool.end();
    }
    const migrateMs = elapsedMs(migrateStart);

    // Batches already in the ledger (an earlier measurement on the same database) are not counted.
    const ledger = async () => {
      const r = await client.query<{ n: number; s: string }>(
        `SELECT count(*)::int AS n, coalesce(sum(samples), 0)::bigint AS s FROM ${opts.schema}.batches`);
      return { n: r.rows[0]?.n ?? 0, s: Number(r.rows[0]?.s ?? 0) };
    };
    const before = await ledger();
    const start = process.hrtime.bigint();
    const worker = await startApp('worker', appArgs(opts));
    try {
      // The ledger row of each batch commits with its samples: polling it every 10 ms times the
      // first and the last commit to within a poll.
      let first: { ms: number; samples: number } | undefined;
      await waitUntil(`${opts.batches} batches in ${opts.schema}.batches`, async () => {
        const now = await ledger();
        const n = now.n - before.n;
        if (n > 0 && first === undefined) first = { ms: elapsedMs(start), samples: now.s - before.s };
        return n >= opts.batches;
      }, 120_000, 10);
      const ms = elapsedMs(start);
      const r = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${opts.schema}.samples`);
      if (opts.expectTotal !== false && Number(r.rows[0]?.n) !== opts.samples) throw new Error(`worker wrote ${r.rows[0]?.n} samples, expected ${opts.samples}`);
      const firstCommit = first ?? { ms, samples: opts.samples };
      const steadyMs = ms - firstCommit.ms;
      const transactions = (await worker.metrics.workerTransactions.get()).values.reduce((sum, v) => sum + v.value, 0);
      return {
        samplesPerSec: perSecond(opts.samples, ms), ms,
        steadySamplesPerSec: perSecond(opts.samples - firstCommit.samples, steadyMs), steadyMs,
        firstCommitMs: firstCommit.ms, firstCommitSamples: firstCommit.samples, transactions, migrateMs,
      };
    } finally {
      await worker.stop();
    }
  } finally {
    await client.end();
  }
}

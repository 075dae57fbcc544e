/**
 * One end-to-end run on one queue backend: `promfleet ingress` and `promfleet worker` in their own
 * processes against a scratch database, the load generator in this process, the durable rate
 * read from the batch ledger. bench/e2e.ts runs it once per backend against one raw COPY ceiling.
 */
import { Redis } from 'ioredis';
import pg from 'pg';
import { runLoadgen, type LoadgenReport } from '../src/loadgen/index.js';
import { sampleBacklog, type BacklogPoint } from './backlog.js';
import { cpuBudget, machineBusySeconds, ownCpuSeconds, redisCpuSeconds, type CpuBudget, type CpuReading } from './cpu-budget.js';
import { startPromfleet, type Child } from './processes.js';
import type { Figure } from './report.js';
import { BENCH_REDIS_URL } from './scratch-db.js';

export interface E2eLoad {
  readonly series: number;
  readonly replicas: number;
  readonly rate: number;
  readonly seconds: number;
}

/** The load every write peer gets too (bench/peers.ts). */
export function loadOptions(url: string, load: E2eLoad) {
  return {
    url, series: load.series, replicas: load.replicas, rate: load.rate, durationMs: load.seconds * 1000,
    seriesPerRequest: 500, connections: 8, clusterLabel: 'cluster', cluster: 'bench', replicaLabel: '__replica__', timeoutMs: 30_000,
  };
}

export type QueueKind = 'redis' | 'postgres';

export interface E2eRun {
  readonly queue: QueueKind;
  readonly load: E2eLoad;
  /** The scratch database: storage, and on the postgres backend the queue too. */
  readonly dbUrl: string;
  readonly prefix: string;
  readonly say: (line: string) => void;
}

export interface E2eMeasured {
  readonly report: LoadgenReport;
  readonly budget: CpuBudget;
  readonly durable: number;
  readonly drainSeconds: number;
  readonly ingressCpu: number;
  readonly ingressRss: { now: number; peak: number };
  readonly workerRss: { now: number; peak: number };
  readonly spread: { median: number; max: number };
  readonly queued: { batches: number; jobs: number } | { error: string };
  /** The leader's backlog once a minute while the load ran, and at its end. */
  readonly backlog: readonly BacklogPoint[];
  readonly details: Record<string, unknown>;
}

async function ledgerSamples(c: pg.Client): Promise<number> {
  const r = await c.query<{ s: string }>('SELECT coalesce(sum(samples), 0)::bigint AS s FROM bench.batches');
  return Number(r.rows[0]?.s ?? 0);
}

/** The ingress's batches and the queue jobs that carried them (several requests of a queue may share a job). */
async function queuedJobs(port: number): Promise<{ batches: number; jobs: number }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  const sum = (name: string): number => text.split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .reduce((n, line) => n + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
  return { batches: sum('promfleet_enqueued_batches_total'), jobs: sum('promfleet_enqueued_jobs_total') };
}

/** Median of the per-window p99s and the largest, for "flat p99". */
function p99Spread(report: LoadgenReport): { median: number; max: number } {
  const p = report.windows.map((w) => w.p99Ms).filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  return { median: p[Math.floor(p.length / 2)] ?? NaN, max: p[p.length - 1] ?? NaN };
}

/** Flags that put the queue on `queue`; the postgres backend keeps it in the storage database. */
function queueFlags(run: E2eRun): string[] {
  return run.queue === 'redis'
    ? [`--redis.url=${BENCH_REDIS_URL}`, `--queue.prefix=${run.prefix}`]
    : ['--queue.backend=postgres', `--queue.prefix=${run.prefix}`];
}

/** Starts the processes, sends the load, waits for the rest to become durable, stops them. */
export async function measureE2e(run: E2eRun, errors: string[]): Promise<E2eMeasured> {
  const { load, say } = run;
  const children: Child[] = [];
  const observer = new pg.Client({ connectionString: run.dbUrl, application_name: 'promfleet bench observer' });
  // Redis's CPU is only part of the budget when the queue is there.
  const redis = run.queue === 'redis' ? new Redis(BENCH_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 }) : undefined;
  try {
    const common = [`--pg.url=${run.dbUrl}`, '--pg.schema=bench', ...queueFlags(run)];
    say(`  starting promfleet worker and ingress (queue on ${run.queue}) …`);
    const worker = await startPromfleet('worker', common);
    children.push(worker);
    const ingress = await startPromfleet('ingress', common);
    children.push(ingress);
    await observer.connect();
    await redis?.connect();
    const reading = async (): Promise<CpuReading> => ({
      machine: machineBusySeconds(), ingress: ingress.cpuSeconds(), worker: worker.cpuSeconds(), loadgen: ownCpuSeconds(),
      ...(redis ? { redis: await redisCpuSeconds(redis) } : {}),
    });

    say(`  loadgen: ${load.series} series × ${load.replicas} replicas at ${load.rate} samples/s for ${load.seconds} s …`);
    const written: Array<{ t: number; s: number }> = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        written.push({ t: performance.now(), s: await ledgerSamples(observer) });
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
    const cpu0 = ingress.cpuSeconds();
    const before = await reading();
    const durable0 = await ledgerSamples(observer);
    const t0 = performance.now();
    const loadDone = new AbortController();
    const backlogPoints = sampleBacklog({
      ingressPort: ingress.port, observer, group: 'bench', durable: () => ledgerSamples(observer), everyMs: 60_000, signal: loadDone.signal,
    });
    const report = await runLoadgen(loadOptions(`http://127.0.0.1:${ingress.port}/write`, load)).finally(() => loadDone.abort());
    const t1 = performance.now();
    const backlog = await backlogPoints;
    const after = await reading();
    const durable1 = await ledgerSamples(observer);
    const ingressCpu = ingress.cpuSeconds() - cpu0;
    const budget = cpuBudget(before, after, durable1 - durable0, (t1 - t0) / 1000);
    polling = false;
    await poller;
    // Durable rate while the load ran, after a warm-up (election, first-seen series).
    const warm = t0 + Math.min(5000, (t1 - t0) / 4);
    const inWindow = written.filter((w) => w.t >= warm && w.t <= t1);
    const first = inWindow[0];
    const last = inWindow[inWindow.length - 1];
    const durable = first && last && last.t > first.t ? ((last.s - first.s) * 1000) / (last.t - first.t) : NaN;
    // How long the rest takes to become durable once the load stops.
    const leaderShare = report.samplesAccepted / load.replicas;
    const drainStart = performance.now();
    let total = await ledgerSamples(observer);
    while (total < leaderShare * 0.999 && performance.now() - drainStart < 120_000) {
      await new Promise((r) => setTimeout(r, 500));
      total = await ledgerSamples(observer);
    }
    const drainSeconds = (performance.now() - drainStart) / 1000;
    const spread = p99Spread(report);
    const queued = await queuedJobs(ingress.port).catch((err: unknown) => ({ error: (err as Error).message }));
    const ingressRss = ingress.rssBytes();
    const workerRss = worker.rssBytes();
    const bad = Object.entries(report.statuses).filter(([s]) => !s.startsWith('2'));
    if (bad.length > 0) errors.push(`e2e (queue on ${run.queue}): requests not answered 2xx: ${JSON.stringify(report.statuses)}`);
    return {
      report, budget, durable, drainSeconds, ingressCpu, ingressRss, workerRss, spread, queued, backlog,
      details: { cpuBudget: budget, durable, drainSeconds, writtenTotal: total, leaderShare, ingressCpuSeconds: ingressCpu, ingressRss, workerRss, spread, queued, backlog },
    };
  } finally {
    for (const c of children.reverse()) await c.stop().catch((err: unknown) => errors.push(`stop ${c.name}: ${(err as Error).message}`));
    await observer.end().catch(() => undefined);
    redis?.disconnect();
  }
}

/**
 * End to end on this machine, load generator included: `promfleet loadgen`'s sender in this
 * process → `promfleet ingress` (its own process) → Redis → `promfleet worker` (its own process)
 * → PostgreSQL. Figures: the durable rate (sample rows committed per second while the load
 * runs, from the batch ledger) beside raw binary COPY measured in the same run, the accepted
 * rate, p99 write latency per 10 s (flat or not), ingress CPU per sample, and both processes' RSS.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { runLoadgen, type LoadgenReport } from '../src/loadgen/index.js';
import { measureCopyCeiling } from './copy-ceiling.js';
import { cpuBudget, machineBusySeconds, ownCpuSeconds, redisCpuSeconds, type CpuReading } from './cpu-budget.js';
import { E2E, scaled } from './env.js';
import { startPromfleet, type Child } from './processes.js';
import type { Figure } from './report.js';
import { BENCH_REDIS_URL, createScratchDatabase, deleteRedisPrefix } from './scratch-db.js';
import type { BenchResult } from './write-path.js';

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

export async function e2eBenchmark(say: (line: string) => void): Promise<BenchResult> {
  const figures: Figure[] = [];
  const errors: string[] = [];
  const load: E2eLoad = { series: E2E.series, replicas: E2E.replicas, rate: E2E.rate, seconds: E2E.seconds };
  const details: Record<string, unknown> = { load };
  const db = await createScratchDatabase();
  const prefix = `pfbench_e2e_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const children: Child[] = [];
  const observer = new pg.Client({ connectionString: db.url, application_name: 'promfleet bench observer' });
  const redis = new Redis(BENCH_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    say('  raw binary COPY (ceiling) …');
    const copy = await measureCopyCeiling({ url: db.url, table: 'ceiling_samples', series: 10_000, rows: scaled(500_000, 10_000), rowsPerCopy: 100_000 });
    details.rawCopy = copy;
    const common = [`--pg.url=${db.url}`, '--pg.schema=bench', `--redis.url=${BENCH_REDIS_URL}`, `--queue.prefix=${prefix}`];
    say('  starting promfleet worker and ingress …');
    const worker = await startPromfleet('worker', common);
    children.push(worker);
    const ingress = await startPromfleet('ingress', common);
    children.push(ingress);
    await observer.connect();
    await redis.connect();
    const reading = async (): Promise<CpuReading> => ({
      machine: machineBusySeconds(), ingress: ingress.cpuSeconds(), worker: worker.cpuSeconds(), redis: await redisCpuSeconds(redis), loadgen: ownCpuSeconds(),
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
    const report = await runLoadgen(loadOptions(`http://127.0.0.1:${ingress.port}/write`, load));
    const t1 = performance.now();
    const after = await reading();
    const durable1 = await ledgerSamples(observer);
    const ingressCpu = ingress.cpuSeconds() - cpu0;
    const budget = cpuBudget(before, after, durable1 - durable0, (t1 - t0) / 1000);
    polling = false;
    await poller;
    details.loadgen = report;
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
    details.result = { cpuBudget: budget, durable, drainSeconds, writtenTotal: total, leaderShare, ingressCpuSeconds: ingressCpu, ingressRss, workerRss, spread, queued };
    const bad = Object.entries(report.statuses).filter(([s]) => !s.startsWith('2'));
    if (bad.length > 0) errors.push(`e2e: requests not answered 2xx: ${JSON.stringify(report.statuses)}`);

    figures.push({
      name: 'e2e durable', value: durable, unit: 'samples/s',
      ceiling: { name: 'raw COPY', value: copy },
      note: `rows committed per second while the load ran (${load.replicas > 1 ? 'the leader replica\'s samples; followers\' are retained, not written' : 'one replica'}); the rest durable ${drainSeconds.toFixed(1)} s after the load stopped`,
    });
    const perJob = 'jobs' in queued && queued.jobs > 0 ? ` in ${queued.jobs} queue jobs for ${queued.batches} batches` : '';
    figures.push({
      name: 'e2e accepted', value: report.achievedSamplesPerSec, unit: 'samples/s',
      peers: [{ name: 'target', value: load.rate }],
      note: `samples answered 204 per second, all ${load.replicas} replicas (${JSON.stringify(report.statuses)})${perJob}`,
    });
    figures.push({
      name: 'e2e p99', value: report.latencyMs.p99, unit: 'ms',
      peers: [{ name: 'median 10 s p99', value: spread.median }, { name: 'worst 10 s p99', value: spread.max }],
      note: 'write request latency; flat when the worst 10 s window is near the median one',
    });
    const perSample = (ingressCpu * 1e6) / report.samplesAccepted;
    figures.push({
      name: 'ingress CPU', value: perSample, unit: 'µs/sample',
      peers: [{ name: 'target 1 µs', value: 1 }],
      note: 'the ingress process\'s CPU time (HTTP, decode, validate, tag, enqueue) per sample answered 204',
    });
    const parts = Object.entries(budget.perDurableSampleUs);
    figures.push({
      name: 'e2e CPU', value: parts.reduce((sum, [, v]) => sum + v, 0), unit: 'µs/durable sample',
      ceiling: { name: 'the cores', value: budget.availableUs },
      parts: parts.map(([name, value]) => ({ name, value })),
      note: 'CPU per durable sample while the load ran, by process (the load generator is this process; PostgreSQL and the rest is the machine\'s total less the others); beside it, what the machine\'s cores give per durable sample at the measured rate',
    });
    figures.push({ name: 'ingress RSS', value: ingressRss.peak / 2 ** 20, unit: 'MiB peak', peers: [{ name: 'target 200 MiB', value: 200 }] });
    figures.push({ name: 'worker RSS', value: workerRss.peak / 2 ** 20, unit: 'MiB peak', peers: [{ name: 'target 500 MiB', value: 500 }], note: `${load.series} series cached` });
  } finally {
    for (const c of children.reverse()) await c.stop().catch((err: unknown) => errors.push(`stop ${c.name}: ${(err as Error).message}`));
    await observer.end().catch(() => undefined);
    redis.disconnect();
    await deleteRedisPrefix(BENCH_REDIS_URL, prefix).catch((err: unknown) => errors.push(`redis clean-up: ${(err as Error).message}`));
    await db.drop().catch((err: unknown) => errors.push(`drop ${db.name}: ${(err as Error).message}`));
  }
  return { figures, details, errors };
}

/**
 * End to end on this machine, load generator included: `promfleet loadgen`'s sender in this
 * process → `promfleet ingress` (its own process) → the queue → `promfleet worker` (its own
 * process) → PostgreSQL, once with the queue on Redis and once on PostgreSQL (in the storage
 * database). Figures for each: the durable rate (sample rows committed per second while the load
 * runs, from the batch ledger) beside raw binary COPY measured in the same run, the accepted
 * rate, p99 write latency per 10 s (flat or not), ingress CPU per sample, and both processes' RSS.
 */
import { randomBytes } from 'node:crypto';
import { backlogFigure } from './backlog.js';
import { measureCopyCeiling } from './copy-ceiling.js';
import { E2E, scaled } from './env.js';
import { measureIngressFloor, type IngressFloor } from './ingress-floor.js';
import { measureE2e, type E2eLoad, type E2eMeasured, type QueueKind } from './e2e-run.js';
import type { Figure } from './report.js';
import { BENCH_REDIS_URL, createScratchDatabase, deleteRedisPrefix } from './scratch-db.js';
import type { BenchResult } from './write-path.js';

export { loadOptions, type E2eLoad } from './e2e-run.js';

/**
 * The Redis run's lines keep their names (comparable with earlier runs); the PostgreSQL
 * run's carry `pg-queue` in front.
 */
function e2eFigures(queue: QueueKind, m: E2eMeasured, load: E2eLoad, copy: number, floor: IngressFloor): Figure[] {
  const name = (n: string) => (queue === 'redis' ? n : `pg-queue ${n}`);
  const where = queue === 'redis' ? '' : ' (queue on PostgreSQL, in the storage database)';
  const { report, budget, spread, queued } = m;
  const figures: Figure[] = [];
  figures.push({
    name: name('e2e durable'), value: m.durable, unit: 'samples/s',
    ceiling: { name: 'raw COPY', value: copy },
    note: `rows committed per second while the load ran${where} (${load.replicas > 1 ? 'the leader replica\'s samples; followers\' are retained, not written' : 'one replica'}); the rest durable ${m.drainSeconds.toFixed(1)} s after the load stopped`,
  });
  figures.push(backlogFigure(name('e2e backlog'), m.backlog, report.achievedSamplesPerSec / load.replicas));
  const perJob = 'jobs' in queued && queued.jobs > 0 ? ` in ${queued.jobs} queue jobs for ${queued.batches} batches` : '';
  figures.push({
    name: name('e2e accepted'), value: report.achievedSamplesPerSec, unit: 'samples/s',
    peers: [{ name: 'target', value: load.rate }],
    note: `samples answered 204 per second, all ${load.replicas} replicas (${JSON.stringify(report.statuses)})${perJob}`,
  });
  figures.push({
    name: name('e2e p99'), value: report.latencyMs.p99, unit: 'ms',
    peers: [{ name: 'median 10 s p99', value: spread.median }, { name: 'worst 10 s p99', value: spread.max }],
    note: 'write request latency; flat when the worst 10 s window is near the median one',
  });
  const perSample = (m.ingressCpu * 1e6) / report.samplesAccepted;
  figures.push({
    name: name('ingress CPU'), value: perSample, unit: 'µs/sample',
    peers: [{ name: 'target 1 µs', value: 1 }, { name: 'snappy alone', value: floor.snappyUs }, { name: 'snappy + decode', value: floor.decodeUs }],
    note: `the ingress process's CPU time (HTTP, decode, validate, tag, enqueue) per sample answered 204; beside it, on one core and bodies of this shape, snappy decompression alone and with promfleet's decoder: the rest, ${(perSample - floor.decodeUs).toFixed(2)} µs, is HTTP, validation, tagging and the enqueue`,
  });
  const parts = Object.entries(budget.perDurableSampleUs);
  figures.push({
    name: name('e2e CPU'), value: parts.reduce((sum, [, v]) => sum + v, 0), unit: 'µs/durable sample',
    ceiling: { name: 'the cores', value: budget.availableUs },
    parts: parts.map(([n, value]) => ({ name: n, value })),
    note: `CPU per durable sample while the load ran, by process (the load generator is this process; PostgreSQL and the rest is the machine's total less the others${queue === 'redis' ? '' : ', the queue\'s work included'}); beside it, what the machine's cores give per durable sample at the measured rate`,
  });
  figures.push({ name: name('ingress RSS'), value: m.ingressRss.peak / 2 ** 20, unit: 'MiB peak', peers: [{ name: 'target 200 MiB', value: 200 }] });
  figures.push({ name: name('worker RSS'), value: m.workerRss.peak / 2 ** 20, unit: 'MiB peak', peers: [{ name: 'target 500 MiB', value: 500 }], note: `${load.series} series cached` });
  return figures;
}

const freshPrefix = () => `pfbench_e2e_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;

export async function e2eBenchmark(say: (line: string) => void): Promise<BenchResult> {
  const figures: Figure[] = [];
  const errors: string[] = [];
  const load: E2eLoad = { series: E2E.series, replicas: E2E.replicas, rate: E2E.rate, seconds: E2E.seconds };
  const details: Record<string, unknown> = { load };

  // Queue on Redis, in a scratch database where raw COPY is measured first.
  const db = await createScratchDatabase();
  const prefix = freshPrefix();
  let copy = NaN;
  say('  snappy and decode alone, on bodies of the load\'s shape …');
  const floor = measureIngressFloor(load.series);
  details.ingressFloor = floor;
  try {
    say('  raw binary COPY (ceiling) …');
    copy = await measureCopyCeiling({ url: db.url, table: 'ceiling_samples', series: 10_000, rows: scaled(500_000, 10_000), rowsPerCopy: 100_000 });
    details.rawCopy = copy;
    const m = await measureE2e({ queue: 'redis', load, dbUrl: db.url, prefix, say }, errors);
    details.loadgen = m.report;
    details.result = m.details;
    figures.push(...e2eFigures('redis', m, load, copy, floor));
  } catch (err) {
    errors.push(`e2e (queue on redis): ${(err as Error).stack ?? String(err)}`);
  } finally {
    await deleteRedisPrefix(BENCH_REDIS_URL, prefix).catch((err: unknown) => errors.push(`redis clean-up: ${(err as Error).message}`));
    await db.drop().catch((err: unknown) => errors.push(`drop ${db.name}: ${(err as Error).message}`));
  }
  if (!Number.isFinite(copy)) return { figures, details, errors };

  // Queue on PostgreSQL, in a scratch database of its own (its queue schema goes with it).
  const pgLoad: E2eLoad = { ...load, seconds: E2E.pgSeconds };
  const pgDb = await createScratchDatabase();
  try {
    const m = await measureE2e({ queue: 'postgres', load: pgLoad, dbUrl: pgDb.url, prefix: freshPrefix(), say }, errors);
    details.postgresQueue = { load: pgLoad, loadgen: m.report, result: m.details };
    figures.push(...e2eFigures('postgres', m, pgLoad, copy, floor));
  } catch (err) {
    errors.push(`e2e (queue on postgres): ${(err as Error).stack ?? String(err)}`);
  } finally {
    await pgDb.drop().catch((err: unknown) => errors.push(`drop ${pgDb.name}: ${(err as Error).message}`));
  }
  return { figures, details, errors };
}

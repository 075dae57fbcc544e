/**
 * Peers on the same load: the same `promfleet loadgen` traffic (node_exporter-shaped series of
 * an HA pair, 500 series a request, 8 connections) sent as fast as each receiver takes it, for
 * PROMFLEET_BENCH_PEER_SECONDS each, to:
 * - Prometheus as a remote-write receiver (Debian's `prometheus`, --web.enable-remote-write-receiver):
 *   a 2xx means the samples are in its head block, searchable at once, in its WAL (fsynced
 *   later, like Redis's everysec);
 * - VictoriaMetrics (Debian's `victoria-metrics`): a 2xx means accepted into memory buffers;
 *   they reach disk and become searchable some seconds later;
 * - promfleet (ingress and worker processes): a 2xx means in Redis; durable in PostgreSQL is
 *   counted apart, from the batch ledger.
 * A peer whose binary is not installed is reported as such, not as a failure.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { runLoadgen, type LoadgenReport } from '../src/loadgen/index.js';
import { loadOptions } from './e2e.js';
import { E2E, PEER_RATE, PEER_SECONDS } from './env.js';
import { answers200, findExecutable, freePort, startChild, startPromfleet, type Child } from './processes.js';
import type { Figure } from './report.js';
import { BENCH_REDIS_URL, createScratchDatabase, deleteRedisPrefix } from './scratch-db.js';
import type { BenchResult } from './write-path.js';

interface PeerRun {
  readonly report: LoadgenReport;
  readonly cpuSeconds: number;
  readonly rssPeakBytes: number;
}

const load = () => ({ series: E2E.series, replicas: E2E.replicas, rate: PEER_RATE, seconds: PEER_SECONDS });

async function drive(child: Child, urlPath: string): Promise<PeerRun> {
  const cpu0 = child.cpuSeconds();
  const report = await runLoadgen(loadOptions(`http://127.0.0.1:${child.port}${urlPath}`, load()));
  return { report, cpuSeconds: child.cpuSeconds() - cpu0, rssPeakBytes: child.rssBytes().peak };
}

async function prometheusPeer(dir: string): Promise<PeerRun | 'not installed'> {
  const bin = findExecutable(['prometheus']);
  if (!bin) return 'not installed';
  const config = path.join(dir, 'prometheus.yml');
  writeFileSync(config, 'global:\n  scrape_interval: 1m\n');
  const port = await freePort();
  const child = await startChild('prometheus', bin, [
    `--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, 'prometheus-data')}`, `--web.listen-address=127.0.0.1:${port}`,
    '--web.enable-remote-write-receiver', '--log.level=warn',
  ], port, (p) => answers200(p, '/-/ready'));
  try {
    return await drive(child, '/api/v1/write');
  } finally {
    await child.stop();
  }
}

async function victoriaMetricsPeer(dir: string): Promise<PeerRun | 'not installed'> {
  const bin = findExecutable(['victoria-metrics', 'victoria-metrics-prod', '/usr/bin/victoria-metrics']);
  if (!bin) return 'not installed';
  const port = await freePort();
  const child = await startChild('victoria-metrics', bin, [
    `-httpListenAddr=127.0.0.1:${port}`, `-storageDataPath=${path.join(dir, 'vm-data')}`, '-retentionPeriod=100y', '-loggerLevel=WARN',
  ], port, (p) => answers200(p, '/health'));
  try {
    return await drive(child, '/api/v1/write');
  } finally {
    await child.stop();
  }
}

/** promfleet on the same load: accepted (in Redis) and durable (in PostgreSQL while the load ran). */
async function promfleetPeer(errors: string[]): Promise<PeerRun & { durable: number }> {
  const db = await createScratchDatabase();
  const prefix = `pfbench_peer_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const common = [`--pg.url=${db.url}`, '--pg.schema=bench', `--redis.url=${BENCH_REDIS_URL}`, `--queue.prefix=${prefix}`];
  const children: Child[] = [];
  const observer = new pg.Client({ connectionString: db.url });
  try {
    children.push(await startPromfleet('worker', common));
    const ingress = await startPromfleet('ingress', common);
    children.push(ingress);
    await observer.connect();
    const written = async () => Number((await observer.query<{ s: string }>('SELECT coalesce(sum(samples), 0)::bigint AS s FROM bench.batches')).rows[0]?.s ?? 0);
    const w0 = await written();
    const t0 = performance.now();
    const run = await drive(ingress, '/write');
    const durable = ((await written()) - w0) * 1000 / (performance.now() - t0);
    return { ...run, durable };
  } finally {
    for (const c of children.reverse()) await c.stop().catch((err: unknown) => errors.push(`stop ${c.name}: ${(err as Error).message}`));
    await observer.end().catch(() => undefined);
    await deleteRedisPrefix(BENCH_REDIS_URL, prefix).catch((err: unknown) => errors.push(`redis clean-up: ${(err as Error).message}`));
    await db.drop().catch((err: unknown) => errors.push(`drop ${db.name}: ${(err as Error).message}`));
  }
}

export async function peersBenchmark(say: (line: string) => void): Promise<BenchResult> {
  const figures: Figure[] = [];
  const errors: string[] = [];
  const details: Record<string, unknown> = { load: load() };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'promfleet-bench-peers-'));
  try {
    say(`  promfleet (ingress + worker) at up to ${PEER_RATE} samples/s for ${PEER_SECONDS} s …`);
    const mine = await promfleetPeer(errors).catch((err: unknown) => {
      errors.push(`promfleet: ${(err as Error).message}`);
      return undefined;
    });
    details.promfleet = mine;
    const peers: Array<{ name: string; run: PeerRun | 'not installed' | undefined }> = [];
    for (const [name, fn] of [['Prometheus', prometheusPeer], ['VictoriaMetrics', victoriaMetricsPeer]] as const) {
      say(`  ${name} …`);
      const run = await fn(dir).catch((err: unknown) => {
        errors.push(`${name}: ${(err as Error).message}`);
        return undefined;
      });
      peers.push({ name, run });
      details[name] = run;
    }
    const ok = (r: PeerRun) => Object.entries(r.report.statuses).filter(([s]) => !s.startsWith('2')).length === 0;
    if (mine) {
      const peerRefs = peers.flatMap((p) => (p.run && p.run !== 'not installed' ? [{ name: p.name, value: p.run.report.achievedSamplesPerSec }] : []));
      figures.push({
        name: 'promfleet durable', value: mine.durable, unit: 'samples/s', peers: peerRefs,
        note: 'rows committed to PostgreSQL per second on the peers\' load (leader replica only)',
      });
      figures.push({
        name: 'promfleet accepted', value: mine.report.achievedSamplesPerSec, unit: 'samples/s', peers: peerRefs,
        note: `answered 204 (in Redis), all replicas; ${(mine.cpuSeconds * 1e6 / mine.report.samplesAccepted).toFixed(2)} µs ingress CPU a sample${ok(mine) ? '' : `; ${JSON.stringify(mine.report.statuses)}`}`,
      });
    }
    for (const p of peers) {
      if (p.run === 'not installed') {
        figures.push({ name: p.name, value: NaN, unit: 'peer not installed', note: `install Debian's ${p.name === 'Prometheus' ? 'prometheus' : 'victoria-metrics'} to measure it` });
      } else if (p.run) {
        figures.push({
          name: p.name, value: p.run.report.achievedSamplesPerSec, unit: 'samples/s',
          note: `answered 2xx, all replicas; ${(p.run.cpuSeconds * 1e6 / p.run.report.samplesAccepted).toFixed(2)} µs CPU a sample, ${(p.run.rssPeakBytes / 2 ** 20).toFixed(0)} MiB peak RSS${ok(p.run) ? '' : `; ${JSON.stringify(p.run.report.statuses)}`}`,
        });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { figures, details, errors };
}

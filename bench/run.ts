/**
 * `npm run bench`: runs each benchmark, prints every figure beside its ceiling measured in the
 * same run, and writes the run to bench/results/<timestamp>.json. Not part of `npm test`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { repoRoot } from './payloads.js';
import { formatFigure, type Figure } from './report.js';
import { BENCH_PG_URL } from './scratch-db.js';
import { readPathBenchmark } from './read-path.js';
import { writePathBenchmark } from './write-path.js';
import { e2eBenchmark } from './e2e.js';
import { peersBenchmark } from './peers.js';
import { newSeriesBenchmark } from './new-series.js';
import { growthBenchmark } from './growth.js';
import { storageVariantsBenchmark } from './storage-variants.js';

interface Benchmark {
  readonly name: string;
  run(say: (line: string) => void): Promise<{ figures: Figure[]; details: Record<string, unknown>; errors: string[] }>;
}

/** PROMFLEET_BENCH_ONLY=e2e,peers runs only those (comma-separated names). */
const ONLY = process.env.PROMFLEET_BENCH_ONLY?.split(',').map((s) => s.trim()).filter(Boolean);

const ALL_BENCHMARKS: readonly Benchmark[] = [
  { name: 'write-path', run: writePathBenchmark },
  { name: 'e2e', run: e2eBenchmark },
  { name: 'new-series', run: newSeriesBenchmark },
  { name: 'growth', run: growthBenchmark },
  { name: 'storage-variants', run: storageVariantsBenchmark },
  { name: 'read-path', run: readPathBenchmark },
  { name: 'peers', run: peersBenchmark },
];

const unknown = (ONLY ?? []).filter((n) => !ALL_BENCHMARKS.some((b) => b.name === n));
if (unknown.length > 0) throw new Error(`PROMFLEET_BENCH_ONLY: no benchmark ${unknown.join(', ')} (have ${ALL_BENCHMARKS.map((b) => b.name).join(', ')})`);
const BENCHMARKS = ONLY && ONLY.length > 0 ? ALL_BENCHMARKS.filter((b) => ONLY.includes(b.name)) : ALL_BENCHMARKS;

async function serverVersion(): Promise<string> {
  const c = new pg.Client({ connectionString: BENCH_PG_URL });
  await c.connect();
  try {
    return (await c.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0]?.v ?? 'unknown';
  } finally {
    await c.end();
  }
}

async function main(): Promise<number> {
  const startedAt = new Date();
  const say = (line: string) => process.stderr.write(`${line}\n`);
  const machine = {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryBytes: os.totalmem(),
    node: process.version,
    postgres: await serverVersion().catch((err: unknown) => `unreachable: ${(err as Error).message}`),
  };
  const results: Array<{ name: string; ms: number; figures: Figure[]; details: Record<string, unknown>; errors: string[] }> = [];
  for (const b of BENCHMARKS) {
    say(`${b.name}:`);
    const t0 = Date.now();
    const r = await b.run(say).catch((err: unknown) => ({ figures: [], details: {}, errors: [(err as Error).stack ?? String(err)] }));
    results.push({ name: b.name, ms: Date.now() - t0, ...r });
  }

  const lines: string[] = [];
  lines.push(`promfleet bench ${startedAt.toISOString()} · ${machine.cpus} × ${machine.cpuModel} · node ${machine.node} · PostgreSQL ${machine.postgres}`);
  for (const r of results) {
    lines.push('', `${r.name} (${(r.ms / 1000).toFixed(1)} s)`);
    // Names longer than the usual column (the e2e's `pg-queue …` lines) widen it for their benchmark.
    const width = Math.max(18, ...r.figures.map((f) => f.name.length));
    for (const f of r.figures) lines.push(`  ${formatFigure(f, width)}`);
    for (const e of r.errors) lines.push(`  ERROR ${e}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);

  const dir = path.join(repoRoot(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({ startedAt: startedAt.toISOString(), machine, benchmarks: results }, null, 2)}\n`);
  process.stdout.write(`\nwritten ${path.relative(process.cwd(), file)}\n`);
  return results.some((r) => r.errors.length > 0) ? 1 : 0;
}

main().then((code) => {
  process.exitCode = code;
  if (process.env.PROMFLEET_BENCH_DEBUG_HANDLES) setTimeout(() => process.stderr.write(`still open: ${process.getActiveResourcesInfo().join(', ')}\n`), 2000).unref();
}, (err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});

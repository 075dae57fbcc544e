/**
 * Remote-write bodies for the benchmarks: the captured Prometheus 2.42 requests in test/fixtures
 * when they are there, and synthetic node_exporter-shaped requests (8 labels, one sample per
 * series, 500 series a request) whose timestamps advance, so no two bodies are alike.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeWriteRequest, snappyCompress, type TimeSeries } from '../src/protocol/index.js';

/** The checkout's root: the nearest folder up from this file with a package.json (src or dist). */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5 && !existsSync(path.join(dir, 'package.json')); i++) dir = path.dirname(dir);
  return dir;
}

export const FIXTURES_DIR = process.env.PROMFLEET_FIXTURES ?? path.resolve(repoRoot(), 'test/fixtures/prometheus-2.42');

/** The captured write bodies (snappy block + protobuf), or [] when the fixtures are absent. */
export function fixtureBodies(): Buffer[] {
  if (!existsSync(FIXTURES_DIR)) return [];
  const out: Buffer[] = [];
  for (const replica of readdirSync(FIXTURES_DIR).filter((d) => d.startsWith('replica-')).sort()) {
    const dir = path.join(FIXTURES_DIR, replica);
    for (const f of readdirSync(dir).filter((n) => /^write-\d+\.bin$/.test(n)).sort()) out.push(readFileSync(path.join(dir, f)));
  }
  return out;
}

export interface SyntheticOptions {
  /** Distinct series; requests cycle through them. */
  readonly series: number;
  readonly seriesPerRequest: number;
  readonly requests: number;
  readonly startMs: number;
  /** External labels as Prometheus adds them (e.g. cluster / __replica__). */
  readonly external?: Readonly<Record<string, string>>;
}

const MODES = ['idle', 'user', 'system', 'iowait', 'irq', 'softirq', 'steal', 'nice'];

/** The labels of series number `s`, sorted by name: ~8 labels like node_exporter's. */
function seriesLabels(s: number, external: Readonly<Record<string, string>>): Array<{ name: string; value: string }> {
  const labels: Record<string, string> = {
    __name__: `node_bench_metric_${s % 200}_total`,
    cpu: String(s % 16),
    device: `dev${Math.floor(s / 16) % 8}`,
    instance: `host-${Math.floor(s / 500)}.example:9100`,
    job: 'node',
    mode: MODES[s % MODES.length]!,
    ...external,
  };
  return Object.keys(labels).sort().map((name) => ({ name, value: labels[name]! }));
}

/** The label sets of series 0..n-1 as syntheticBodies sends them (no external labels). */
function labelSets(n: number): Array<Array<{ name: string; value: string }>> {
  return Array.from({ length: n }, (_, s) => seriesLabels(s, {}));
}

/** Compressed bodies; request r carries series [r·k, r·k + k) mod `series`, each at its scrape's time. */
function bodiesOf(opts: SyntheticOptions): { bodies: Buffer[]; samples: number } {
  const labelSets = Array.from({ length: opts.series }, (_, s) => seriesLabels(s, opts.external ?? {}));
  const bodies: Buffer[] = [];
  let samples = 0;
  for (let r = 0; r < opts.requests; r++) {
    const timeseries: TimeSeries[] = [];
    for (let k = 0; k < opts.seriesPerRequest; k++) {
      const n = r * opts.seriesPerRequest + k;
      const s = n % opts.series;
      const scrape = Math.floor(n / opts.series);
      timeseries.push({
        labels: labelSets[s]!,
        samples: [{ timestamp: opts.startMs + scrape * 1000 + (s % 1000), value: s * 10 + scrape * 0.5 }],
        exemplars: [],
        histograms: [],
      });
      samples++;
    }
    bodies.push(Buffer.from(snappyCompress(encodeWriteRequest({ timeseries, metadata: [] }))));
  }
  return { bodies, samples };
}

/** Synthetic bodies (see bodiesOf); `syntheticBodies.labelSets(n)` gives the label sets they carry. */
export const syntheticBodies = Object.assign(bodiesOf, { labelSets });

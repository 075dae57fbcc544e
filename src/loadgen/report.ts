import type { LoadgenReport } from './run.js';

const k = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0));

/** The report as a few lines of text. */
export function formatLoadgenReport(r: LoadgenReport): string {
  const statuses = Object.entries(r.statuses).sort().map(([s, n]) => `${s}: ${n}`).join(', ');
  const p99s = r.windows.map((w) => w.p99Ms.toFixed(0)).join(' ');
  return [
    `achieved ${k(r.achievedSamplesPerSec)} samples/s accepted (target ${k(r.targetSamplesPerSec)}) over ${r.seconds.toFixed(1)} s`,
    `requests ${r.requests} (${statuses}); samples sent ${r.samplesSent}, accepted ${r.samplesAccepted}`,
    `latency ms p50 ${r.latencyMs.p50.toFixed(1)} p90 ${r.latencyMs.p90.toFixed(1)} p99 ${r.latencyMs.p99.toFixed(1)} max ${r.latencyMs.max.toFixed(1)}`,
    `p99 ms per 10 s: ${p99s}`,
  ].join('\n');
}

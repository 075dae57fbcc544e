/**
 * The data the read benchmark reads: `series` node_exporter-shaped counters scraped every
 * `stepMs` over one hour, as remote-write time series (so promfleet's writer and a Prometheus
 * receiver can both be given exactly the same samples).
 */
import type { Label, TimeSeries } from '../src/protocol/index.js';

export const READ_METRIC = 'node_network_receive_bytes_total';
export const READ_JOB = 'read-bench';

export interface ReadData {
  readonly startMs: number;
  readonly endMs: number;
  readonly series: number;
  readonly samplesPerSeries: number;
  /** Every series with all its samples, labels sorted. */
  readonly timeseries: TimeSeries[];
}

function labels(i: number): Label[] {
  const o: Record<string, string> = {
    __name__: READ_METRIC,
    cluster: 'bench',
    device: `eth${i % 8}`,
    instance: `host-${String(Math.floor(i / 8)).padStart(4, '0')}:9100`,
    job: READ_JOB,
    region: `r${i % 3}`,
    team: `t${i % 5}`,
    zone: `z${i % 4}`,
  };
  return Object.entries(o).map(([name, value]) => ({ name, value })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** One hour ending at `endMs` (exclusive), a sample every `stepMs` per series, with scrape jitter. */
export function readData(series: number, stepMs: number, endMs: number): ReadData {
  const startMs = endMs - 3_600_000;
  const perSeries = Math.floor(3_600_000 / stepMs);
  const timeseries: TimeSeries[] = [];
  for (let i = 0; i < series; i++) {
    const samples = new Array<{ timestamp: number; value: number }>(perSeries);
    let v = i * 1_000;
    for (let k = 0; k < perSeries; k++) {
      // A counter with an irregular rate, timestamps a few ms off the grid as real scrapes are.
      v += 1_500 + ((i * 7919 + k * 104_729) % 3_000);
      samples[k] = { timestamp: startMs + k * stepMs + ((i + k) % 7), value: v };
    }
    timeseries.push({ labels: labels(i), samples, exemplars: [], histograms: [] });
  }
  return { startMs, endMs, series, samplesPerSeries: perSeries, timeseries };
}

/** The same series cut in time slices of `sliceMs`, every series in each: in time order, as Prometheus sends. */
export function timeSlices(data: ReadData, sliceMs: number): TimeSeries[][] {
  const out: TimeSeries[][] = [];
  for (let from = data.startMs; from < data.endMs; from += sliceMs) {
    out.push(data.timeseries.map((ts) => ({
      labels: ts.labels,
      samples: ts.samples.filter((s) => s.timestamp >= from && s.timestamp < from + sliceMs),
      exemplars: [],
      histograms: [],
    })));
  }
  return out;
}

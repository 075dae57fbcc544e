import type { TimeSeries } from './types.js';

/**
 * The series without the named label (the HA replica label is never stored). Series that do
 * not carry it are returned as they are; the others are shallow copies. Labels stay sorted.
 */
export function withoutLabel(series: readonly TimeSeries[], name: string): TimeSeries[] {
  const out = new Array<TimeSeries>(series.length);
  for (let i = 0; i < series.length; i++) {
    const ts = series[i];
    const at = ts.labels.findIndex((l) => l.name === name);
    out[i] = at < 0 ? ts : { ...ts, labels: ts.labels.slice(0, at).concat(ts.labels.slice(at + 1)) };
  }
  return out;
}

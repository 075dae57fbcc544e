import type { Label, TimeSeries } from './types.js';

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

/**
 * The labels with `name`="`value`" added when they have no label `name` (as they are
 * otherwise). Sorted labels stay sorted: the new one goes before the first name above it.
 */
export function withLabelIfAbsent(labels: Label[], name: string, value: string): Label[] {
  let at = labels.length;
  for (let i = 0; i < labels.length; i++) {
    const n = labels[i].name;
    if (n === name) return labels;
    if (at === labels.length && n > name) at = i;
  }
  const out = labels.slice(0, at);
  out.push({ name, value });
  for (let i = at; i < labels.length; i++) out.push(labels[i]);
  return out;
}

/** withLabelIfAbsent for every series: those that carry `name` already are returned as they are. */
export function withSeriesLabel(series: readonly TimeSeries[], name: string, value: string): TimeSeries[] {
  return series.map((ts) => {
    const labels = withLabelIfAbsent(ts.labels, name, value);
    return labels === ts.labels ? ts : { ...ts, labels };
  });
}

import type { Label, TimeSeries } from '../protocol/index.js';

/**
 * The column form of a batch on its way to COPY: series flattened into rows, rows narrowed to
 * the ones to write, several batches' rows joined into one statement's worth. Pure functions,
 * no SQL.
 */

/** Sample columns of one batch, in the order COPY sends them. */
export interface Flattened {
  readonly labels: Label[][];
  readonly timestampsMs: Float64Array;
  readonly values: Float64Array;
  /** Index into `labels` for every sample row. */
  readonly seriesOfRow: Uint32Array;
  readonly exemplars: { readonly series: number; readonly exemplar: TimeSeries['exemplars'][number] }[];
  readonly histograms: { readonly series: number; readonly histogram: TimeSeries['histograms'][number] }[];
  /** Created (start) timestamps sent with a series, with the time of the series' newest sample or histogram. */
  readonly created: { readonly series: number; readonly createdMs: number; readonly timeMs: number }[];
  readonly minTimeMs: number;
  readonly maxTimeMs: number;
  /**
   * Series ids known before the write (the worker's cache of encoded labels): per series, its id,
   * or NaN when `labels[i]` must be resolved. Absent: every series is resolved from its labels.
   */
  readonly knownIds?: Float64Array;
  /** Told the id of every series resolved from its labels (the worker fills its cache so). */
  readonly onResolved?: (series: number, id: number) => void;
}

/** The sample rows that will be copied, with their series ids. */
export interface Rows {
  readonly seriesIds: Float64Array;
  readonly timestampsMs: Float64Array;
  readonly values: Float64Array;
  /** Oldest and newest row time, Unix ms; NaN when there are no rows. */
  readonly minTimeMs: number;
  readonly maxTimeMs: number;
}

export function flatten(timeseries: readonly TimeSeries[]): Flattened {
  let total = 0;
  for (const ts of timeseries) total += ts.samples.length;
  // Float64Array, not number[]: a V8 double array would quiet the stale-marker NaN.
  const timestampsMs = new Float64Array(total);
  const values = new Float64Array(total);
  const seriesOfRow = new Uint32Array(total);
  const labels: Label[][] = [];
  const exemplars: Flattened['exemplars'] = [];
  const histograms: Flattened['histograms'] = [];
  const created: Flattened['created'] = [];
  let row = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const ts of timeseries) {
    // A series with nothing to write is not resolved (no series row for an empty series).
    if (ts.samples.length === 0 && ts.exemplars.length === 0 && ts.histograms.length === 0) continue;
    const s = labels.length;
    labels.push(ts.labels);
    for (const sample of ts.samples) {
      const t = sample.timestamp;
      timestampsMs[row] = t;
      values[row] = sample.value;
      seriesOfRow[row] = s;
      if (t < min) min = t;
      if (t > max) max = t;
      row++;
    }
    for (const exemplar of ts.exemplars) exemplars.push({ series: s, exemplar });
    for (const histogram of ts.histograms) histograms.push({ series: s, histogram });
    if (ts.createdTimestamp !== undefined) {
      let newest = -Infinity;
      for (const sample of ts.samples) if (sample.timestamp > newest) newest = sample.timestamp;
      for (const h of ts.histograms) if (h.timestamp > newest) newest = h.timestamp;
      // Only with data: a created timestamp says when the counter of those samples started.
      if (newest !== -Infinity) created.push({ series: s, createdMs: ts.createdTimestamp, timeMs: newest });
    }
  }
  return {
    labels, timestampsMs, values, seriesOfRow, exemplars, histograms, created, minTimeMs: total ? min : NaN, maxTimeMs: total ? max : NaN,
  };
}

/** Every row of the batch, with `ids[i]` the series id of `flat.labels[i]`. */
export function allRows(flat: Flattened, ids: ArrayLike<number>): Rows {
  const n = flat.timestampsMs.length;
  const seriesIds = new Float64Array(n);
  for (let i = 0; i < n; i++) seriesIds[i] = ids[flat.seriesOfRow[i]];
  return { seriesIds, timestampsMs: flat.timestampsMs, values: flat.values, minTimeMs: flat.minTimeMs, maxTimeMs: flat.maxTimeMs };
}

/** The rows `keep` accepts (HA handoff filter), in batch order. */
export function selectRows(flat: Flattened, ids: ArrayLike<number>, keep: (seriesId: number, timestampMs: number) => boolean): Rows {
  const n = flat.timestampsMs.length;
  const seriesIds = new Float64Array(n);
  const timestampsMs = new Float64Array(n);
  const values = new Float64Array(n);
  let m = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const id = ids[flat.seriesOfRow[i]];
    const t = flat.timestampsMs[i];
    if (!keep(id, t)) continue;
    seriesIds[m] = id;
    timestampsMs[m] = t;
    values[m] = flat.values[i];
    if (t < min) min = t;
    if (t > max) max = t;
    m++;
  }
  return {
    seriesIds: seriesIds.subarray(0, m), timestampsMs: timestampsMs.subarray(0, m), values: values.subarray(0, m),
    minTimeMs: m ? min : NaN, maxTimeMs: m ? max : NaN,
  };
}

/** Several batches' rows as one COPY's worth, batch after batch. One part is returned as it is. */
export function concatRows(parts: readonly Rows[]): Rows {
  if (parts.length === 1) return parts[0];
  let n = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const p of parts) {
    n += p.timestampsMs.length;
    // NaN (an empty part) fails both comparisons and is skipped.
    if (p.minTimeMs < min) min = p.minTimeMs;
    if (p.maxTimeMs > max) max = p.maxTimeMs;
  }
  const seriesIds = new Float64Array(n);
  const timestampsMs = new Float64Array(n);
  const values = new Float64Array(n);
  let at = 0;
  for (const p of parts) {
    seriesIds.set(p.seriesIds, at);
    timestampsMs.set(p.timestampsMs, at);
    // Float64Array to Float64Array copies bytes: NaN payloads (the stale marker) survive.
    values.set(p.values, at);
    at += p.timestampsMs.length;
  }
  return { seriesIds, timestampsMs, values, minTimeMs: n ? min : NaN, maxTimeMs: n ? max : NaN };
}

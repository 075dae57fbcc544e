import type pg from 'pg';
import type { Exemplar, Histogram, Label } from '../protocol/index.js';
import { histogramFromJson } from './histogram-json.js';

/**
 * The native histograms and exemplars of selected series in a time range, for remote_read's
 * SAMPLES responses (prompb.TimeSeries carries both). Bounds are inclusive milliseconds, as for
 * samples; rows come ordered by time within each series.
 */
export interface SeriesExtras {
  histograms: Histogram[];
  exemplars: Exemplar[];
}

interface HistogramRow {
  series_id: string;
  ms: number;
  h: Record<string, unknown>;
}

interface ExemplarRow {
  series_id: string;
  ms: number;
  v: Buffer;
  labels: Record<string, string>;
}

function byName(a: Label, b: Label): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export async function readExtras(
  pool: pg.Pool, schema: string, ids: readonly string[], startMs: number, endMs: number,
): Promise<Map<string, SeriesExtras>> {
  const out = new Map<string, SeriesExtras>();
  const of = (id: string): SeriesExtras => {
    let e = out.get(id);
    if (!e) out.set(id, (e = { histograms: [], exemplars: [] }));
    return e;
  };
  const range = `series_id = ANY($1::bigint[]) AND time >= to_timestamp($2::float8 / 1000.0) AND time <= to_timestamp($3::float8 / 1000.0)`;
  const ms = `(round(extract(epoch FROM time) * 1000))::float8 AS ms`;
  const hs = await pool.query<HistogramRow>(
    `SELECT series_id::text AS series_id, ${ms}, histogram AS h FROM ${schema}.histograms WHERE ${range} ORDER BY series_id, time`,
    [ids, startMs, endMs]);
  for (const row of hs.rows) of(row.series_id).histograms.push({ ...histogramFromJson(row.h), timestamp: row.ms });
  const es = await pool.query<ExemplarRow>(
    `SELECT series_id::text AS series_id, ${ms}, float8send(value) AS v, labels FROM ${schema}.exemplars WHERE ${range} ORDER BY series_id, time`,
    [ids, startMs, endMs]);
  const dv = new DataView(new ArrayBuffer(8));
  const bytes = new Uint8Array(dv.buffer);
  for (const row of es.rows) {
    bytes.set(row.v.subarray(0, 8));
    const labels = Object.entries(row.labels).map(([name, value]) => ({ name, value })).sort(byName);
    of(row.series_id).exemplars.push({ labels, value: dv.getFloat64(0), timestamp: row.ms });
  }
  return out;
}

import type pg from 'pg';
import type { Exemplar, Histogram, MetricMetadata } from '../protocol/index.js';
import { quoteIdent } from './ident.js';
import { labelsToJson } from './labels.js';
import { histogramToJson } from './histogram-json.js';

/**
 * The statements a batch runs besides COPY: exemplars, native histograms and metric metadata,
 * each as one statement over unnest()ed arrays. Times arrive as Unix ms (bigint) and become
 * timestamptz in SQL by integer interval arithmetic, exact to the millisecond.
 */

export interface SeriesExemplar {
  readonly seriesId: number;
  readonly exemplar: Exemplar;
}

export interface SeriesHistogram {
  readonly seriesId: number;
  readonly histogram: Histogram;
}

export interface SeriesCreated {
  readonly seriesId: number;
  /** The created (start) timestamp, Unix ms. */
  readonly createdMs: number;
  /** Time of the sample it came with, Unix ms. */
  readonly timeMs: number;
}

export async function insertExemplars(client: pg.ClientBase, schema: string, rows: readonly SeriesExemplar[]): Promise<number> {
  if (rows.length === 0) return 0;
  const r = await client.query(
    `INSERT INTO ${quoteIdent(schema)}.exemplars (time, series_id, value, labels)
     SELECT timestamptz 'epoch' + t * interval '1 millisecond', s, v, l
     FROM unnest($1::bigint[], $2::bigint[], $3::float8[], $4::jsonb[]) AS u(t, s, v, l)`,
    [
      rows.map((r) => r.exemplar.timestamp),
      rows.map((r) => r.seriesId),
      rows.map((r) => r.exemplar.value),
      rows.map((r) => labelsToJson(r.exemplar.labels)),
    ],
  );
  return r.rowCount ?? 0;
}

export async function insertHistograms(client: pg.ClientBase, schema: string, rows: readonly SeriesHistogram[]): Promise<number> {
  if (rows.length === 0) return 0;
  const r = await client.query(
    `INSERT INTO ${quoteIdent(schema)}.histograms (time, series_id, histogram)
     SELECT timestamptz 'epoch' + t * interval '1 millisecond', s, h
     FROM unnest($1::bigint[], $2::bigint[], $3::jsonb[]) AS u(t, s, h)`,
    [
      rows.map((r) => r.histogram.timestamp),
      rows.map((r) => r.seriesId),
      rows.map((r) => histogramToJson(r.histogram)),
    ],
  );
  return r.rowCount ?? 0;
}

/**
 * Records created (start) timestamps: one row per series and created time, with the first sample
 * time it was seen with. A counter sends the same created timestamp with every sample until it
 * resets, so repeats are dropped (ON CONFLICT DO NOTHING, duplicates within the statement included).
 */
export async function insertCreated(client: pg.ClientBase, schema: string, rows: readonly SeriesCreated[]): Promise<number> {
  if (rows.length === 0) return 0;
  const r = await client.query(
    `INSERT INTO ${quoteIdent(schema)}.created_timestamps (series_id, created, first_seen)
     SELECT s, timestamptz 'epoch' + c * interval '1 millisecond', timestamptz 'epoch' + t * interval '1 millisecond'
     FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS u(s, c, t)
     ORDER BY s, c, t
     ON CONFLICT (series_id, created) DO NOTHING`,
    [rows.map((r) => r.seriesId), rows.map((r) => r.createdMs), rows.map((r) => r.timeMs)],
  );
  return r.rowCount ?? 0;
}

/**
 * Upserts metric metadata, one row per family. The batch is deduplicated first (the last
 * entry of a family wins: ON CONFLICT DO UPDATE cannot touch one row twice in a statement)
 * and sorted, so two transactions upserting overlapping families lock rows in the same order
 * and cannot deadlock. Unchanged rows are not rewritten (Prometheus resends all metadata
 * every minute): updated_at is the time the metadata last changed. Returns the families sent.
 */
export async function upsertMetadata(client: pg.ClientBase, schema: string, metadata: readonly MetricMetadata[]): Promise<number> {
  if (metadata.length === 0) return 0;
  const byFamily = new Map<string, MetricMetadata>();
  for (const m of metadata) byFamily.set(m.metricFamilyName, m);
  const rows = [...byFamily.values()].sort((a, b) => (a.metricFamilyName < b.metricFamilyName ? -1 : 1));
  const t = `${quoteIdent(schema)}.metadata`;
  await client.query(
    `INSERT INTO ${t} AS m (metric_family, type, help, unit)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
     ON CONFLICT (metric_family) DO UPDATE
       SET type = excluded.type, help = excluded.help, unit = excluded.unit, updated_at = now()
       WHERE (m.type, m.help, m.unit) IS DISTINCT FROM (excluded.type, excluded.help, excluded.unit)`,
    [rows.map((m) => m.metricFamilyName), rows.map((m) => m.type), rows.map((m) => m.help), rows.map((m) => m.unit)],
  );
  return rows.length;
}

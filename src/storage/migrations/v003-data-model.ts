import { quoteIdent } from '../ident.js';
import type { Migration } from './types.js';

/**
 * The rest of Prometheus's data model next to samples: created (start) timestamps per series, and
 * SQL views over native histograms, exemplars and created timestamps joined with their series
 * (the tables themselves date from v001).
 *
 * Histograms are stored as JSON in which NaN and infinities are the strings Prometheus's JSON
 * API uses ("NaN", "+Inf", "-Inf", and "StaleNaN" for the stale marker); `prom_float` turns such
 * a JSON value into a float8 (the stale marker becomes a plain NaN in SQL).
 */
export const v003DataModel: Migration = {
  version: 3,
  name: 'created timestamps; views of native histograms, exemplars and created timestamps',
  up(schema) {
    const s = quoteIdent(schema);
    return [
      `CREATE TABLE ${s}.created_timestamps (
        series_id bigint NOT NULL,
        created timestamptz NOT NULL,
        first_seen timestamptz NOT NULL,
        PRIMARY KEY (series_id, created)
      )`,
      `CREATE FUNCTION ${s}.prom_float(j jsonb) RETURNS double precision LANGUAGE sql IMMUTABLE AS $$
        SELECT CASE
          WHEN j IS NULL OR jsonb_typeof(j) = 'null' THEN NULL
          WHEN jsonb_typeof(j) = 'number' THEN (j #>> '{}')::double precision
          WHEN j #>> '{}' = 'StaleNaN' THEN 'NaN'::double precision
          ELSE (j #>> '{}')::double precision
        END
      $$`,
      `CREATE VIEW ${s}.histogram_samples AS
        SELECT h.time, se.metric AS name, se.labels,
          coalesce(${s}.prom_float(h.histogram->'countInt'), ${s}.prom_float(h.histogram->'countFloat'), 0) AS count,
          coalesce(${s}.prom_float(h.histogram->'sum'), 0) AS sum,
          coalesce((h.histogram->>'schema')::integer, 0) AS schema,
          h.histogram->'countFloat' IS NOT NULL OR h.histogram->'zeroCountFloat' IS NOT NULL
            OR jsonb_array_length(coalesce(h.histogram->'positiveCounts', '[]')) > 0
            OR jsonb_array_length(coalesce(h.histogram->'negativeCounts', '[]')) > 0 AS is_float,
          h.histogram
        FROM ${s}.histograms h JOIN ${s}.series se ON se.id = h.series_id`,
      `CREATE VIEW ${s}.exemplar_samples AS
        SELECT e.time, se.metric AS name, se.labels, e.labels AS exemplar_labels, e.value
        FROM ${s}.exemplars e JOIN ${s}.series se ON se.id = e.series_id`,
      `CREATE VIEW ${s}.series_created AS
        SELECT c.created, c.first_seen, se.metric AS name, se.labels
        FROM ${s}.created_timestamps c JOIN ${s}.series se ON se.id = c.series_id`,
    ];
  },
};

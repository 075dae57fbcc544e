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
 * `histogram_buckets(jsonb)` expands a stored histogram into buckets with their bounds.
 */
export const v003DataModel: Migration = {
  version: 3,
  name: 'created timestamps; views of native histograms (and their buckets), exemplars and created timestamps',
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
      // Upper bound of exponential bucket i: 2^(i * 2^-schema); beyond float8, +Inf.
      `CREATE FUNCTION ${s}.histogram_bound(i integer, schema integer) RETURNS double precision LANGUAGE sql IMMUTABLE AS $$
        SELECT CASE WHEN e > 1023 THEN 'Infinity'::double precision WHEN e < -1074 THEN 0 ELSE power(2::double precision, e) END
        FROM (SELECT i * power(2::double precision, -schema) AS e) x
      $$`,
      // The buckets of a stored histogram with their bounds, as Prometheus's API renders them:
      // negative buckets (most negative first) [lower, upper), the zero bucket [-t, t], positive
      // buckets (lower, upper]; custom buckets (schema -53) take their bounds from customValues.
      // Every bucket a span covers is returned, empty ones included.
      `CREATE FUNCTION ${s}.histogram_buckets(h jsonb)
        RETURNS TABLE (lower double precision, upper double precision, count double precision, kind text)
        LANGUAGE plpgsql IMMUTABLE AS $$
      DECLARE
        sch integer := coalesce((h->>'schema')::integer, 0);
        bounds jsonb := h->'customValues';
        side text;
        spans jsonb;
        vals jsonb;
        is_delta boolean;
        idx integer;
        k integer;
        running double precision;
        c double precision;
        sp jsonb;
        neg_lower double precision[] := '{}';
        neg_upper double precision[] := '{}';
        neg_count double precision[] := '{}';
        zt double precision := coalesce(${s}.prom_float(h->'zeroThreshold'), 0);
        zc double precision := coalesce(${s}.prom_float(h->'zeroCountInt'), ${s}.prom_float(h->'zeroCountFloat'), 0);
      BEGIN
        FOREACH side IN ARRAY ARRAY['negative', 'positive'] LOOP
          spans := coalesce(h->(side || 'Spans'), '[]');
          is_delta := jsonb_array_length(coalesce(h->(side || 'Deltas'), '[]')) > 0;
          vals := CASE WHEN is_delta THEN h->(side || 'Deltas') ELSE coalesce(h->(side || 'Counts'), '[]') END;
          idx := 0;
          k := 0;
          running := 0;
          FOR sp IN SELECT value FROM jsonb_array_elements(spans) LOOP
            idx := idx + coalesce((sp->>'offset')::integer, 0);
            FOR j IN 1 .. coalesce((sp->>'length')::integer, 0) LOOP
              c := ${s}.prom_float(vals->k);
              IF is_delta THEN running := running + c; c := running; END IF;
              IF side = 'negative' THEN
                neg_lower := array_prepend(-${s}.histogram_bound(idx, sch), neg_lower);
                neg_upper := array_prepend(-${s}.histogram_bound(idx - 1, sch), neg_upper);
                neg_count := array_prepend(c, neg_count);
              ELSE
                IF sch = -53 THEN
                  lower := CASE WHEN idx = 0 THEN '-Infinity'::double precision ELSE (bounds->>(idx - 1))::double precision END;
                  upper := CASE WHEN idx < jsonb_array_length(coalesce(bounds, '[]')) THEN (bounds->>idx)::double precision ELSE 'Infinity'::double precision END;
                ELSE
                  lower := ${s}.histogram_bound(idx - 1, sch);
                  upper := ${s}.histogram_bound(idx, sch);
                END IF;
                count := c;
                kind := 'positive';
                RETURN NEXT;
              END IF;
              idx := idx + 1;
              k := k + 1;
            END LOOP;
          END LOOP;
          IF side = 'negative' THEN
            FOR j IN 1 .. coalesce(array_length(neg_count, 1), 0) LOOP
              lower := neg_lower[j];
              upper := neg_upper[j];
              count := neg_count[j];
              kind := 'negative';
              RETURN NEXT;
            END LOOP;
            IF zc <> 0 OR zt <> 0 THEN
              lower := -zt;
              upper := zt;
              count := zc;
              kind := 'zero';
              RETURN NEXT;
            END IF;
          END IF;
        END LOOP;
      END
      $$`,
      `CREATE VIEW ${s}.histogram_buckets AS
        SELECT h.time, se.metric AS name, se.labels, b.lower, b.upper, b.count, b.kind
        FROM ${s}.histograms h JOIN ${s}.series se ON se.id = h.series_id
        CROSS JOIN LATERAL ${s}.histogram_buckets(h.histogram) b`,
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

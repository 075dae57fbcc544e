import { quoteIdent } from '../ident.js';
import type { Migration, MigrationOptions } from './types.js';

/** Where `Partitions` finds the interval the table was created with (see partitions.ts). */
export const PARTITION_INTERVAL_COMMENT = 'promfleet partition_interval_ms=';

function samplesStatements(s: string, opts: MigrationOptions): string[] {
  const ms = opts.partitionIntervalMs;
  const columns = `time timestamptz NOT NULL, series_id bigint NOT NULL, value double precision NOT NULL`;
  if (opts.timescaledb) {
    return [
      `CREATE TABLE ${s}.samples (${columns})`,
      // The default (time DESC) index is not what reads need; (series_id, time) is.
      `SELECT create_hypertable('${s}.samples', 'time', chunk_time_interval => interval '${ms} milliseconds', create_default_indexes => false)`,
      `CREATE INDEX samples_series_id_time_idx ON ${s}.samples (series_id, time)`,
    ];
  }
  return [
    `CREATE TABLE ${s}.samples (${columns}) PARTITION BY RANGE (time)`,
    // On the partitioned parent, so every partition gets its own copy when it is created.
    `CREATE INDEX samples_series_id_time_idx ON ${s}.samples (series_id, time)`,
    `COMMENT ON TABLE ${s}.samples IS '${PARTITION_INTERVAL_COMMENT}${ms}'`,
  ];
}

export const v001Initial: Migration = {
  version: 1,
  name: 'initial schema: series, samples, metadata, batch ledger, exemplars, histograms',
  up(schema, opts) {
    if (!Number.isSafeInteger(opts.partitionIntervalMs) || opts.partitionIntervalMs <= 0) {
      throw new TypeError(`partitionIntervalMs must be a positive integer, got ${opts.partitionIntervalMs}`);
    }
    const s = quoteIdent(schema);
    return [
      `CREATE TABLE ${s}.series (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        metric text NOT NULL,
        labels jsonb NOT NULL,
        labels_hash bytea NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now()
      )`,
      `CREATE INDEX series_labels_idx ON ${s}.series USING gin (labels jsonb_path_ops)`,
      `CREATE INDEX series_metric_idx ON ${s}.series (metric)`,
      ...samplesStatements(s, opts),
      `CREATE TABLE ${s}.metadata (
        metric_family text PRIMARY KEY,
        type text NOT NULL,
        help text NOT NULL,
        unit text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`,
      `CREATE TABLE ${s}.batches (
        id text PRIMARY KEY,
        queue text NOT NULL,
        samples integer NOT NULL,
        written_at timestamptz NOT NULL DEFAULT now()
      )`,
      `CREATE INDEX batches_written_at_idx ON ${s}.batches (written_at)`,
      `CREATE TABLE ${s}.exemplars (
        time timestamptz NOT NULL,
        series_id bigint NOT NULL,
        value double precision NOT NULL,
        labels jsonb NOT NULL
      )`,
      `CREATE INDEX exemplars_series_id_time_idx ON ${s}.exemplars (series_id, time)`,
      `CREATE TABLE ${s}.histograms (
        time timestamptz NOT NULL,
        series_id bigint NOT NULL,
        histogram jsonb NOT NULL
      )`,
      `CREATE INDEX histograms_series_id_time_idx ON ${s}.histograms (series_id, time)`,
      `CREATE VIEW ${s}.metrics AS
        SELECT sa.time, se.metric AS name, sa.value, se.labels
        FROM ${s}.samples sa JOIN ${s}.series se ON se.id = sa.series_id`,
    ];
  },
};

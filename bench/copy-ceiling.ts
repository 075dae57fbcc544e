/**
 * The write path's ceiling: raw binary COPY of (time, series_id, value) rows into a plain table
 * with a (series_id, time) index, on one connection, rows pre-encoded (so the figure is the
 * server's, not the encoder's). Rows come Prometheus-shaped: one sample per series per scrape,
 * scrape after scrape, so index inserts spread over every series like real traffic.
 */
import { once } from 'node:events';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { copyHeader, copyTrailer, encodeRows, type RowColumns } from './copy-binary.js';
import { elapsedMs, perSecond } from './report.js';

export interface CopyCeilingOptions {
  readonly url: string;
  readonly table: string;
  readonly series: number;
  readonly rows: number;
  /** Rows per COPY statement (each its own transaction). */
  readonly rowsPerCopy: number;
}

/** Prometheus-shaped rows: `series` series, one sample each per 1 s scrape, counter-like values. */
export function shapedRows(series: number, rows: number, startMs: number): RowColumns {
  const timeMs = new Float64Array(rows);
  const seriesId = new Float64Array(rows);
  const value = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    const scrape = Math.floor(i / series);
    const s = i % series;
    timeMs[i] = startMs + scrape * 1000 + (s % 997);
    seriesId[i] = s + 1;
    value[i] = s * 1.5 + scrape * 0.25;
  }
  return { timeMs, seriesId, value };
}

/** One binary COPY statement of pre-encoded rows into `table`. */
export async function copyChunk(client: pg.Client, table: string, chunk: Buffer): Promise<void> {
  const stream = client.query(copyFrom(`COPY ${table} (time, series_id, value) FROM STDIN (FORMAT binary)`));
  const done = once(stream, 'finish');
  stream.write(copyHeader());
  if (!stream.write(chunk)) await once(stream, 'drain');
  stream.end(copyTrailer());
  await done;
}

/** Creates `table` fresh, COPYs the rows, returns rows/s. */
export async function measureCopyCeiling(opts: CopyCeilingOptions): Promise<number> {
  const client = new pg.Client({ connectionString: opts.url, application_name: 'promfleet bench copy' });
  await client.connect();
  try {
    await client.query(`DROP TABLE IF EXISTS ${opts.table}`);
    await client.query(`CREATE TABLE ${opts.table} (time timestamptz NOT NULL, series_id bigint NOT NULL, value float8 NOT NULL)`);
    await client.query(`CREATE INDEX ON ${opts.table} (series_id, time)`);
    const rows = shapedRows(opts.series, opts.rows, Date.now() - 3_600_000);
    const chunks: Buffer[] = [];
    for (let from = 0; from < opts.rows; from += opts.rowsPerCopy) {
      chunks.push(encodeRows(rows, from, Math.min(opts.rows, from + opts.rowsPerCopy)));
    }
    const start = process.hrtime.bigint();
    for (const chunk of chunks) await copyChunk(client, opts.table, chunk);
    const ms = elapsedMs(start);
    const { rows: [check] } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${opts.table}`);
    if (Number(check?.n) !== opts.rows) throw new Error(`COPY ceiling: expected ${opts.rows} rows, table has ${check?.n}`);
    await client.query(`DROP TABLE ${opts.table}`);
    return perSecond(opts.rows, ms);
  } finally {
    await client.end();
  }
}

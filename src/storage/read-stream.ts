/**
 * The float samples of a read, streamed out of PostgreSQL one series at a time, so the caller
 * encodes each while PostgreSQL still reads the next.
 *
 * One binary `COPY … TO STDOUT` row per series: its id, `array_agg(time)` and
 * `array_agg(value)`, aggregated straight from the `(series_id, time)` index scan: no sort, no
 * per-sample function call but the arrays' own send functions, no text form of bytes, about
 * 24 bytes a sample on the wire. COPY takes no bind parameters, so the query's values travel as
 * bind parameters of `set_config` (transaction-local settings) and the COPY's own text is a
 * constant that reads them with `current_setting`.
 */
import { to as copyTo } from 'pg-copy-streams';
import type pg from 'pg';
import { CopyTupleReader } from './binary-copy-reader.js';
import { ColumnScratch, unpackSampleArrays, type SampleColumns } from './packed-samples.js';

export interface StreamedColumns extends SampleColumns {
  readonly id: number;
}

export interface SampleStreamQuery {
  readonly ids: readonly number[];
  /** Inclusive bounds, milliseconds since the epoch. */
  readonly startMs: number;
  readonly endMs: number;
  /** Most rows PostgreSQL reads (the caller's sample limit plus one). */
  readonly limit: number;
}

function copySql(samplesTable: string): string {
  const setting = (name: string): string => `current_setting('promfleet.read_${name}')`;
  return `COPY (
    SELECT series_id, array_agg(time), array_agg(value) FROM (
      SELECT series_id, time, value FROM ${samplesTable}
       WHERE series_id = ANY (${setting('ids')}::bigint[])
         AND time >= to_timestamp(${setting('start')}::float8 / 1000.0)
         AND time <= to_timestamp(${setting('end')}::float8 / 1000.0)
       ORDER BY series_id, time
       LIMIT ${setting('limit')}::bigint) s
     GROUP BY series_id) TO STDOUT (FORMAT binary)`;
}

/**
 * Calls `each` once per series with samples in range, in no particular order, as PostgreSQL
 * sends them; resolves once all arrived. The columns are valid only during the call (they are
 * reused for the next series): copy them to keep them. An exception thrown by `each` ends the
 * read with it.
 */
export async function streamSamples(
  pool: pg.Pool, samplesTable: string, q: SampleStreamQuery, each: (s: StreamedColumns) => void,
): Promise<void> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    await client.query(
      `SELECT set_config('promfleet.read_ids', $1, true), set_config('promfleet.read_start', $2, true),
              set_config('promfleet.read_end', $3, true), set_config('promfleet.read_limit', $4, true)`,
      [`{${q.ids.join(',')}}`, String(q.startMs), String(q.endMs), String(q.limit)]);
    const scratch = new ColumnScratch();
    const tuples = new CopyTupleReader((fields) => {
      const [id, t, v] = fields;
      if (fields.length !== 3 || id === null || id.length !== 8 || t === null || v === null) throw new Error('read: unexpected COPY row');
      const c = unpackSampleArrays(t, v, scratch);
      each({ id: Number(id.readBigInt64BE(0)), times: c.times, values: c.values });
    });
    const stream = client.query(copyTo(copySql(samplesTable)));
    try {
      for await (const chunk of stream) tuples.push(chunk as Buffer);
    } catch (err) {
      // Stopped mid-COPY (by `each` or a bad row): the connection is in no state to be reused.
      broken = err instanceof Error ? err : new Error(String(err));
      stream.destroy();
      throw err;
    }
    tuples.end();
    await client.query('COMMIT');
  } catch (err) {
    if (broken === undefined) await client.query('ROLLBACK').catch((e: unknown) => { broken = e instanceof Error ? e : new Error(String(e)); });
    throw err;
  } finally {
    client.release(broken);
  }
}

import type pg from 'pg';
import { assertSchemaName, quoteIdent } from './ident.js';

/**
 * Drops ledger entries older than the retention. The ledger only has to outlive every possible
 * redelivery of a batch: a stalled job taken again (minutes) or Prometheus resending the same
 * bytes after a 5xx (as long as its WAL keeps them, a few hours). Deletes in slices so a large
 * backlog of old rows never holds one long transaction.
 */
export async function pruneLedger(pool: pg.Pool, schema: string, retentionMs: number, nowMs: number): Promise<number> {
  assertSchemaName(schema);
  const sql = `DELETE FROM ${quoteIdent(schema)}.batches WHERE ctid = ANY (ARRAY(
      SELECT ctid FROM ${quoteIdent(schema)}.batches WHERE written_at < to_timestamp($1::float8 / 1000) LIMIT 10000))`;
  let total = 0;
  for (let i = 0; i < 1000; i++) {
    const r = await pool.query(sql, [nowMs - retentionMs]);
    total += r.rowCount ?? 0;
    if ((r.rowCount ?? 0) < 10000) break;
  }
  return total;
}

export interface LedgerEntry {
  readonly id: string;
  readonly queue: string;
  /** Sample rows the batch writes. */
  readonly samples: number;
}

/**
 * Records batch ids in the ledger, inside the caller's transaction, and returns the ids that
 * were not there yet: only those batches may be written. Ids must be distinct (a repeated id
 * would come back once and let both copies through).
 */
export async function recordBatches(client: pg.ClientBase, schema: string, entries: readonly LedgerEntry[]): Promise<Set<string>> {
  assertSchemaName(schema);
  if (entries.length === 0) return new Set();
  const r = await client.query<{ id: string }>(
    `INSERT INTO ${quoteIdent(schema)}.batches (id, queue, samples)
     SELECT * FROM unnest($1::text[], $2::text[], $3::int[])
     ON CONFLICT (id) DO NOTHING RETURNING id`,
    [entries.map((e) => e.id), entries.map((e) => e.queue), entries.map((e) => e.samples)],
  );
  return new Set(r.rows.map((row) => row.id));
}

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

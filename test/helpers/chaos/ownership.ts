/**
 * The ownership log of an HA group (prom.ha_ownership): which replica owned which range of
 * sample times. Row k owns (from_ms, to_ms]; a null from is -infinity, a null to on the newest
 * row is +infinity (it is open: a replica leads). The newest row may also be closed: its
 * leader resigned (its replica went quiet, or its process stopped) and nobody owns the times
 * after its cut yet.
 */
import type { Queryable } from '../ha-load.js';

export interface OwnershipRow {
  readonly epoch: number;
  readonly replica: string;
  readonly fromMs: number | null;
  readonly toMs: number | null;
}

/** An ownership row with infinite ends spelled out: it owns sample times t with from < t <= to. */
export interface OwnedRange {
  readonly epoch: number;
  readonly replica: string;
  readonly from: number;
  readonly to: number;
}

export async function readOwnership(c: Queryable, group: string, schema = 'prom'): Promise<OwnershipRow[]> {
  const r = await c.query<{ epoch: string; replica: string; from_ms: string | null; to_ms: string | null }>(
    `SELECT epoch, replica, from_ms, to_ms FROM ${schema}.ha_ownership WHERE group_name = $1 ORDER BY epoch`, [group]);
  return r.rows.map((row) => ({
    epoch: Number(row.epoch), replica: row.replica,
    fromMs: row.from_ms === null ? null : Number(row.from_ms),
    toMs: row.to_ms === null ? null : Number(row.to_ms),
  }));
}

export function ownedRanges(rows: readonly OwnershipRow[]): OwnedRange[] {
  return rows.map((row, k) => ({
    epoch: row.epoch,
    replica: row.replica,
    from: row.fromMs ?? -Infinity,
    to: row.toMs ?? (k === rows.length - 1 ? Infinity : -Infinity),
  }));
}

/** The range that owns sample time t (undefined when none does: a broken log). */
export function ownerAt(ranges: readonly OwnedRange[], t: number): OwnedRange | undefined {
  return ranges.find((r) => r.from < t && t <= r.to);
}

function show(v: number | null): string {
  return v === null ? 'null' : String(v);
}

/**
 * The log is one unbroken chain: the first row starts at -infinity, each next row starts where
 * the previous one ended, only the newest may be open, and no row ends before it starts.
 */
export function ownershipChainProblems(rows: readonly OwnershipRow[]): string[] {
  const problems: string[] = [];
  if (rows.length === 0) return ['ownership: the log is empty'];
  if (rows[0].fromMs !== null) problems.push(`ownership: epoch ${rows[0].epoch} (the first) starts at ${rows[0].fromMs}, not -infinity`);
  for (const row of rows.slice(0, -1)) if (row.toMs === null) problems.push(`ownership: epoch ${row.epoch} is open but not the newest`);
  for (let k = 0; k < rows.length; k++) {
    const row = rows[k];
    if (k > 0 && row.fromMs !== rows[k - 1].toMs) {
      problems.push(`ownership: epoch ${row.epoch} starts at ${show(row.fromMs)} but epoch ${rows[k - 1].epoch} ended at ${show(rows[k - 1].toMs)}`);
    }
    if (row.fromMs !== null && row.toMs !== null && row.toMs < row.fromMs) {
      problems.push(`ownership: epoch ${row.epoch} ends (${row.toMs}) before it starts (${row.fromMs})`);
    }
  }
  return problems;
}

export function describeRange(r: OwnedRange): string {
  const f = (v: number) => (v === Infinity ? '+inf' : v === -Infinity ? '-inf' : String(v));
  return `epoch ${r.epoch} ${r.replica} (${f(r.from)}, ${f(r.to)}]`;
}

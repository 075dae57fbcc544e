/**
 * The PromQL comparison the end-to-end read tests share: a writing Prometheus W answers from its
 * own TSDB, a reading Prometheus R only through promfleet's remote_read; every query must select
 * something on W and answer the same on R.
 */
import { expect } from 'vitest';
import type { PrometheusProcess, QueryData } from './prometheus.js';

/** A query result in a canonical order, values as Prometheus printed them. */
export function canonicalResult(d: QueryData): string {
  if (d.resultType === 'vector') return JSON.stringify({ t: d.resultType, r: d.result.map((x) => JSON.stringify([x.metric, x.value])).sort() });
  if (d.resultType === 'matrix') return JSON.stringify({ t: d.resultType, r: d.result.map((x) => JSON.stringify([x.metric, x.values])).sort() });
  return JSON.stringify(d);
}

export interface PromqlComparison {
  /** Instant queries, each evaluated at every time of `at` (s). */
  readonly instant: readonly string[];
  readonly at: readonly number[];
  /** Range queries over [start, end] (s) with `step` (s). */
  readonly range: readonly string[];
  readonly start: number;
  readonly end: number;
  readonly step: number;
}

/** Asserts W and R answer every query alike; returns how many evaluations were compared. */
export async function expectSamePromql(w: PrometheusProcess, r: PrometheusProcess, c: PromqlComparison): Promise<number> {
  let compared = 0;
  for (const q of c.instant) {
    for (const t of c.at) {
      const want = await w.query(q, t);
      const got = await r.query(q, t);
      expect(want.resultType === 'vector' && want.result.length > 0, `${q} @ ${t} selects something`).toBe(true);
      expect(canonicalResult(got), `${q} @ ${t}`).toBe(canonicalResult(want));
      compared += 1;
    }
  }
  for (const q of c.range) {
    const want = await w.queryRange(q, c.start, c.end, c.step);
    const got = await r.queryRange(q, c.start, c.end, c.step);
    expect(want.length, `${q} selects something`).toBeGreaterThan(0);
    expect(canonicalResult({ resultType: 'matrix', result: got }), q).toBe(canonicalResult({ resultType: 'matrix', result: want }));
    compared += 1;
  }
  return compared;
}

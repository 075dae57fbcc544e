/**
 * Ownership by data time: which replica's sample is written for each (series, time) of an HA
 * group. The ownership log is a run of contiguous intervals (from, to], one replica each; the
 * last one is open (to = +infinity) while a replica leads. A handoff closes the open interval at
 * the cut (the old leader's newest accepted sample) and opens the new leader's from there; the
 * new interval becomes ready once the old leader's queue holds nothing at or before the cut and
 * the per-series fill-in marks are recorded (the last committed sample of each series near the
 * cut). Then, per series, the old leader keeps what is at or before its mark and the new leader
 * fills in after it.
 *
 * A sample of replica r is, for r:
 * - owned by epoch e: written once, under that epoch's ledger entry;
 * - not owned (null): another replica's time; never written from r;
 * - undecided: its time may still become r's (it is past the last cut, or in a fill-in region
 *   whose marks are not known yet); its batch stays in the queue.
 */

import { NO_DATA_CUT_MS } from '../storage/index.js';

export interface OwnershipInterval {
  readonly epoch: number;
  readonly replica: string;
  /** Exclusive start, ms; null: from the beginning of time. */
  readonly fromMs: number | null;
  /** Inclusive end, ms; null: open (the replica leads now). */
  readonly toMs: number | null;
  /** The fill-in marks are recorded and the owner's batches may be written. */
  readonly ready: boolean;
}

export const UNDECIDED = 'undecided';
export type SampleOwner = number | null | typeof UNDECIDED;

/** Marks of a ready epoch whose predecessor is another replica: series id → last committed ms. */
export type MarksOf = (epoch: number) => ReadonlyMap<number, number> | undefined;

export class Ownership {
  private readonly undecided = new Map<string, number>();

  /**
   * intervals: ascending by epoch, contiguous. marks: the marks of ready epochs (required for
   * each ready interval whose predecessor is another replica). lookbackMs: how far before a cut
   * marks were looked for; a series without a mark is filled in from cut - lookback.
   */
  constructor(readonly intervals: readonly OwnershipInterval[], private readonly marks: MarksOf, private readonly lookbackMs: number) {}

  get open(): OwnershipInterval | undefined {
    const last = this.intervals[this.intervals.length - 1];
    return last && last.toMs === null ? last : undefined;
  }

  /** The latest cut: every time at or before it has its owner decided (NO_DATA_CUT_MS when none). */
  get lastCutMs(): number {
    const last = this.intervals[this.intervals.length - 1];
    if (!last) return NO_DATA_CUT_MS;
    return (last.toMs ?? last.fromMs) ?? NO_DATA_CUT_MS;
  }

  /** Replica r's samples after this time are undecided (+Infinity: none is; -Infinity: all are). */
  undecidedFrom(replica: string): number {
    let v = this.undecided.get(replica);
    if (v === undefined) this.undecided.set(replica, (v = this.computeUndecidedFrom(replica)));
    return v;
  }

  private computeUndecidedFrom(replica: string): number {
    const n = this.intervals.length;
    if (n === 0) return -Infinity;
    const last = this.intervals[n - 1];
    const from = last.fromMs ?? -Infinity;
    if (last.toMs !== null) return last.toMs;
    if (last.replica !== replica) return from;
    if (last.ready) return Infinity;
    // A new leader waiting for its marks: what it holds near the cut may become fill-in.
    const pred = this.intervals[n - 2];
    return Math.max(pred?.fromMs ?? -Infinity, from - this.lookbackMs);
  }

  /** Index of the interval holding time t, -1 before the first. */
  private indexOf(t: number): number {
    for (let k = this.intervals.length - 1; k >= 0; k--) {
      const from = this.intervals[k].fromMs;
      if (from === null || t > from) return k;
    }
    return -1;
  }

  /** Fill-in mark of `next` for a series: its last committed sample near the cut, else cut - lookback. */
  private markOf(next: OwnershipInterval, seriesId: number): number {
    const m = this.marks(next.epoch)?.get(seriesId);
    if (m !== undefined) return m;
    return (next.fromMs ?? -Infinity) - this.lookbackMs;
  }

  owner(replica: string, seriesId: number, t: number): SampleOwner {
    if (t > this.undecidedFrom(replica)) return UNDECIDED;
    const k = this.indexOf(t);
    if (k < 0) return null;
    const cur = this.intervals[k];
    const next = this.intervals[k + 1] as OwnershipInterval | undefined;
    if (cur.replica === replica) {
      // A predecessor's sample committed past the cut (a clock running ahead) keeps its time.
      const own = this.marks(cur.epoch)?.get(seriesId);
      if (own !== undefined && cur.ready && t <= own && own > (cur.fromMs ?? -Infinity)) return null;
      if (next && next.replica !== replica && next.ready) return t <= this.markOf(next, seriesId) ? cur.epoch : null;
      return cur.epoch;
    }
    if (next && next.replica === replica && next.ready && t > this.markOf(next, seriesId)) return next.epoch;
    return null;
  }

  /** Epochs under which replica r may own samples in [t0, t1] (its batch gets one ledger entry each). */
  epochsFor(replica: string, t0: number, t1: number): number[] {
    const end = Math.min(t1, this.undecidedFrom(replica));
    if (t0 > end) return [];
    const out: number[] = [];
    this.intervals.forEach((iv, k) => {
      if (iv.replica !== replica) return;
      const pred = this.intervals[k - 1];
      let start = iv.fromMs ?? -Infinity;
      // Fill-in reaches back into the predecessor's interval, down to cut - lookback.
      if (pred && pred.replica !== replica && iv.ready) start = Math.max(pred.fromMs ?? -Infinity, start - this.lookbackMs);
      const stop = iv.toMs ?? Infinity;
      if (t0 <= stop && end > start) out.push(iv.epoch);
    });
    return out;
  }
}

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
  private readonly regions = new Map<string, { lo: number; hi: number }[]>();
  private readonly marksCache = new Map<number, ReadonlyMap<number, number> | undefined>();

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

  /**
   * Where replica r's samples are undecided, as (lo, hi] ranges: past the last cut (or the open
   * interval of another replica: r may fill in after it later); and, for each interval of r
   * whose marks are not known yet, its own range and the fill-in region before it. An epoch's
   * part of a batch is written only when none of it is undecided.
   */
  undecidedRegions(replica: string): readonly { readonly lo: number; readonly hi: number }[] {
    let v = this.regions.get(replica);
    if (v === undefined) this.regions.set(replica, (v = this.computeRegions(replica)));
    return v;
  }

  /** Replica r's samples after this time may be undecided (+Infinity: none is; -Infinity: all may be). */
  undecidedFrom(replica: string): number {
    return Math.min(Infinity, ...this.undecidedRegions(replica).map((r) => r.lo));
  }

  /** No sample of replica r in [t0, t1] is undecided. */
  decided(replica: string, t0: number, t1: number): boolean {
    return !this.undecidedRegions(replica).some((r) => r.lo < t1 && t0 <= r.hi);
  }

  private computeRegions(replica: string): { lo: number; hi: number }[] {
    const n = this.intervals.length;
    if (n === 0) return [{ lo: -Infinity, hi: Infinity }];
    const out: { lo: number; hi: number }[] = [];
    const last = this.intervals[n - 1];
    if (last.toMs !== null) out.push({ lo: last.toMs, hi: Infinity });
    else if (last.replica !== replica) out.push({ lo: last.fromMs ?? -Infinity, hi: Infinity });
    this.intervals.forEach((iv, k) => {
      if (iv.replica !== replica || this.writable(k)) return;
      const pred = this.intervals[k - 1];
      // A new owner waiting for its marks: what it holds near the cut may become fill-in.
      out.push({ lo: Math.max(pred.fromMs ?? -Infinity, (iv.fromMs ?? -Infinity) - this.lookbackMs), hi: iv.toMs ?? Infinity });
    });
    return out;
  }

  /** Interval k's parts may be written: its marks are known, or it has nothing to fill in. */
  private writable(k: number): boolean {
    const iv = this.intervals[k];
    const pred = this.intervals[k - 1];
    return iv.ready || pred === undefined || pred.replica === iv.replica;
  }

  /** The marks of an epoch, looked up once (owner() runs per sample). */
  private marksOf(epoch: number): ReadonlyMap<number, number> | undefined {
    if (!this.marksCache.has(epoch)) this.marksCache.set(epoch, this.marks(epoch));
    return this.marksCache.get(epoch);
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
    const m = this.marksOf(next.epoch)?.get(seriesId);
    if (m !== undefined) return m;
    return (next.fromMs ?? -Infinity) - this.lookbackMs;
  }

  owner(replica: string, seriesId: number, t: number): SampleOwner {
    if (this.undecidedRegions(replica).some((r) => r.lo < t && t <= r.hi)) return UNDECIDED;
    const k = this.indexOf(t);
    if (k < 0) return null;
    const cur = this.intervals[k];
    const next = this.intervals[k + 1] as OwnershipInterval | undefined;
    if (cur.replica === replica) {
      // A predecessor's sample committed past the cut (a clock running ahead) keeps its time.
      const own = this.marksOf(cur.epoch)?.get(seriesId);
      if (own !== undefined && cur.ready && t <= own && own > (cur.fromMs ?? -Infinity)) return null;
      if (next && next.replica !== replica && next.ready) return t <= this.markOf(next, seriesId) ? cur.epoch : null;
      return cur.epoch;
    }
    if (next && next.replica === replica && next.ready && t > this.markOf(next, seriesId)) return next.epoch;
    return null;
  }

  /** Epochs under which replica r may own samples in [t0, t1] and write them now (its batch gets one ledger entry each). */
  epochsFor(replica: string, t0: number, t1: number): number[] {
    const end = t1;
    const out: number[] = [];
    this.intervals.forEach((iv, k) => {
      if (iv.replica !== replica || !this.writable(k)) return;
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

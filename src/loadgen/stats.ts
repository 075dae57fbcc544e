/** Request latencies and outcomes of a load run, overall and per time window. */

export interface LatencySummary {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

export interface WindowStats {
  /** Window start, seconds after the run began. */
  readonly at: number;
  /** Samples answered 2xx per second in the window. */
  readonly acceptedPerSec: number;
  /** 99th percentile latency of requests that finished in the window, ms. */
  readonly p99Ms: number;
}

/** Nearest-rank percentile of sorted values; NaN for none. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export function summarize(latenciesMs: Float64Array): LatencySummary {
  const sorted = Float64Array.from(latenciesMs).sort();
  return { p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), max: sorted.length ? sorted[sorted.length - 1] : NaN };
}

/** Collects (finish time, latency, samples, ok) per request in growable columns. */
export class RequestLog {
  private n = 0;
  private finishedMs = new Float64Array(1024);
  private latencyMs = new Float64Array(1024);
  private samples = new Float64Array(1024);
  readonly statuses: Record<string, number> = {};

  add(finishedMs: number, latencyMs: number, samples: number, status: string): void {
    if (this.n === this.finishedMs.length) {
      const grow = (a: Float64Array) => {
        const b = new Float64Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.finishedMs = grow(this.finishedMs);
      this.latencyMs = grow(this.latencyMs);
      this.samples = grow(this.samples);
    }
    this.statuses[status] = (this.statuses[status] ?? 0) + 1;
    this.finishedMs[this.n] = finishedMs;
    this.latencyMs[this.n] = latencyMs;
    // Samples of requests not answered 2xx count as 0 accepted.
    this.samples[this.n] = status.startsWith('2') ? samples : 0;
    this.n++;
  }

  get requests(): number {
    return this.n;
  }

  accepted(): number {
    let s = 0;
    for (let i = 0; i < this.n; i++) s += this.samples[i];
    return s;
  }

  latencies(): Float64Array {
    return this.latencyMs.subarray(0, this.n);
  }

  /** Per window of `windowMs`, from 0 to `durationMs`. */
  windows(windowMs: number, durationMs: number): WindowStats[] {
    const count = Math.max(1, Math.ceil(durationMs / windowMs));
    const out: WindowStats[] = [];
    for (let w = 0; w < count; w++) {
      const lat: number[] = [];
      let samples = 0;
      for (let i = 0; i < this.n; i++) {
        if (Math.floor(this.finishedMs[i] / windowMs) !== w) continue;
        lat.push(this.latencyMs[i]);
        samples += this.samples[i];
      }
      lat.sort((a, b) => a - b);
      const span = Math.min(windowMs, durationMs - w * windowMs);
      out.push({ at: (w * windowMs) / 1000, acceptedPerSec: span > 0 ? (samples * 1000) / span : 0, p99Ms: percentile(lat, 99) });
    }
    return out;
  }
}

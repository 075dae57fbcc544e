/**
 * Group commit for the producer: batches for one queue that arrive while an add to that queue is
 * in flight wait, and go together as one job as soon as it ends. A queue that is idle sends a
 * batch at once (no added latency), unless waitMs asks to wait for company first. Each job is
 * bounded in parts, samples and bytes; a job that reaches a bound goes at once, beside the one
 * in flight. Every caller learns the fate of the job that holds its batch.
 */

export interface CoalesceBounds {
  /** Most batches in one job; 1 sends every batch as its own job. */
  readonly maxParts: number;
  /** Most samples in one job (a lone batch over it still goes, alone). */
  readonly maxSamples: number;
  /** Most payload bytes (before base64) in one job (a lone batch over it still goes, alone). */
  readonly maxBytes: number;
  /** How long (ms) a batch for an idle queue waits for others; 0: sent at once. */
  readonly waitMs: number;
}

/**
 * The flags' defaults (--queue.job-*). Measured on 2 cores with 64 concurrent 500-sample
 * requests: ingress CPU per sample fell most from 1 to 4 batches a job and hardly past 16
 * (jobs of up to 64 held 17 on average there); 32 batches, 32,000 samples or 1 MiB keep a job
 * within what a worker writes in one or two transactions and holds 32 of at once. Waiting 1 ms
 * for company when idle (waitMs) made 250 jobs of 1,000 requests instead of 360 at 8
 * connections, with no clear CPU gain and a lower rate in most runs, and it delays every request
 * of a quiet queue: 0.
 */
export const DEFAULT_COALESCE: CoalesceBounds = { maxParts: 32, maxSamples: 32_000, maxBytes: 2 ** 20, waitMs: 0 };

/** What the coalescer needs to know of a batch. */
export interface Coalescable {
  readonly id: string;
  readonly samples: number;
  readonly bytes: number;
}

interface Waiting<P> {
  readonly part: P;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

export class Coalescer<P extends Coalescable> {
  private pending: Waiting<P>[] = [];
  private pendingSamples = 0;
  private pendingBytes = 0;
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly idle = new Set<() => void>();

  /** send adds one job holding the parts (in order) and resolves once Redis acknowledged it. */
  constructor(private readonly bounds: CoalesceBounds, private readonly send: (parts: readonly P[]) => Promise<void>) {}

  /** Batches waiting for a job, and jobs being added. */
  get size(): { pending: number; inFlight: number } {
    return { pending: this.pending.length, inFlight: this.inFlight };
  }

  /** Resolves once the job holding the part was acknowledged; rejects with that job's error. */
  add(part: P): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const b = this.bounds;
      // A part that would take the pending job past a bound: that job goes now, the part starts the next.
      if (this.pending.length > 0 && (this.pending.length + 1 > b.maxParts
        || this.pendingSamples + part.samples > b.maxSamples || this.pendingBytes + part.bytes > b.maxBytes)) {
        this.flush();
      }
      this.pending.push({ part, resolve, reject });
      this.pendingSamples += part.samples;
      this.pendingBytes += part.bytes;
      const full = this.pending.length >= b.maxParts || this.pendingSamples >= b.maxSamples || this.pendingBytes >= b.maxBytes;
      if (full) this.flush();
      else if (this.inFlight === 0) {
        if (b.waitMs === 0) this.flush();
        else this.timer ??= setTimeout(() => this.flush(), b.waitMs);
      }
      // Otherwise the add in flight flushes what waits when it ends.
    });
  }

  /** Sends what is pending as one job now. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const job = this.pending;
    this.pending = [];
    this.pendingSamples = 0;
    this.pendingBytes = 0;
    this.inFlight++;
    let sent: Promise<void>;
    try {
      sent = this.send(job.map((w) => w.part));
    } catch (err) {
      sent = Promise.reject(err);
    }
    void sent.then(
      () => { for (const w of job) w.resolve(); },
      (err: unknown) => { for (const w of job) w.reject(err); },
    ).finally(() => {
      this.inFlight--;
      // What arrived meanwhile has waited a whole add: it goes now.
      if (this.pending.length > 0) this.flush();
      else if (this.inFlight === 0) for (const done of this.idle) done();
    });
  }

  /** Sends what waits at once and resolves when no add is in flight (for shutdown). */
  drain(): Promise<void> {
    this.flush();
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        this.idle.delete(done);
        resolve();
      };
      this.idle.add(done);
    });
  }
}

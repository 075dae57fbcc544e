/**
 * Group commit for one queue: batches handed in by the queue's consumer (it runs several jobs at
 * once, and a job may hold several batches) are written together in one transaction, and each
 * caller learns each of its batches' fate only once the transaction holding it is over.
 */

export interface GroupCommitOptions<T, R> {
  /** Write what is pending once it holds this many samples (a soft bound: the batch that crosses it goes along). */
  readonly maxSamples: number;
  /**
   * Write what is pending once this many callers (add or addAll calls, one per job) wait for
   * their results: the queue's consumer runs no more jobs at once (its concurrency), so nothing
   * else can arrive until a write ends. Counted in callers, not items: a job of eight batches
   * takes one of the consumer's slots, not eight.
   */
  readonly maxCallers: number;
  /** Write what is pending this long (ms) after the first of it arrived; 0: on the next turn of the event loop. */
  readonly waitMs: number;
  /**
   * Transactions of this group running at once, at most (default: no bound). When they all run,
   * what arrives waits and goes into the next transaction as soon as one ends: fewer, larger
   * transactions (one COPY and one commit for more batches) instead of many small ones that
   * compete for the same index and each wait for their own WAL flush.
   */
  readonly maxConcurrent?: number;
  /** Writes the items in one transaction; resolves with one result per item, in order, or rejects for all. */
  readonly write: (items: readonly T[]) => Promise<readonly R[]>;
  /**
   * Whether a failed write may be the fault of one of its items (a data error). Then each item is
   * written again in a transaction of its own, so that only the culprit fails; otherwise (the
   * database is away, the fence refused) every item gets the error.
   */
  readonly isolate: (err: unknown) => boolean;
}

interface Entry<T, R> {
  readonly item: T;
  readonly samples: number;
  readonly resolve: (result: R) => void;
  readonly reject: (err: unknown) => void;
}

export class GroupCommit<T, R> {
  private pending: Entry<T, R>[] = [];
  private pendingSamples = 0;
  private inFlight = 0;
  private callers = 0;
  private running = 0;
  /** A flush found every transaction slot taken: the next transaction to end flushes. */
  private held = false;
  private timer: { cancel(): void } | undefined;

  constructor(private readonly opts: GroupCommitOptions<T, R>) {
    if (!(opts.maxSamples >= 1 && opts.maxCallers >= 1 && opts.waitMs >= 0 && (opts.maxConcurrent ?? 1) >= 1)) {
      throw new RangeError(`group commit: maxSamples ${opts.maxSamples} and maxCallers ${opts.maxCallers} must be >= 1, waitMs ${opts.waitMs} >= 0`);
    }
  }

  /** Items waiting for a transaction, and items whose transaction is running. */
  get size(): { pending: number; inFlight: number } {
    return { pending: this.pending.length, inFlight: this.inFlight };
  }

  /** Resolves with the item's result once the transaction that wrote it committed; rejects with its error. */
  add(item: T, samples: number): Promise<R> {
    return this.addAll([{ item, samples }])[0];
  }

  /**
   * Several items of one caller (the batches of one job), queued together: one promise per
   * item, in order. They may be written in different transactions (maxSamples) and fail apart.
   */
  addAll(items: readonly { readonly item: T; readonly samples: number }[]): Promise<R>[] {
    const results = items.map(({ item, samples }) => new Promise<R>((resolve, reject) => {
      this.pending.push({ item, samples, resolve, reject });
      this.pendingSamples += samples;
    }));
    if (results.length === 0) return results;
    this.callers++;
    void Promise.allSettled(results).then(() => { this.callers--; });
    if (this.pendingSamples >= this.opts.maxSamples || this.callers >= this.opts.maxCallers) {
      this.flush();
    } else {
      this.timer ??= this.schedule(() => this.flush());
    }
    return results;
  }

  /**
   * Starts transactions for what is pending now, each up to maxSamples (the batch that crosses
   * the bound goes along), while fewer than maxConcurrent run; the rest waits for one to end.
   */
  flush(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.held = false;
    while (this.pending.length > 0) {
      if (this.running >= (this.opts.maxConcurrent ?? Infinity)) {
        this.held = true;
        return;
      }
      let take = 0;
      let samples = 0;
      while (take < this.pending.length && samples < this.opts.maxSamples) samples += this.pending[take++].samples;
      const entries = this.pending.slice(0, take);
      this.pending = this.pending.slice(take);
      this.pendingSamples -= samples;
      this.inFlight += entries.length;
      this.running++;
      void this.commit(entries).finally(() => {
        this.inFlight -= entries.length;
        this.running--;
        // What was held back for a free slot goes now: it has waited a whole transaction.
        if (this.held) this.flush();
      });
    }
  }

  private schedule(fn: () => void): { cancel(): void } {
    if (this.opts.waitMs === 0) {
      const i = setImmediate(fn);
      return { cancel: () => clearImmediate(i) };
    }
    const t = setTimeout(fn, this.opts.waitMs);
    return { cancel: () => clearTimeout(t) };
  }

  /** Never rejects: every entry is settled. */
  private async commit(entries: readonly Entry<T, R>[]): Promise<void> {
    try {
      const results = await this.writeAll(entries);
      entries.forEach((e, i) => e.resolve(results[i]));
    } catch (err) {
      if (entries.length === 1 || !this.opts.isolate(err)) {
        for (const e of entries) e.reject(err);
        return;
      }
      // The rollback left nothing behind: write each item alone, one after the other, so the
      // innocent ones commit and only the culprit gets its own error.
      for (const e of entries) {
        try {
          e.resolve((await this.writeAll([e]))[0]);
        } catch (alone) {
          e.reject(alone);
        }
      }
    }
  }

  private async writeAll(entries: readonly Entry<T, R>[]): Promise<readonly R[]> {
    const results = await this.opts.write(entries.map((e) => e.item));
    if (results.length !== entries.length) throw new Error(`group commit: ${results.length} results for ${entries.length} items`);
    return results;
  }
}

/**
 * Exponential backoff with full jitter, reset by a success. Workers that all lost the same
 * database must not come back in lockstep.
 */
export class Backoff {
  private failures = 0;

  constructor(
    private readonly baseMs = 500,
    readonly maxMs = 30_000,
    private readonly random: () => number = Math.random,
  ) {}

  /** The next wait in ms, counting one more failure. */
  next(): number {
    const cap = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(this.failures, 20));
    this.failures++;
    return Math.max(this.baseMs / 2, Math.floor(this.random() * cap));
  }

  reset(): void {
    this.failures = 0;
  }

  get failing(): boolean {
    return this.failures > 0;
  }
}

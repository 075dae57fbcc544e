/**
 * Token buckets keyed by credential or HA group. A bucket holds up to one second's worth of
 * requests (at least one) and refills continuously. Keys come from clients (a cluster label
 * value), so the map is bounded: full buckets are forgotten first, and past the bound a new key
 * shares one overflow bucket rather than growing the map.
 */
import { PromfleetError } from '../errors.js';

export interface RateLimiterOptions {
  /** Requests per second per key; 0 disables the limiter. */
  readonly perSecond: number;
  /** Answer 429 (RATE_LIMITED_429) instead of 503 (RATE_LIMITED). */
  readonly status: 429 | 503;
  /** What is limited, for the message ("credential", "HA group"). */
  readonly what: string;
  /** The flag that sets the rate, for the message. */
  readonly flag: string;
  /** Most keys remembered. Default 10000. */
  readonly maxKeys?: number;
  readonly now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

const OVERFLOW = '\u0000overflow';

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly capacity: number;
  private readonly now: () => number;

  constructor(private readonly opts: RateLimiterOptions) {
    this.capacity = Math.max(1, opts.perSecond);
    this.now = opts.now ?? Date.now;
  }

  get enabled(): boolean {
    return this.opts.perSecond > 0;
  }

  /**
   * Takes one token for `key`.
   * @throws PromfleetError RATE_LIMITED / RATE_LIMITED_429 with Retry-After when there is none.
   */
  take(key: string): void {
    if (!this.enabled) return;
    const now = this.now();
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= (this.opts.maxKeys ?? 10_000)) this.sweep(now);
      const k = this.buckets.size >= (this.opts.maxKeys ?? 10_000) ? OVERFLOW : key;
      b = this.buckets.get(k) ?? { tokens: this.capacity, at: now };
      this.buckets.set(k, b);
    }
    b.tokens = Math.min(this.capacity, b.tokens + ((now - b.at) / 1000) * this.opts.perSecond);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return;
    }
    const waitS = Math.max(1, Math.ceil((1 - b.tokens) / this.opts.perSecond));
    throw new PromfleetError(this.opts.status === 429 ? 'RATE_LIMITED_429' : 'RATE_LIMITED',
      `${this.opts.what} ${JSON.stringify(key)} is over ${this.opts.perSecond} requests per second (${this.opts.flag})`, { retryAfterSeconds: waitS });
  }

  /** Forgets buckets that have refilled: they behave exactly like a new key. */
  private sweep(now: number): void {
    for (const [k, b] of this.buckets) {
      if (b.tokens + ((now - b.at) / 1000) * this.opts.perSecond >= this.capacity) this.buckets.delete(k);
    }
  }
}

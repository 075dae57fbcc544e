/**
 * One budget for the request bodies a process holds at once. Bytes are charged as they arrive
 * (not as declared), so a slow sender holds only what it sent, and are given back when the
 * response closes, since the body stays in memory while it is decoded and enqueued. Over the
 * budget a request gets 503 TOO_BUSY: Prometheus keeps the data and retries.
 */
import type http from 'node:http';
import { PromfleetError } from '../errors.js';

interface Account {
  taken: number;
}

const accounts = new WeakMap<http.IncomingMessage, { budget: BodyBudget; account: Account }>();

export class BodyBudget {
  private used = 0;

  /**
   * @param maxBytes bytes of request bodies held at once (--web.max-inflight-body-bytes).
   * @param onChange told the bytes in use after each change (a gauge).
   */
  constructor(private readonly maxBytes: number, private readonly onChange: (used: number) => void = () => undefined) {}

  get inUse(): number {
    return this.used;
  }

  /** Opens the request's account; everything charged to it is given back when `res` closes. */
  open(req: http.IncomingMessage, res: http.ServerResponse): void {
    const account: Account = { taken: 0 };
    accounts.set(req, { budget: this, account });
    res.once('close', () => {
      if (account.taken === 0) return;
      this.used -= account.taken;
      account.taken = 0;
      this.onChange(this.used);
    });
  }

  take(account: Account, n: number): void {
    if (this.used + n > this.maxBytes) {
      throw new PromfleetError('TOO_BUSY', `request bodies in memory would exceed ${this.maxBytes} bytes (--web.max-inflight-body-bytes)`);
    }
    this.used += n;
    account.taken += n;
    this.onChange(this.used);
  }
}

/**
 * Charges `n` body bytes of `req` to its server's budget.
 * @throws PromfleetError TOO_BUSY when the budget is spent. A request no server opened is not charged.
 */
export function chargeBody(req: http.IncomingMessage, n: number): void {
  const a = accounts.get(req);
  if (a) a.budget.take(a.account, n);
}

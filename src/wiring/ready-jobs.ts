import type { Logger } from '../observability/log.js';
import { readyShare, type QueueRegistryStore, type ReadyJobsStore } from '../queue/index.js';
import { sleep } from '../lib/sleep.js';

export interface ReadyJobsPublisherOptions {
  readonly ready: ReadyJobsStore;
  readonly registry: QueueRegistryStore;
  /** Groups this process leads now: group → replica (the elector's view). */
  readonly leaders: () => ReadonlyMap<string, string>;
  readonly intervalMs: number;
  readonly log: Logger;
  readonly now?: () => number;
}

/**
 * Keeps the ready-jobs set (what KEDA scales the workers on) up to date from a writing ingress,
 * every intervalMs: it runs where the leaders are known and while no worker runs (scale from
 * zero). Off the request path: a refresh costs one SMEMBERS, one LLEN per queue it publishes
 * and one script call, whatever the write rate.
 */
export class ReadyJobsPublisher {
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(private readonly opts: ReadyJobsPublisherOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** How long a share outlives the process that stopped refreshing it. */
  get staleMs(): number {
    return Math.max(3 * this.opts.intervalMs, 30_000);
  }

  /** One refresh; resolves to the set's size. */
  async publishOnce(): Promise<number> {
    const leaders = this.opts.leaders();
    const queues = await this.opts.registry.list();
    const counted = queues.filter((q) => readyShare(q, leaders) === 'count');
    const shares = new Map<string, number>(await this.opts.ready.waiting(counted));
    for (const q of queues) if (readyShare(q, leaders) === 'zero') shares.set(q, 0);
    return this.opts.ready.publish(shares, this.now(), this.staleMs);
  }

  start(): void {
    if (this.loop || this.opts.intervalMs <= 0) return;
    const signal = this.abort.signal;
    this.loop = (async () => {
      while (!signal.aborted) {
        await this.publishOnce().catch((err: unknown) => this.opts.log.debug({ err }, 'ready-jobs set not refreshed'));
        await sleep(this.opts.intervalMs, signal);
      }
    })();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }
}

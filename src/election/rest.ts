import pg from 'pg';
import { Leadership, type CutSource } from '../storage/index.js';
import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';

export interface RestElectorOptions {
  readonly connectionString: string;
  readonly schema: string;
  readonly applicationName: string;
  /** Where a handoff cuts a group's ownership: its replicas' accepted watermarks (from the queue). */
  readonly cuts: (group: string) => CutSource;
  /** The identity this process speaks for before any batch arrived (--ha.group/--ha.replica). */
  readonly identity?: { readonly group: string; readonly replica: string };
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly ready?: () => Promise<void>;
}

/**
 * Leadership decided outside promfleet (etcd, Consul, a Kubernetes sidecar), as the original
 * adapter's REST elector: PUT 1 makes the (group, replica) pairs of this process leaders, PUT 0
 * resigns them. The handoff is the same as the lock elector's (watermark, per-series marks,
 * ownership log); writers fence on the leadership record alone (via = 'rest').
 */
export class RestElector {
  private readonly identities = new Map<string, Set<string>>();
  private readonly leadership: Leadership;
  private leading = false;

  constructor(private readonly opts: RestElectorOptions) {
    this.leadership = new Leadership(opts.schema);
    if (opts.identity) this.observe(opts.identity.group, opts.identity.replica);
  }

  observe(group: string, replica: string): void {
    let set = this.identities.get(group);
    if (!set) this.identities.set(group, (set = new Set()));
    set.add(replica);
  }

  isLeading(): boolean {
    return this.leading;
  }

  /** Becomes leader of (or resigns) every group this process has a replica of; resolves when recorded. */
  async set(lead: boolean): Promise<void> {
    await this.opts.ready?.();
    const client = new pg.Client({ connectionString: this.opts.connectionString, application_name: this.opts.applicationName });
    await client.connect();
    try {
      for (const [group, replicas] of this.identities) {
        const replica = [...replicas].sort()[0];
        await this.leadership.groupId(client, group);
        if (lead) {
          const t = await this.leadership.takeOver(client, group, replica, 'rest', this.opts.cuts(group));
          this.opts.log.info({ group, replica, epoch: t.epoch, handoffMs: t.handoffMs, previous: t.previous, handoff: t.changed }, 'Instance became a leader');
          this.opts.metrics.haLeader.set({ group, replica }, 1);
          if (t.changed) this.opts.metrics.haLeadershipChanges.inc({ group });
        } else {
          await this.leadership.resign(client, group, replica, this.opts.cuts(group), 'rest');
          this.opts.log.warn({ group, replica }, 'Instance is no longer a leader');
          this.opts.metrics.haLeader.set({ group, replica }, 0);
        }
      }
      this.leading = lead;
    } finally {
      await client.end();
    }
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }
}

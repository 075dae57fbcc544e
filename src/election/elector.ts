import type { CutSource } from '../storage/index.js';
import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';

/**
 * Who leads each HA group, as the rest of the process sees it: the advisory-lock elector
 * (LockElector) and the REST one (RestElector) both implement it.
 */
export interface Elector {
  /** `lock`: elected by advisory locks; `rest`: set from outside with PUT /admin/election/leader. */
  readonly kind: 'lock' | 'rest';
  /** A batch of `replica` of `group` arrived through this process. */
  observe(group: string, replica: string): void;
  /** The groups this process leads now, each with the replica leading it (group → replica). */
  leaders(): ReadonlyMap<string, string>;
  /** Whether this process leads any group now. */
  isLeading(): Promise<boolean>;
  /** Sets leadership from outside (PUT 1 / PUT 0); only a `rest` elector takes it. */
  set(lead: boolean): Promise<void>;
  start(): Promise<void>;
  /** Resigns what this process leads. Idempotent. */
  stop(): Promise<void>;
}

/** What both electors are built with. */
export interface ElectorBaseOptions {
  readonly connectionString: string;
  readonly schema: string;
  /** application_name of its PostgreSQL sessions, so an operator can find them in pg_stat_activity. */
  readonly applicationName: string;
  /** Where a handoff cuts a group's ownership: its replicas' accepted watermarks (from the queue). */
  readonly cuts: (group: string) => CutSource;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** Resolves once the schema is migrated; no election before. */
  readonly ready?: () => Promise<void>;
}

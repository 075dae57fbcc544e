import pg from 'pg';

/**
 * The queue on PostgreSQL lives in one schema per deployment: BullMQ's own tables (created by
 * its migrations) and promfleet's beside them, named `promfleet_*`. The schema is the
 * PostgreSQL counterpart of the Redis key prefix: `--queue.prefix` promfleet gives
 * `promfleet_queue`.
 */
export function queueSchema(prefix: string): string {
  let s = prefix.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  if (!/^[a-z_]/.test(s)) s = `q_${s}`;
  return `${s.slice(0, 57)}_queue`;
}

/** Milliseconds now on the database's clock. */
export const DB_NOW_MS = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

/** Bounds for a time that may be infinite (bigint has none): beyond any sample time. */
export function clampMs(ms: number): string {
  if (ms === Infinity) return String(Number.MAX_SAFE_INTEGER);
  if (ms === -Infinity) return String(Number.MIN_SAFE_INTEGER);
  return String(Math.trunc(ms));
}

/** Qualified names of promfleet's tables in a queue schema. */
export interface QueueTables {
  readonly schema: string;
  readonly queues: string;
  readonly backlog: string;
  readonly jobTimes: string;
  readonly accepted: string;
  readonly quiet: string;
  readonly leases: string;
  readonly liveness: string;
  readonly readyJobs: string;
  /** BullMQ's job table. */
  readonly job: string;
}

export function queueTables(schema: string): QueueTables {
  const s = pg.escapeIdentifier(schema);
  return {
    schema: s,
    queues: `${s}.promfleet_queues`,
    backlog: `${s}.promfleet_backlog`,
    jobTimes: `${s}.promfleet_job_times`,
    accepted: `${s}.promfleet_accepted`,
    quiet: `${s}.promfleet_quiet`,
    leases: `${s}.promfleet_leases`,
    liveness: `${s}.promfleet_liveness`,
    readyJobs: `${s}.promfleet_ready_jobs`,
    job: `${s}.job`,
  };
}

/** promfleet's tables beside BullMQ's; idempotent, run under an advisory lock at connect. */
export function queueDdl(t: QueueTables): string {
  return `
CREATE TABLE IF NOT EXISTS ${t.queues} (name text PRIMARY KEY);
CREATE TABLE IF NOT EXISTS ${t.backlog} (queue text PRIMARY KEY, samples bigint NOT NULL);
CREATE TABLE IF NOT EXISTS ${t.jobTimes} (
  queue text NOT NULL, job_id text NOT NULL, t0 bigint NOT NULL, t1 bigint NOT NULL, PRIMARY KEY (queue, job_id));
CREATE INDEX IF NOT EXISTS promfleet_job_times_t0 ON ${t.jobTimes} (queue, t0);
CREATE INDEX IF NOT EXISTS promfleet_job_times_t1 ON ${t.jobTimes} (queue, t1);
CREATE TABLE IF NOT EXISTS ${t.accepted} (queue text PRIMARY KEY, accepted_ms bigint NOT NULL);
CREATE TABLE IF NOT EXISTS ${t.quiet} (queue text NOT NULL, at_ms bigint NOT NULL, PRIMARY KEY (queue, at_ms));
CREATE TABLE IF NOT EXISTS ${t.leases} (queue text PRIMARY KEY, token text NOT NULL, until_ms bigint NOT NULL);
CREATE TABLE IF NOT EXISTS ${t.liveness} (
  grp text NOT NULL, replica text NOT NULL, seen_ms bigint NOT NULL, ttl_ms bigint NOT NULL, PRIMARY KEY (grp, replica));
CREATE TABLE IF NOT EXISTS ${t.readyJobs} (queue text PRIMARY KEY, n integer NOT NULL, at_ms bigint NOT NULL);`;
}

import pg from 'pg';
import type { Logger } from '../observability/log.js';

export interface PoolOptions {
  /** postgres:// URL or key=value string. Never logged whole (it may hold a password). */
  readonly connectionString: string;
  /** Most connections this pool opens. Default 10. */
  readonly max?: number;
  /** Shown in pg_stat_activity.application_name. Default 'promfleet'. */
  readonly applicationName?: string;
  /** Milliseconds to wait for a connection before failing (retryable). Default 10000. */
  readonly connectionTimeoutMillis?: number;
  /** Milliseconds an idle connection is kept. Default 30000. */
  readonly idleTimeoutMillis?: number;
}

/** host:port/database of a connection string, without user or password, for log lines. */
export function maskConnectionString(connectionString: string): string {
  try {
    const u = new URL(connectionString);
    return `${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname}`;
  } catch {
    // key=value form: keep only the harmless keys.
    const keep = connectionString.split(/\s+/).filter((kv) => /^(host|port|dbname)=/.test(kv));
    return keep.join(' ') || '(connection string)';
  }
}

/**
 * A pg.Pool that never crashes the process on a connection error.
 *
 * pg-pool listens for 'error' on idle clients and re-emits it on the pool, which throws when
 * nobody listens: a PostgreSQL restart would kill every worker holding idle connections. It
 * also removes that listener while a client is checked out, so a connection lost between two
 * queries of a checked-out client (e.g. while the writer awaits partition creation on another
 * connection) would throw the same way. Both paths are logged here; the query that next uses
 * the broken client fails and is classified as retryable by the caller.
 */
export function createPool(opts: PoolOptions, log: Logger): pg.Pool {
  const pool = new pg.Pool({
    connectionString: opts.connectionString,
    max: opts.max ?? 10,
    application_name: opts.applicationName ?? 'promfleet',
    connectionTimeoutMillis: opts.connectionTimeoutMillis ?? 10_000,
    idleTimeoutMillis: opts.idleTimeoutMillis ?? 30_000,
  });
  const target = maskConnectionString(opts.connectionString);
  const checkedOut = new WeakSet<pg.PoolClient>();

  pool.on('error', (err) => {
    log.warn({ err, target }, 'idle PostgreSQL connection failed; it was removed from the pool');
  });
  const reported = new WeakSet<pg.PoolClient>();
  pool.on('connect', (client) => {
    client.on('error', (err) => {
      // Idle clients are reported by the pool's own 'error' event above. A killed session
      // errors twice (the server's FATAL message, then the closed socket): log the first.
      if (!checkedOut.has(client) || reported.has(client)) return;
      reported.add(client);
      log.warn({ err, target }, 'PostgreSQL connection in use failed');
    });
  });
  pool.on('acquire', (client) => { checkedOut.add(client); });
  pool.on('release', (_err, client) => { checkedOut.delete(client); });
  return pool;
}

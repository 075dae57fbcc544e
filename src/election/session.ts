import pg from 'pg';

/**
 * The election session's timings, all derived from --election.interval.
 *
 * Why the holder always stops claiming before another process can take its lock:
 *
 * - Ingress side: the elector asks the session something at least once per interval (it checks
 *   every lock it holds each round), and every query has a deadline. A query that misses it
 *   counts as a lost session: the elector steps down at once, destroys the connection and
 *   reconnects with backoff. So after the last answer it received, the holder claims its groups
 *   for at most `stepDownBoundMs` = one interval (the sleep between rounds) + one deadline.
 * - Server side: a silent session (peer powered off, partition without FIN/RST) is ended, and
 *   its locks freed, only after `idle_session_timeout` (or `idle_in_transaction_session_timeout`)
 *   counted from the last message it answered, or after TCP keepalive / `tcp_user_timeout` gave
 *   up on the peer. All of them are set to `sessionTimeoutMs` = 2 × stepDownBoundMs or more, so
 *   the server frees the locks one step-down bound after the holder stopped claiming, at the
 *   earliest. Another ingress can be elected only after that.
 *
 * At --election.interval=1s: deadline 2 s, step-down within 3 s, server gives up after 6 s.
 */
export interface ElectionTimings {
  /** Every query (and the connect) of the session must answer within this (ms). */
  readonly queryDeadlineMs: number;
  /**
   * A takeover's transaction (it records per-series marks, which takes longer on large groups).
   * While one runs, the process's other held locks are not re-checked: the margin above is then
   * as long as the server keeps running the statement for the session.
   */
  readonly takeoverDeadlineMs: number;
  /** After the last answer, the holder stops claiming within this (ms). */
  readonly stepDownBoundMs: number;
  /** The server ends a silent session after this (ms). */
  readonly sessionTimeoutMs: number;
  /** Keepalive idle time and probe interval (whole seconds, as PostgreSQL takes them) and probe count. */
  readonly keepalivesIdleS: number;
  readonly keepalivesIntervalS: number;
  readonly keepalivesCount: number;
  /** How often the server checks, while a query runs, that the client is still connected (ms). */
  readonly connectionCheckMs: number;
}

export function electionTimings(intervalMs: number): ElectionTimings {
  const queryDeadlineMs = Math.max(2 * intervalMs, 1000);
  const stepDownBoundMs = intervalMs + queryDeadlineMs;
  const sessionTimeoutMs = 2 * stepDownBoundMs;
  // Keepalive declares the peer dead after idle + count × interval, at least sessionTimeoutMs.
  const keepalivesIdleS = Math.ceil(sessionTimeoutMs / 2 / 1000);
  const keepalivesIntervalS = Math.ceil(sessionTimeoutMs / 4 / 1000);
  return {
    queryDeadlineMs,
    takeoverDeadlineMs: Math.max(10 * queryDeadlineMs, 30_000),
    stepDownBoundMs,
    sessionTimeoutMs,
    keepalivesIdleS,
    keepalivesIntervalS,
    keepalivesCount: 2,
    connectionCheckMs: Math.max(intervalMs, 100),
  };
}

/** The server settings of the election session, as (name, value) pairs. */
export function sessionSettings(t: ElectionTimings): ReadonlyArray<readonly [string, string]> {
  return [
    ['idle_session_timeout', `${t.sessionTimeoutMs}ms`],
    ['idle_in_transaction_session_timeout', `${t.sessionTimeoutMs}ms`],
    ['tcp_keepalives_idle', String(t.keepalivesIdleS)],
    ['tcp_keepalives_interval', String(t.keepalivesIntervalS)],
    ['tcp_keepalives_count', String(t.keepalivesCount)],
    ['tcp_user_timeout', `${t.sessionTimeoutMs}ms`],
    ['client_connection_check_interval', `${t.connectionCheckMs}ms`],
  ];
}

export class QueryDeadlineError extends Error {
  constructor(what: string, ms: number) {
    super(`election query (${what}) did not answer within ${ms} ms`);
    this.name = 'QueryDeadlineError';
  }
}

/** Closes a session for good, even one whose peer went silent (a plain end() would wait for it). */
export function destroySession(client: pg.Client): void {
  client.end().catch(() => undefined);
  client.connection.stream.destroy();
}

/**
 * Runs `fn` (queries on `client`) with a deadline. When it has not settled in time, the
 * connection is destroyed (never reused: a late answer must not be taken for a fresh one) and
 * the call rejects with QueryDeadlineError.
 */
export async function withDeadline<T>(client: pg.Client, ms: number, what: string, fn: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      destroySession(client);
      reject(new QueryDeadlineError(what, ms));
    }, ms);
  });
  try {
    return await Promise.race([fn(), expired]);
  } finally {
    clearTimeout(timer);
  }
}

export interface SessionOptions {
  readonly connectionString: string;
  readonly applicationName: string;
  readonly timings: ElectionTimings;
}

/**
 * A client for the election session: TCP keepalive on our side, connect bounded by the query
 * deadline. Not connected yet (the caller attaches its error handler first).
 */
export function sessionClient(opts: SessionOptions): pg.Client {
  return new pg.Client({
    connectionString: opts.connectionString,
    application_name: opts.applicationName,
    keepAlive: true,
    keepAliveInitialDelayMillis: opts.timings.keepalivesIdleS * 1000,
    connectionTimeoutMillis: opts.timings.queryDeadlineMs,
  });
}

/**
 * Applies sessionSettings on a connected session; returns the names the server does not know
 * (older PostgreSQL: idle_session_timeout and client_connection_check_interval came in 14).
 */
export async function applySessionSettings(client: pg.Client, t: ElectionTimings): Promise<string[]> {
  const wanted = sessionSettings(t);
  const r = await withDeadline(client, t.queryDeadlineMs, 'session settings', () => client.query<{ name: string }>(
    `SELECT v.name, set_config(v.name, v.value, false) AS value FROM unnest($1::text[], $2::text[]) AS v(name, value)
      WHERE v.name IN (SELECT name FROM pg_settings)`, [wanted.map(([n]) => n), wanted.map(([, v]) => v)]));
  const set = new Set(r.rows.map((row) => row.name));
  return wanted.map(([n]) => n).filter((n) => !set.has(n));
}

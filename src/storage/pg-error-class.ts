import { PromfleetError, isPromfleetError } from '../errors.js';

/**
 * PostgreSQL errors by SQLSTATE (node-postgres puts it in `err.code`), plus the socket errors
 * Node raises before a server ever answers.
 *
 * - retryable: the database is unreachable, shutting down, out of resources, or asked us to
 *   run the transaction again (serialization failure, deadlock, lock timeout). Retry the whole
 *   batch with jittered backoff.
 * - data: the batch itself is wrong (class 22 data exception, class 23 integrity constraint).
 *   Retrying cannot help: dead-letter it.
 * - other: everything else (e.g. 42xxx, a missing table or a bug in our SQL). Not data's
 *   fault, not known to heal by itself.
 */
export type PgErrorClass = 'retryable' | 'data' | 'other';

const RETRYABLE_CODES = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '55P03', // lock_not_available
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '57P05', // idle_session_timeout: the server closed our session
]);

const SOCKET_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH',
  'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED',
]);

/** Messages node-postgres uses for a lost or never-made connection, without a code. */
const CONNECTION_MESSAGES = [
  /^Connection terminated/i,
  /^timeout exceeded when trying to connect/i,
  /^Client has encountered a connection error and is not queryable/i,
  /^Client was closed and is not queryable/i,
];

function codeOf(err: object): string | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

function classifyCode(code: string): PgErrorClass | undefined {
  if (SOCKET_CODES.has(code) || RETRYABLE_CODES.has(code)) return 'retryable';
  if (code.length !== 5) return undefined;
  const cls = code.slice(0, 2);
  if (cls === '08' || cls === '53') return 'retryable';
  if (cls === '22' || cls === '23') return 'data';
  return 'other';
}

export function classifyPgError(err: unknown): PgErrorClass {
  if (typeof err !== 'object' || err === null) return 'other';
  if (isPromfleetError(err)) {
    if (err.code === 'DB_UNAVAILABLE') return 'retryable';
    // Storage refuses a sample or label set it can never store with these codes; retrying
    // the batch would loop forever, so they count as data errors.
    if (err.code === 'DB_REJECTED' || err.code === 'INVALID_SAMPLE' || err.code === 'INVALID_LABELS') return 'data';
    return 'other';
  }
  const code = codeOf(err);
  if (code !== undefined) {
    const c = classifyCode(code);
    if (c !== undefined) return c;
  }
  // Node 20 connects to every address of a host name at once and reports an AggregateError
  // whose members carry the socket codes.
  if (err instanceof AggregateError && err.errors.some((e) => classifyPgError(e) === 'retryable')) return 'retryable';
  const message = err instanceof Error ? err.message : '';
  if (code === undefined && CONNECTION_MESSAGES.some((re) => re.test(message))) return 'retryable';
  return 'other';
}

/** The SQLSTATE class ('08', '23', ...) for metrics, 'socket' for Node errors, else 'other'. */
export function pgErrorClassLabel(err: unknown): string {
  if (typeof err !== 'object' || err === null) return 'other';
  const code = codeOf(err);
  if (code !== undefined && !SOCKET_CODES.has(code) && /^[0-9A-Z]{5}$/.test(code)) return code.slice(0, 2);
  return classifyPgError(err) === 'retryable' ? 'connection' : 'other';
}

/** Maps a database error into the catalogue; the original stays as `cause`. */
export function toPromfleetError(err: unknown): PromfleetError {
  if (isPromfleetError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  const code = typeof err === 'object' && err !== null ? codeOf(err) : undefined;
  const suffix = code ? ` (${code})` : '';
  switch (classifyPgError(err)) {
    case 'retryable':
      return new PromfleetError('DB_UNAVAILABLE', `PostgreSQL unavailable: ${message}${suffix}`, { cause: err });
    case 'data':
      return new PromfleetError('DB_REJECTED', `PostgreSQL rejected the data: ${message}${suffix}`, { cause: err });
    default:
      return new PromfleetError('INTERNAL', `PostgreSQL error: ${message}${suffix}`, { cause: err });
  }
}

/**
 * The one catalogue of promfleet errors. Each code has an HTTP status and says whether the
 * caller may retry. Prometheus drops a batch on any 4xx and retries 5xx forever, so every
 * "not now" is 503 (retryable) and every "never" is 4xx. docs/errors.md lists every code; a
 * test keeps the two in sync.
 */
export interface ErrorSpec {
  readonly status: number;
  readonly retryable: boolean;
  readonly summary: string;
}

export const ERRORS = {
  BODY_TOO_LARGE: { status: 413, retryable: false, summary: 'request body larger than --web.max-body-bytes' },
  DECOMPRESSED_TOO_LARGE: { status: 413, retryable: false, summary: 'snappy length header claims more than --web.max-decompressed-bytes' },
  UNSUPPORTED_CONTENT_ENCODING: { status: 415, retryable: false, summary: 'Content-Encoding is not snappy' },
  UNSUPPORTED_CONTENT_TYPE: { status: 415, retryable: false, summary: 'Content-Type is not a supported remote-write protobuf message' },
  BAD_SNAPPY: { status: 400, retryable: false, summary: 'body is not a valid snappy block (framed snappy is refused)' },
  BAD_PROTOBUF: { status: 400, retryable: false, summary: 'body does not decode as the protobuf message' },
  INVALID_LABELS: { status: 400, retryable: false, summary: 'a series has empty, unsorted, duplicate, non-UTF-8 or NUL-holding labels, or no metric name' },
  INVALID_HISTOGRAM: { status: 400, retryable: false, summary: 'a native histogram has an unknown schema, spans that do not match its buckets, a negative bucket or a count that disagrees with its buckets' },
  INVALID_SAMPLE: { status: 400, retryable: false, summary: 'a sample is outside the accepted time range (--web.max-future, --web.max-sample-age)' },
  LIMIT_SERIES_PER_REQUEST: { status: 413, retryable: false, summary: 'more series (or metadata entries) in one request than --web.max-series-per-request' },
  LIMIT_SAMPLES_PER_REQUEST: { status: 413, retryable: false, summary: 'more samples, exemplars, histograms and buckets in one request than --web.max-samples-per-request' },
  LIMIT_SAMPLES_PER_SERIES: { status: 400, retryable: false, summary: 'more samples and histograms in one series than --web.max-samples-per-series' },
  LIMIT_LABELS_PER_SERIES: { status: 400, retryable: false, summary: 'more labels on one series or exemplar than --web.max-labels-per-series' },
  LIMIT_LABEL_NAME_LENGTH: { status: 400, retryable: false, summary: 'a label name longer than --web.max-label-name-length bytes' },
  LIMIT_LABEL_VALUE_LENGTH: { status: 400, retryable: false, summary: 'a label value longer than --web.max-label-value-length bytes' },
  LIMIT_READ_QUERIES: { status: 413, retryable: false, summary: 'more queries in one remote_read request than --web.read-max-queries' },
  LIMIT_READ_MATCHERS: { status: 400, retryable: false, summary: 'more matchers (and grouping labels) in one read query than --web.read-max-matchers' },
  LIMIT_READ_SERIES: { status: 413, retryable: false, summary: 'a read query selects more series than --web.read-series-limit' },
  LIMIT_READ_SAMPLES: { status: 413, retryable: false, summary: 'a read query selects more samples than --web.read-sample-limit' },
  UNAUTHORIZED: { status: 401, retryable: false, summary: 'missing, wrong or expired credentials (no detail is given to the client)' },
  FORBIDDEN: { status: 403, retryable: false, summary: 'the credential may not use this endpoint, or may not write to this HA group' },
  RATE_LIMITED: { status: 503, retryable: true, summary: 'the credential or HA group is over its request rate (--web.rate-limit.*); Retry-After says when to come back' },
  RATE_LIMITED_429: { status: 429, retryable: true, summary: 'as RATE_LIMITED, with --web.rate-limit.status=429 (for senders with retry_on_http_429)' },
  TOO_BUSY: { status: 503, retryable: true, summary: 'more requests are being processed than --web.max-concurrent-requests, or their bodies would pass --web.max-inflight-body-bytes' },
  ELECTION_ADMIN_UNGUARDED: { status: 403, retryable: false, summary: 'PUT /admin/election/leader on a non-loopback --web.listen-address needs --leader-election.rest-token, --web.auth-file or basic_auth_users in --web.config.file' },
  ELECTION_NOT_REST: { status: 409, retryable: false, summary: 'leadership can be set over REST only with --leader-election.rest' },
  BAD_REQUEST: { status: 400, retryable: false, summary: 'the request body is not what the endpoint takes' },
  METHOD_NOT_ALLOWED: { status: 405, retryable: false, summary: 'HTTP method not allowed on this path' },
  NOT_FOUND: { status: 404, retryable: false, summary: 'no such path' },
  QUEUE_FULL: { status: 503, retryable: true, summary: 'the HA group\'s backlog is over --queue.max-backlog-samples (database behind or away)' },
  QUEUE_UNAVAILABLE: { status: 503, retryable: true, summary: 'the queue (Redis, or the PostgreSQL it lives in with --queue.backend=postgres) did not acknowledge the batch' },
  SHUTTING_DOWN: { status: 503, retryable: true, summary: 'the process is shutting down' },
  DB_UNAVAILABLE: { status: 503, retryable: true, summary: 'PostgreSQL is unreachable or the transaction must be retried' },
  DB_REJECTED: { status: 500, retryable: false, summary: 'PostgreSQL rejected the data itself (constraint or data error)' },
  INTERNAL: { status: 500, retryable: true, summary: 'an unexpected fault in promfleet (logged); the sender should retry' },
  CONFIG_INVALID: { status: 500, retryable: false, summary: 'a setting has an invalid value; the process stops' },
  PG_NOT_CONFIGURED: { status: 500, retryable: false, summary: 'ingress, worker and migrate need a PostgreSQL server (--pg.url, PROMFLEET_PG_URL or --pg.host); only "all" runs an embedded one; the process stops' },
  EMBEDDED_PG_FAILED: { status: 500, retryable: false, summary: 'the embedded PostgreSQL of "all" could not be prepared, initialised or started (the message has its last log lines); the process stops' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

export class PromfleetError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  /** Seconds for the Retry-After header of a retryable error (default 1). */
  readonly retryAfterSeconds: number;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; retryAfterSeconds?: number }) {
    super(message, options);
    this.name = 'PromfleetError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.retryable = ERRORS[code].retryable;
    this.retryAfterSeconds = options?.retryAfterSeconds ?? 1;
  }
}

export function isPromfleetError(err: unknown): err is PromfleetError {
  return err instanceof PromfleetError;
}

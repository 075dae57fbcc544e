import {
  parseBoolean, parseBytes, parseDuration, parseIdentifier, parseInteger, parseListenAddress, parseUrl,
  type ListenAddress,
} from './value-parsers.js';
import { flag, type FlagValuesOf } from './flag-spec.js';

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const QUEUE_BACKENDS = ['redis', 'postgres'] as const;
export type QueueBackendKind = (typeof QUEUE_BACKENDS)[number];

function oneOf<T extends string>(values: readonly T[]): (raw: string) => T {
  return (raw) => {
    const v = raw.trim().toLowerCase();
    if (!(values as readonly string[]).includes(v)) throw new Error(`expected one of ${values.join(', ')}`);
    return v as T;
  };
}

const optionalString = (raw: string): string => raw;

/** "/metrics,/healthz" → ['/metrics', '/healthz']; "" → []. */
function parsePathList(raw: string): readonly string[] {
  const paths = raw.split(',').map((p) => p.trim()).filter((p) => p !== '');
  for (const p of paths) if (!p.startsWith('/')) throw new Error(`expected comma-separated paths starting with /, got ${JSON.stringify(p)}`);
  return Object.freeze(paths);
}

function parseRateLimitStatus(raw: string): 429 | 503 {
  const v = raw.trim();
  if (v === '429') return 429;
  if (v === '503') return 503;
  throw new Error('expected 503 or 429');
}

function parsePositiveDuration(raw: string): number {
  const ms = parseDuration(raw);
  if (ms <= 0) throw new Error('expected a duration above 0');
  return ms;
}

/** A group-commit wait adds its length to every batch's latency when traffic is light: at most a second. */
function parseBatchWait(raw: string): number {
  const ms = parseDuration(raw);
  if (ms > 1000) throw new Error('expected at most 1s');
  return ms;
}

/**
 * Every setting promfleet reads. docs/configuration.md's flag reference is generated from this
 * table, and each flag has the environment variable PROMFLEET_<NAME> (dots and dashes → _).
 */
export const FLAGS = {
  'web.listen-address': flag<ListenAddress>('address', ':9201', parseListenAddress,
    'Address for HTTP: remote write/read, /metrics, /healthz, /readyz. Every role listens.'),
  'web.max-body-bytes': flag<number>('bytes', '32MiB', parseBytes,
    'Largest compressed request body accepted; larger requests get 413 before the body is read.'),
  'web.max-decompressed-bytes': flag<number>('bytes', '64MiB', parseBytes,
    'Largest decompressed remote-write message; a snappy header claiming more gets 413.'),
  'web.max-sample-age': flag<number>('duration', '0', parseDuration,
    'Reject samples older than this (0: accept any age, as Prometheus replays its WAL after outages).'),
  'web.max-future': flag<number>('duration', '1h', parseDuration,
    'Reject samples more than this far in the future of the receiving clock (0: no limit).'),
  'web.max-series-per-request': flag<number>('int', '100000', (raw) => parseInteger(raw, 1, 100_000_000),
    'Most series (and, separately, metadata entries) in one remote-write request; more gets 413 LIMIT_SERIES_PER_REQUEST.'),
  'web.max-samples-per-request': flag<number>('int', '500000', (raw) => parseInteger(raw, 1, 1_000_000_000),
    'Most samples, exemplars, histograms and histogram buckets in one request; more gets 413 LIMIT_SAMPLES_PER_REQUEST.'),
  'web.max-samples-per-series': flag<number>('int', '100000', (raw) => parseInteger(raw, 1, 1_000_000_000),
    'Most samples and histograms in one series of a request; more gets 400 LIMIT_SAMPLES_PER_SERIES.'),
  'web.max-labels-per-series': flag<number>('int', '128', (raw) => parseInteger(raw, 1, 100_000),
    'Most labels on one series (or exemplar); more gets 400 LIMIT_LABELS_PER_SERIES.'),
  'web.max-label-name-length': flag<number>('int', '1024', (raw) => parseInteger(raw, 1, 1_000_000),
    'Longest label name in bytes; longer gets 400 LIMIT_LABEL_NAME_LENGTH.'),
  'web.max-label-value-length': flag<number>('int', '4096', (raw) => parseInteger(raw, 1, 100_000_000),
    'Longest label value in bytes; longer gets 400 LIMIT_LABEL_VALUE_LENGTH.'),
  'web.read-max-queries': flag<number>('int', '64', (raw) => parseInteger(raw, 1, 100_000),
    'Most queries in one remote_read request; more gets 413 LIMIT_READ_QUERIES.'),
  'web.read-max-matchers': flag<number>('int', '64', (raw) => parseInteger(raw, 1, 100_000),
    'Most matchers (and hint grouping labels) in one read query; more gets 400 LIMIT_READ_MATCHERS.'),
  'web.read-series-limit': flag<number>('int', '500000', (raw) => parseInteger(raw, 1, 1_000_000_000),
    'Most series one read query may select in PostgreSQL; more gets 413 LIMIT_READ_SERIES.'),
  'web.read-sample-limit': flag<number>('int', '5000000', (raw) => parseInteger(raw, 1, 1_000_000_000),
    'Most samples one read query may return (they are held in memory while answering); more gets 413 LIMIT_READ_SAMPLES.'),
  'read.regex-dot-matches-newline': flag<boolean>('bool', 'false', parseBoolean,
    'Read matchers (=~, !~) with Prometheus 3\'s semantics, where `.` matches a newline (`^(?s:re)$`); false: Prometheus 2\'s, where it does not.'),
  'web.auth-file': flag<string | undefined>('string', undefined, optionalString,
    'File of credentials (JSON, see docs/security.md) required on /write, /read and /admin/*; re-read on change and on SIGHUP. Unset: no authentication.'),
  'web.auth-open-paths': flag<readonly string[]>('string', '/metrics,/healthz,/readyz', parsePathList,
    'With --web.auth-file or basic_auth_users of --web.config.file: comma-separated paths served without credentials (empty: none; then they need the "metrics" scope).'),
  'web.rate-limit.credential': flag<number>('int', '0', (raw) => parseInteger(raw, 0, 1_000_000),
    'Requests per second one credential may send (burst: one second\'s worth, at least 1); over it the request is refused (0: no limit).'),
  'web.rate-limit.group': flag<number>('int', '0', (raw) => parseInteger(raw, 0, 1_000_000),
    'Write requests per second one HA group may send (burst: one second\'s worth, at least 1); over it the request is refused (0: no limit).'),
  'web.rate-limit.status': flag<429 | 503>('enum', '503', parseRateLimitStatus,
    'Status for a request over a rate limit: 503 (Prometheus retries it) or 429 (retried only with retry_on_http_429).'),
  'web.max-concurrent-requests': flag<number>('int', '256', (raw) => parseInteger(raw, 1, 1_000_000),
    'Requests decoded, enqueued or read at once; more get 503 TOO_BUSY with Retry-After. A request still sending its body does not count.'),
  'web.max-inflight-body-bytes': flag<number>('bytes', '1GiB', parseBytes,
    'Request bodies held in memory at once, counted as they arrive and until answered; beyond, requests get 503 TOO_BUSY.'),
  'web.max-connections': flag<number>('int', '8192', (raw) => parseInteger(raw, 1, 10_000_000),
    'Open client connections; beyond, new connections are closed at once (keep under the process file-descriptor limit).'),
  'web.read-header-timeout': flag<number>('duration', '10s', parsePositiveDuration,
    'Time a client has to send the request headers; a slower one is disconnected.'),
  'web.read-timeout': flag<number>('duration', '60s', parsePositiveDuration,
    'Time a client has to send the whole request (headers and body); a slower one gets 408 and is disconnected.'),
  'web.idle-timeout': flag<number>('duration', '65s', parsePositiveDuration,
    'How long an idle keep-alive connection is kept open.'),
  'web.keep-alive-max-requests': flag<number>('int', '10000', (raw) => parseInteger(raw, 0, 100_000_000),
    'Requests served on one keep-alive connection before it is closed (0: no limit).'),
  'web.tls-cert': flag<string | undefined>('string', undefined, optionalString,
    'PEM certificate (chain) file: serve HTTPS instead of HTTP (with --web.tls-key); re-read on SIGHUP.'),
  'web.tls-key': flag<string | undefined>('string', undefined, optionalString,
    'PEM private key file for --web.tls-cert.'),
  'web.config.file': flag<string | undefined>('string', undefined, optionalString,
    'Prometheus web configuration file (YAML, as Prometheus and its exporters read it): tls_server_config serves HTTPS, basic_auth_users (bcrypt) guards what --web.auth-file guards, http_server_config.headers; re-read on SIGHUP. See docs/security.md.'),
  'pg.url': flag<string | undefined>('url', undefined, (raw) => parseUrl(raw, ['postgres:', 'postgresql:']),
    'PostgreSQL connection URL; when set, wins over the --pg.host/port/user/password/database flags. Without it or --pg.host, `all` runs an embedded PostgreSQL (--storage.embedded-dir) and ingress, worker and migrate stop.'),
  'pg.host': flag<string>('string', '127.0.0.1', optionalString, 'PostgreSQL host (when --pg.url is unset); setting it names a server, as --pg.url does.'),
  'pg.port': flag<number>('int', '5432', (raw) => parseInteger(raw, 1, 65535), 'PostgreSQL port (when --pg.url is unset).'),
  'pg.user': flag<string>('string', 'postgres', optionalString, 'PostgreSQL user (when --pg.url is unset).'),
  'pg.password': flag<string>('string', '', optionalString, 'PostgreSQL password (when --pg.url is unset).'),
  'pg.database': flag<string>('string', 'postgres', optionalString, 'PostgreSQL database (when --pg.url is unset).'),
  'pg.schema': flag<string>('identifier', 'prom', parseIdentifier,
    'Schema holding promfleet tables; deployments sharing one database use different schemas.'),
  'pg.max-open-conns': flag<number>('int', '4', (raw) => parseInteger(raw, 1, 1000),
    'Pooled PostgreSQL connections per process (writers and readers; a remote read of 64 series or more uses two at once).'),
  'redis.url': flag<string>('url', 'redis://127.0.0.1:6379', (raw) => parseUrl(raw, ['redis:', 'rediss:']),
    'Redis URL for the queue (setting it, as a flag or as PROMFLEET_REDIS_URL, puts the queue on Redis unless --queue.backend says otherwise).'),
  'queue.backend': flag<QueueBackendKind | undefined>('enum', undefined, oneOf(QUEUE_BACKENDS),
    'Where the queue lives: redis (the production path; survives database outages) or postgres (in the storage database, schema <--queue.prefix>_queue; goes down with it). Default: redis when --redis.url or PROMFLEET_REDIS_URL is set, else postgres.'),
  'queue.prefix': flag<string>('string', 'promfleet', (raw) => {
    if (!/^[A-Za-z0-9_.{}-]{1,64}$/.test(raw)) throw new Error('expected 1-64 characters of [A-Za-z0-9_.{}-]');
    return raw;
  }, 'Queue namespace: the Redis key prefix, or on PostgreSQL the schema <prefix>_queue; deployments sharing one store use different prefixes.'),
  'queue.max-backlog-samples': flag<number>('int', '0', (raw) => parseInteger(raw, 0, Number.MAX_SAFE_INTEGER),
    'Samples an HA group may have waiting in the queue before its writes get 503 (Prometheus keeps them in its WAL); 0: no bound but the queue store\'s memory or disk.'),
  'queue.ready-jobs-interval': flag<number>('duration', '5s', parseDuration,
    'Writing ingress: how often it refreshes the ready-jobs count KEDA scales workers on (jobs waiting in leaders\' and non-HA queues): the Redis set <--queue.prefix>:{ready-jobs}, or on postgres the sum of n in <prefix>_queue.promfleet_ready_jobs; 0: never.'),
  'queue.ready-jobs-max': flag<number>('int', '10000', (raw) => parseInteger(raw, 1, 1_000_000),
    'Most members one queue puts in the ready-jobs set (keep above KEDA\'s listLength times maxReplicaCount).'),
  'queue.job-max-batches': flag<number>('int', '32', (raw) => parseInteger(raw, 1, 1024),
    'Ingress: batches for one queue that arrive while an add to it is in flight travel as one job (one Redis add, one worker dequeue), at most this many (1: a job per batch).'),
  'queue.job-max-samples': flag<number>('int', '32000', (raw) => parseInteger(raw, 1, 10_000_000),
    'Ingress: most samples in one job of several batches (a lone larger batch still goes, alone).'),
  'queue.job-max-bytes': flag<number>('bytes', '1MiB', (raw) => {
    const n = parseBytes(raw);
    if (n > 256 * 2 ** 20) throw new Error('expected at most 256MiB');
    return n;
  }, 'Ingress: most request-body bytes in one job of several batches (a lone larger batch still goes, alone).'),
  'queue.job-wait': flag<number>('duration', '0', parseBatchWait,
    'Ingress: how long a batch for an idle queue waits for others to share its job (0: it goes at once; batches gather only while an add is in flight).'),
  'read-only': flag<boolean>('bool', 'false', parseBoolean,
    'Serve remote_read only (e.g. against a PostgreSQL read replica): never write, migrate or elect; /write answers 405.'),
  'log.level': flag<LogLevel>('enum', 'info', oneOf(LOG_LEVELS), `Log level: ${LOG_LEVELS.join(', ')}.`),
  'ha.group': flag<string | undefined>('string', undefined, optionalString,
    'HA group of batches whose series carry no cluster label; they are stored with the cluster label set to it.', ['leader-election.pg-advisory-lock-id']),
  'ha.replica': flag<string | undefined>('string', undefined, optionalString,
    'HA replica of batches whose series carry no replica label.'),
  'ha.cluster-label': flag<string>('string', 'cluster', optionalString,
    'Label naming the HA group (kept in storage).'),
  'ha.replica-label': flag<string>('string', '__replica__', optionalString,
    'Label naming the HA replica (stripped, never stored).'),
  'leader-election.pg-advisory-lock.prometheus-timeout': flag<number>('duration', '30s', parseDuration,
    'A replica that has not written for this long, through any ingress, leaves the election (its ingress resigns leadership). Cover the remote-write send interval.',
    ['ha.prometheus-timeout']),
  'election.interval': flag<number>('duration', '1s', parseDuration,
    'How often an ingress tries for its groups\' locks and checks the ones it holds.'),
  'leader-election.rest': flag<boolean>('bool', 'false', parseBoolean,
    'Leadership is set from outside (PUT /admin/election/leader) instead of by advisory locks.'),
  'leader-election.rest-token': flag<string | undefined>('string', undefined, optionalString,
    'When set, /admin/election/leader requires "Authorization: Bearer <token>". PUT needs it (or --web.auth-file) unless --web.listen-address is loopback.'),
  'ha.follower-margin': flag<number>('duration', '2m', parseDuration,
    'A follower batch is dropped once the leader committed this far past its newest sample (cover a few scrape intervals).'),
  'ha.follower-retention': flag<number>('duration', '1h', parseDuration,
    'Deprecated, ignored: follower batches are kept by data time until the leader covers them; --queue.max-backlog-samples bounds the queue.'),
  'ha.mark-lookback': flag<number>('duration', '1h', parseDuration,
    'At a handoff, how far before the cut each series\' last committed sample is looked for; a series without one is filled in from cut - lookback.'),
  'ha.max-clock-skew': flag<number>('duration', '1m', parseDuration,
    'The group watermark and a handoff\'s cut never pass the database clock plus this: one sample from a fast clock cannot move them into the future.'),
  'worker.concurrency': flag<number>('int', '32', (raw) => parseInteger(raw, 1, 256),
    'Jobs (each of one or more batches) a worker takes from each queue at once; batches that arrive together are written in one transaction.'),
  'worker.batch-max-samples': flag<number>('int', '20000', (raw) => parseInteger(raw, 1, 10_000_000),
    'Group commit: a transaction takes batches of one queue until they hold this many samples (1: one batch per transaction).'),
  'worker.batch-wait': flag<number>('duration', '2ms', parseBatchWait,
    'Group commit: how long a batch waits for more of its queue before its transaction starts (0: the next event-loop turn).'),
  'worker.max-transactions': flag<number>('int', '2', (raw) => parseInteger(raw, 1, 64),
    'Group commit: write transactions a worker runs at once per queue (each on its own connection, up to --pg.max-open-conns); batches arriving meanwhile go into the next one.'),
  'worker.lock-duration': flag<number>('duration', '30s', (raw) => {
    const ms = parseDuration(raw);
    if (ms < 1000) throw new Error('expected at least 1s');
    return ms;
  }, 'How long a worker holds a batch before another may take it again (renewed while it writes); a killed worker\'s batches wait this long.'),
  'worker.queue-poll-interval': flag<number>('duration', '500ms', parseDuration,
    'How often a worker looks for new queues and follows leadership changes.'),
  'storage.embedded-dir': flag<string>('string', './promfleet-data', (raw) => {
    if (raw.trim() === '') throw new Error('expected a folder');
    return raw;
  }, '`all` without --pg.url, PROMFLEET_PG_URL or --pg.host: folder of the embedded PostgreSQL it runs (created, and initialised while empty; data survives restarts). ingress and worker never embed one.'),
  'storage.partition-interval': flag<number>('duration', '1d', parseDuration,
    'Time span of one samples partition (vanilla PostgreSQL).'),
  'storage.partitions-ahead': flag<number>('int', '2', (raw) => parseInteger(raw, 0, 365),
    'Partitions created ahead of the current time.'),
  'storage.retention': flag<number>('duration', '0', parseDuration,
    'Drop samples older than this (0: keep everything): whole partitions on PostgreSQL, a retention policy on TimescaleDB.'),
  'storage.compress-after': flag<number>('duration', '1d', parseDuration,
    'TimescaleDB only: compress chunks older than this (0: no compression policy).'),
  'storage.timescaledb': flag<boolean>('bool', 'true', parseBoolean,
    'Use TimescaleDB hypertables when the extension is available.'),
  'ledger.retention': flag<number>('duration', '6h', parseDuration,
    'How long written batch ids are kept for exactly-once (must outlive Prometheus resending a batch).'),
  'shutdown.timeout': flag<number>('duration', '30s', parseDuration,
    'On SIGTERM, how long to drain in-flight work before aborting it.'),
} as const;

export type FlagName = keyof typeof FLAGS;
export type FlagValues = FlagValuesOf<typeof FLAGS>;

export function envName(flagName: string): string {
  return `PROMFLEET_${flagName.replace(/[.-]/g, '_').toUpperCase()}`;
}

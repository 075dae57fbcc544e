import type { FlagValues, LogLevel, QueueBackendKind } from './flags.js';

/**
 * The parsed configuration, one typed slice per part of a process. Each slice holds what its part
 * reads, named as that part's options name it, so the wiring hands it over as it is; a flag that
 * several parts read appears in each of their slices.
 */
export interface Config {
  readonly log: { readonly level: LogLevel };
  /** On SIGTERM, how long in-flight work may drain before it is cut (ms). */
  readonly shutdown: { readonly timeoutMs: number };
  readonly http: HttpConfig;
  readonly auth: AuthConfig;
  readonly ingress: IngressConfig;
  readonly read: ReadConfig;
  readonly queue: QueueConfig;
  readonly worker: WorkerConfig;
  readonly election: ElectionConfig;
  readonly storage: StorageConfig;
}

/** The listener: --web.listen-address, TLS and the connection and request limits. */
export interface HttpConfig {
  readonly host: string;
  readonly port: number;
  readonly tls: { readonly certFile: string; readonly keyFile: string } | undefined;
  /** --web.config.file: TLS, basic_auth_users and headers in Prometheus's web config format. */
  readonly webConfigFile: string | undefined;
  readonly limits: {
    readonly headerTimeoutMs: number;
    readonly requestTimeoutMs: number;
    readonly idleTimeoutMs: number;
    readonly maxRequestsPerSocket: number;
    readonly maxConnections: number;
    readonly maxConcurrent: number;
    readonly maxInflightBodyBytes: number;
  };
}

export interface RateConfig {
  readonly perSecond: number;
  readonly status: 429 | 503;
}

/** Credentials: unset `file` means no authentication. */
export interface AuthConfig {
  readonly file: string | undefined;
  readonly openPaths: readonly string[];
  readonly credentialRate: RateConfig;
}

/** Remote write: what a request may hold, how batches share jobs, the HA labels. */
export interface IngressConfig {
  /** Serve remote_read only: no queue, no election, no migration; writes are refused. */
  readonly readOnly: boolean;
  /** A replica that sent nothing for this long was quiet (its Prometheus timeout, ms). */
  readonly quietAfterMs: number;
  readonly maxBacklogSamples: number;
  readonly coalesce: { readonly maxParts: number; readonly maxSamples: number; readonly maxBytes: number; readonly waitMs: number };
  readonly groupRate: RateConfig;
  readonly limits: {
    readonly maxBodyBytes: number;
    readonly maxDecompressedBytes: number;
    readonly maxSampleAgeMs: number;
    readonly maxFutureMs: number;
    readonly decode: {
      readonly maxSeriesPerRequest: number;
      readonly maxSamplesPerRequest: number;
      readonly maxSamplesPerSeries: number;
      readonly maxLabelsPerSeries: number;
      readonly maxLabelNameBytes: number;
      readonly maxLabelValueBytes: number;
    };
  };
  readonly ha: {
    readonly clusterLabel: string;
    readonly replicaLabel: string;
    readonly defaultGroup: string | undefined;
    readonly defaultReplica: string | undefined;
  };
}

/** Remote read: what one request may ask and select. */
export interface ReadConfig {
  /** Labels never stored, so never matched (the HA replica label). */
  readonly ignoreLabels: readonly string[];
  readonly clusterLabel: string;
  readonly maxBodyBytes: number;
  readonly maxDecompressedBytes: number;
  readonly decodeLimits: { readonly maxQueries: number; readonly maxMatchers: number };
  readonly maxSeries: number;
  readonly maxSamples: number;
  /** How =~ and !~ read `.`: Prometheus 3 matches `\n` with it, Prometheus 2 does not. */
  readonly regex: { readonly dotMatchesNewline: boolean };
}

/** Where the queues live (Redis, or the storage database), and the namespace of this deployment. */
export interface QueueConfig {
  readonly backend: QueueBackendKind;
  readonly redisUrl: string;
  readonly queuePrefix: string;
  /** The ready-jobs set KEDA reads: refresh interval (ms; 0: off) and members per queue at most. */
  readonly readyJobs: { readonly intervalMs: number; readonly max: number };
}

/** Consuming the queues and writing to PostgreSQL (durations in ms). */
export interface WorkerConfig {
  readonly concurrency: number;
  readonly batchMaxSamples: number;
  readonly batchWaitMs: number;
  readonly maxTransactions: number;
  readonly lockDurationMs: number;
  readonly queuePollIntervalMs: number;
  readonly maxDecompressedBytes: number;
  readonly partitionIntervalMs: number;
  readonly partitionsAhead: number;
  readonly followerMarginMs: number;
  readonly markLookbackMs: number;
  readonly maxClockSkewMs: number;
  readonly ledgerRetentionMs: number;
  readonly retentionMs: number;
}

/** Who leads each HA group: by advisory lock, or set from outside with `rest` (durations in ms). */
export interface ElectionConfig {
  readonly rest: boolean;
  readonly restToken: string | undefined;
  readonly intervalMs: number;
  /** A replica quiet for this long leaves the election. */
  readonly timeoutMs: number;
  readonly maxClockSkewMs: number;
  /** --ha.group/--ha.replica: the identity this process speaks for before any batch arrived. */
  readonly identity: { readonly group: string; readonly replica: string } | undefined;
}

/** PostgreSQL: where, how many connections, and the schema migrations' settings. */
export interface StorageConfig {
  /** Assembled from --pg.url or the --pg.* parts. */
  readonly connectionString: string;
  /** Whether --pg.url or --pg.host (flag or variable) named a server; else `all` embeds one. */
  readonly serverConfigured: boolean;
  /** --storage.embedded-dir: where `all` keeps the embedded PostgreSQL when no server is named. */
  readonly embeddedDir: string;
  readonly schema: string;
  readonly maxOpenConns: number;
  readonly migration: {
    readonly schema: string;
    readonly timescaledb: boolean;
    readonly partitionIntervalMs: number;
    readonly compressAfterMs: number;
    readonly retentionMs: number;
  };
}

/** Cuts the flat flag values into the slices. */
export function sliceConfig(f: FlagValues, connectionString: string, serverConfigured: boolean, redisConfigured: boolean): Config {
  const { host, port } = f['web.listen-address'];
  const certFile = f['web.tls-cert'];
  const keyFile = f['web.tls-key'];
  const group = f['ha.group'];
  const replica = f['ha.replica'];
  return deepFreeze({
    log: { level: f['log.level'] },
    shutdown: { timeoutMs: f['shutdown.timeout'] },
    http: {
      host, port,
      tls: certFile !== undefined && keyFile !== undefined ? { certFile, keyFile } : undefined,
      webConfigFile: f['web.config.file'],
      limits: {
        headerTimeoutMs: f['web.read-header-timeout'],
        requestTimeoutMs: f['web.read-timeout'],
        idleTimeoutMs: f['web.idle-timeout'],
        maxRequestsPerSocket: f['web.keep-alive-max-requests'],
        maxConnections: f['web.max-connections'],
        maxConcurrent: f['web.max-concurrent-requests'],
        maxInflightBodyBytes: f['web.max-inflight-body-bytes'],
      },
    },
    auth: {
      file: f['web.auth-file'],
      openPaths: f['web.auth-open-paths'],
      credentialRate: { perSecond: f['web.rate-limit.credential'], status: f['web.rate-limit.status'] },
    },
    ingress: {
      readOnly: f['read-only'],
      quietAfterMs: f['leader-election.pg-advisory-lock.prometheus-timeout'],
      maxBacklogSamples: f['queue.max-backlog-samples'],
      coalesce: {
        maxParts: f['queue.job-max-batches'],
        maxSamples: f['queue.job-max-samples'],
        maxBytes: f['queue.job-max-bytes'],
        waitMs: f['queue.job-wait'],
      },
      groupRate: { perSecond: f['web.rate-limit.group'], status: f['web.rate-limit.status'] },
      limits: {
        maxBodyBytes: f['web.max-body-bytes'],
        maxDecompressedBytes: f['web.max-decompressed-bytes'],
        maxSampleAgeMs: f['web.max-sample-age'],
        maxFutureMs: f['web.max-future'],
        decode: {
          maxSeriesPerRequest: f['web.max-series-per-request'],
          maxSamplesPerRequest: f['web.max-samples-per-request'],
          maxSamplesPerSeries: f['web.max-samples-per-series'],
          maxLabelsPerSeries: f['web.max-labels-per-series'],
          maxLabelNameBytes: f['web.max-label-name-length'],
          maxLabelValueBytes: f['web.max-label-value-length'],
        },
      },
      ha: { clusterLabel: f['ha.cluster-label'], replicaLabel: f['ha.replica-label'], defaultGroup: group, defaultReplica: replica },
    },
    read: {
      ignoreLabels: [f['ha.replica-label']],
      clusterLabel: f['ha.cluster-label'],
      maxBodyBytes: f['web.max-body-bytes'],
      maxDecompressedBytes: f['web.max-decompressed-bytes'],
      decodeLimits: { maxQueries: f['web.read-max-queries'], maxMatchers: f['web.read-max-matchers'] },
      maxSeries: f['web.read-series-limit'],
      maxSamples: f['web.read-sample-limit'],
      regex: { dotMatchesNewline: f['read.regex-dot-matches-newline'] },
    },
    queue: {
      backend: f['queue.backend'] ?? (redisConfigured ? 'redis' : 'postgres'),
      redisUrl: f['redis.url'], queuePrefix: f['queue.prefix'],
      readyJobs: { intervalMs: f['queue.ready-jobs-interval'], max: f['queue.ready-jobs-max'] },
    },
    worker: {
      concurrency: f['worker.concurrency'],
      batchMaxSamples: f['worker.batch-max-samples'],
      batchWaitMs: f['worker.batch-wait'],
      maxTransactions: f['worker.max-transactions'],
      lockDurationMs: f['worker.lock-duration'],
      queuePollIntervalMs: f['worker.queue-poll-interval'],
      maxDecompressedBytes: f['web.max-decompressed-bytes'],
      partitionIntervalMs: f['storage.partition-interval'],
      partitionsAhead: f['storage.partitions-ahead'],
      followerMarginMs: f['ha.follower-margin'],
      markLookbackMs: f['ha.mark-lookback'],
      maxClockSkewMs: f['ha.max-clock-skew'],
      ledgerRetentionMs: f['ledger.retention'],
      retentionMs: f['storage.retention'],
    },
    election: {
      rest: f['leader-election.rest'],
      restToken: f['leader-election.rest-token'],
      intervalMs: f['election.interval'],
      timeoutMs: f['leader-election.pg-advisory-lock.prometheus-timeout'],
      maxClockSkewMs: f['ha.max-clock-skew'],
      identity: group !== undefined && replica !== undefined ? { group, replica } : undefined,
    },
    storage: {
      connectionString,
      serverConfigured,
      embeddedDir: f['storage.embedded-dir'],
      schema: f['pg.schema'],
      maxOpenConns: f['pg.max-open-conns'],
      migration: {
        schema: f['pg.schema'],
        timescaledb: f['storage.timescaledb'],
        partitionIntervalMs: f['storage.partition-interval'],
        compressAfterMs: f['storage.compress-after'],
        retentionMs: f['storage.retention'],
      },
    },
  });
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

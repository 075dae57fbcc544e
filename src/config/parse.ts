import { PromfleetError } from '../errors.js';
import { FLAGS, envName, type FlagName, type FlagValues } from './flags.js';
import { FlagError, readArgs as readTableArgs, readFlagValues, type FlagProblem } from './read-flags.js';
import { sliceConfig, type Config } from './slices.js';

export const ROLES = ['ingress', 'worker', 'all', 'migrate', 'dead-letters'] as const;
export type Role = (typeof ROLES)[number];

function configError(p: FlagProblem): PromfleetError {
  switch (p.kind) {
    case 'unexpected': return new PromfleetError('CONFIG_INVALID', `unexpected argument "${p.arg}"`);
    case 'unknown': return new PromfleetError('CONFIG_INVALID', `unknown flag --${p.name} (see --help)`);
    case 'missing-value': return new PromfleetError('CONFIG_INVALID', `flag --${p.name} needs a value`);
    case 'invalid': return new PromfleetError('CONFIG_INVALID', `invalid value ${JSON.stringify(p.text)} for ${p.source}: ${p.reason}`);
  }
}

function asConfigError<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    throw err instanceof FlagError ? configError(err.problem) : err;
  }
}

/** promfleet's command line as raw name/value pairs ("--a=b", "--a b", "-a b", bare boolean "--a"; aliases resolved). */
export function readArgs(argv: readonly string[]): Map<FlagName, string> {
  return asConfigError(() => readTableArgs(FLAGS, argv));
}

/**
 * Flags win over PROMFLEET_* environment variables, which win over defaults. Every value is
 * parsed here, once; a bad one stops the process with the setting's name and the value.
 */
export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Config {
  const flags = asConfigError(() => readFlagValues(FLAGS, argv, { vars: env, name: envName }));
  checkCrossRules(flags);
  const given = readArgs(argv);
  return sliceConfig(flags, connectionString(flags), serverConfigured(given, env), redisConfigured(given, env));
}

/** Whether --redis.url was given, as a flag or as PROMFLEET_REDIS_URL: then the queue defaults to Redis. */
export function redisConfigured(given: ReadonlyMap<FlagName, string>, env: NodeJS.ProcessEnv): boolean {
  return given.has('redis.url') || (env[envName('redis.url')] ?? '') !== '';
}

/** Flags that name a PostgreSQL server; without any of them, `all` runs an embedded one. */
export const SERVER_FLAGS = ['pg.url', 'pg.host'] as const satisfies readonly FlagName[];

/** Whether --pg.url or --pg.host was given, as a flag or as its PROMFLEET_* variable. */
export function serverConfigured(given: ReadonlyMap<FlagName, string>, env: NodeJS.ProcessEnv): boolean {
  return SERVER_FLAGS.some((name) => given.has(name) || (env[envName(name)] ?? '') !== '');
}

function checkCrossRules(f: FlagValues): void {
  if (f['web.max-decompressed-bytes'] < f['web.max-body-bytes'] / 4) {
    // A snappy block rarely compresses below 1/4 on Prometheus data; a lower ceiling rejects valid bodies.
    throw new PromfleetError('CONFIG_INVALID',
      `--web.max-decompressed-bytes (${f['web.max-decompressed-bytes']}) must be at least a quarter of --web.max-body-bytes (${f['web.max-body-bytes']})`);
  }
  if (f['ha.replica-label'] === f['ha.cluster-label']) {
    throw new PromfleetError('CONFIG_INVALID', `--ha.replica-label and --ha.cluster-label must differ (both "${f['ha.cluster-label']}")`);
  }
  if (f['storage.partition-interval'] < 3_600_000) {
    throw new PromfleetError('CONFIG_INVALID', `--storage.partition-interval must be at least 1h (got ${f['storage.partition-interval']} ms)`);
  }
  const timeout = f['leader-election.pg-advisory-lock.prometheus-timeout'];
  if (timeout <= 3 * f['election.interval']) {
    throw new PromfleetError('CONFIG_INVALID',
      `--leader-election.pg-advisory-lock.prometheus-timeout (${timeout} ms) must be more than 3 × --election.interval (${f['election.interval']} ms)`);
  }
  if (f['ha.max-clock-skew'] >= f['ha.follower-margin']) {
    // A watermark up to the skew ahead of the data must still leave the follower's copy of what
    // the leader has not really committed yet.
    throw new PromfleetError('CONFIG_INVALID',
      `--ha.max-clock-skew (${f['ha.max-clock-skew']} ms) must be less than --ha.follower-margin (${f['ha.follower-margin']} ms)`);
  }
  if ((f['web.tls-cert'] === undefined) !== (f['web.tls-key'] === undefined)) {
    throw new PromfleetError('CONFIG_INVALID', '--web.tls-cert and --web.tls-key go together');
  }
  if (f['web.read-header-timeout'] > f['web.read-timeout']) {
    throw new PromfleetError('CONFIG_INVALID', '--web.read-header-timeout must not exceed --web.read-timeout');
  }
  if (f['web.max-inflight-body-bytes'] < f['web.max-body-bytes']) {
    throw new PromfleetError('CONFIG_INVALID', '--web.max-inflight-body-bytes must be at least --web.max-body-bytes');
  }
  if (f['web.max-samples-per-series'] > f['web.max-samples-per-request']) {
    throw new PromfleetError('CONFIG_INVALID', '--web.max-samples-per-series must not exceed --web.max-samples-per-request');
  }
  if (f['ha.replica'] !== undefined && f['ha.group'] === undefined) {
    throw new PromfleetError('CONFIG_INVALID', '--ha.replica needs --ha.group');
  }
}

function connectionString(f: FlagValues): string {
  if (f['pg.url']) return f['pg.url'];
  const u = new URL('postgres://localhost');
  u.hostname = f['pg.host'];
  u.port = String(f['pg.port']);
  u.username = encodeURIComponent(f['pg.user']);
  u.password = encodeURIComponent(f['pg.password']);
  u.pathname = `/${encodeURIComponent(f['pg.database'])}`;
  return u.toString();
}

/** Query parameters that carry secrets in PostgreSQL and Redis URLs (password, sslpassword, token, …). */
const SECRET_PARAM = /pass|secret|token|auth/i;

/** The connection string with its password (in the user info or in the query) replaced, for logs. */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    for (const name of [...u.searchParams.keys()]) if (SECRET_PARAM.test(name)) u.searchParams.set(name, '***');
    return u.toString();
  } catch {
    return '<unparseable url>';
  }
}

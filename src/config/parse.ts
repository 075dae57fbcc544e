import { PromfleetError } from '../errors.js';
import { FLAGS, envName, type FlagName, type FlagSpec, type FlagValues } from './flags.js';

export const ROLES = ['ingress', 'worker', 'all', 'migrate', 'dead-letters'] as const;
export type Role = (typeof ROLES)[number];

export interface Config extends FlagValues {
  /** PostgreSQL connection string assembled from --pg.url or the --pg.* parts. */
  readonly pgConnectionString: string;
}

const byName = new Map<string, FlagName>();
for (const name of Object.keys(FLAGS) as FlagName[]) {
  byName.set(name, name);
  for (const alias of (FLAGS[name] as FlagSpec<unknown>).aliases ?? []) byName.set(alias, name);
}

/** Splits "--a=b", "--a b", "-a b" and bare boolean "--a" into raw name/value pairs. */
export function readArgs(argv: readonly string[]): Map<FlagName, string> {
  const out = new Map<FlagName, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const m = /^--?([A-Za-z0-9._-]+)(?:=(.*))?$/s.exec(arg);
    if (!m) throw new PromfleetError('CONFIG_INVALID', `unexpected argument "${arg}"`);
    const name = byName.get(m[1]);
    if (!name) throw new PromfleetError('CONFIG_INVALID', `unknown flag --${m[1]} (see --help)`);
    let value = m[2];
    if (value === undefined) {
      if (FLAGS[name].kind === 'bool' && (i + 1 >= argv.length || argv[i + 1].startsWith('-'))) value = 'true';
      else if (i + 1 < argv.length) value = argv[++i];
      else throw new PromfleetError('CONFIG_INVALID', `flag --${name} needs a value`);
    }
    out.set(name, value);
  }
  return out;
}

/**
 * Flags win over PROMFLEET_* environment variables, which win over defaults. Every value is
 * parsed here, once; a bad one stops the process with the setting's name and the value.
 */
export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Config {
  const raw = readArgs(argv);
  const values: Record<string, unknown> = {};
  for (const name of Object.keys(FLAGS) as FlagName[]) {
    const spec = FLAGS[name] as FlagSpec<unknown>;
    const text = raw.get(name) ?? env[envName(name)] ?? spec.default;
    if (text === undefined) {
      values[name] = undefined;
      continue;
    }
    try {
      values[name] = spec.parse(text);
    } catch (err) {
      const source = raw.has(name) ? `--${name}` : env[envName(name)] !== undefined ? envName(name) : `default of --${name}`;
      throw new PromfleetError('CONFIG_INVALID', `invalid value ${JSON.stringify(text)} for ${source}: ${(err as Error).message}`);
    }
  }
  const flags = values as unknown as FlagValues;
  checkCrossRules(flags);
  return Object.freeze({ ...flags, pgConnectionString: connectionString(flags) });
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

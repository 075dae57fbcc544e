import { readArgs } from './parse.js';
import type { FlagName } from './flags.js';

/** One flag of the original prometheus-postgresql-adapter and where its meaning went in promfleet. */
export interface AdapterFlag {
  /** The adapter's flag name (it took `-name=value`; promfleet takes `-name` and `--name`). */
  readonly name: string;
  /** The adapter's default, as its --help printed it. */
  readonly default: string;
  /** The promfleet flag that means the same, when one does. */
  readonly promfleet?: FlagName;
  /** What an operator moving over should know. */
  readonly note: string;
}

/**
 * Every flag of the adapter (its main.go and pgprometheus client). The table in
 * docs/migrating-from-prometheus-postgresql-adapter.md is generated from this list; whether
 * promfleet accepts the old name is not written here but asked of promfleet's own argument
 * parser, so the table follows the aliases.
 */
export const ADAPTER_FLAGS: readonly AdapterFlag[] = [
  { name: 'web.listen-address', default: ':9201', promfleet: 'web.listen-address', note: 'Same port; every role listens.' },
  { name: 'web.telemetry-path', default: '/metrics', note: 'Metrics are always on `/metrics`.' },
  { name: 'log.level', default: 'debug', promfleet: 'log.level', note: 'Default `info`; logs are JSON (pino).' },
  { name: 'adapter.send-timeout', default: '30s', note: 'Writes are answered once Redis acknowledged them; Prometheus\'s `remote_timeout` bounds a request.' },
  { name: 'leader-election.pg-advisory-lock-id', default: '0', promfleet: 'ha.group',
    note: 'Its value becomes the HA group of series without a cluster label, stored as their cluster label (promfleet derives the lock key itself, per `--pg.schema`); `cluster` and `__replica__` external labels on each Prometheus are the simpler way.' },
  { name: 'leader-election.pg-advisory-lock.prometheus-timeout', default: '-1', promfleet: 'leader-election.pg-advisory-lock.prometheus-timeout',
    note: 'Same meaning; default `30s` instead of no timeout, and it must exceed 3 × `--election.interval`.' },
  { name: 'leader-election.rest', default: 'false', promfleet: 'leader-election.rest', note: 'Same `/admin/election/leader` endpoint; `PUT` needs `--leader-election.rest-token` or `--web.auth-file` unless the listener is loopback only.' },
  { name: 'pg.host', default: 'localhost', promfleet: 'pg.host', note: 'Or one `--pg.url`.' },
  { name: 'pg.port', default: '5432', promfleet: 'pg.port', note: '' },
  { name: 'pg.user', default: 'postgres', promfleet: 'pg.user', note: '' },
  { name: 'pg.password', default: '', promfleet: 'pg.password', note: 'Prefer `PROMFLEET_PG_URL` from a secret.' },
  { name: 'pg.database', default: 'postgres', promfleet: 'pg.database', note: '' },
  { name: 'pg.schema', default: '', promfleet: 'pg.schema', note: 'Default `prom` instead of the search path\'s first schema; promfleet creates it.' },
  { name: 'pg.ssl-mode', default: 'disable', note: 'Put it in `--pg.url`, e.g. `postgres://…/db?sslmode=require`.' },
  { name: 'pg.table', default: 'metrics', note: 'Fixed layout: `series` and `samples`; the view `metrics(time, name, value, labels)` serves SQL users.' },
  { name: 'pg.copy-table', default: 'metrics_copy', note: 'No staging table: workers write with binary `COPY` straight into `samples`.' },
  { name: 'pg.max-open-conns', default: '50', promfleet: 'pg.max-open-conns', note: 'Per process, default `4`; scale with processes instead.' },
  { name: 'pg.max-idle-conns', default: '10', note: 'The pool closes idle connections itself.' },
  { name: 'pg.prometheus-normalized-schema', default: 'true', note: 'Always normalized (one `series` row per label set).' },
  { name: 'pg.prometheus-log-samples', default: 'false', note: 'Not kept: samples are never logged.' },
  { name: 'pg.prometheus-chunk-interval', default: '12h', promfleet: 'storage.partition-interval',
    note: 'Chunk interval on TimescaleDB, partition span on PostgreSQL; default `1d`.' },
  { name: 'pg.use-timescaledb', default: 'true', promfleet: 'storage.timescaledb', note: 'Same meaning; used only when the extension is preloaded.' },
];

/** How promfleet takes an adapter flag today: under the same name, as an alias, or not at all. */
export function adapterFlagStatus(f: AdapterFlag): 'same name' | 'alias' | 'renamed' | 'dropped' {
  let accepted: FlagName | undefined;
  try {
    accepted = [...readArgs([`--${f.name}=x`]).keys()][0];
  } catch {
    accepted = undefined;
  }
  if (accepted !== undefined && accepted !== f.promfleet) {
    throw new Error(`adapter flag --${f.name} is accepted as --${accepted} but listed as ${f.promfleet === undefined ? 'dropped' : `--${f.promfleet}`}`);
  }
  if (f.promfleet === undefined) return 'dropped';
  if (accepted === undefined) return 'renamed';
  return accepted === f.name ? 'same name' : 'alias';
}

/** The migration table in docs/migrating-from-prometheus-postgresql-adapter.md (generated; a test keeps it current). */
export function adapterFlagReference(): string {
  const rows = ['| adapter flag (default) | promfleet | how | note |', '| --- | --- | --- | --- |'];
  for (const f of ADAPTER_FLAGS) {
    const status = adapterFlagStatus(f);
    const how = { 'same name': 'accepted as is', alias: 'old name accepted', renamed: 'rename it', dropped: 'remove it' }[status];
    const def = f.default === '' ? '""' : f.default;
    rows.push(`| \`-${f.name}\` (\`${def}\`) | ${f.promfleet === undefined ? '—' : `\`--${f.promfleet}\``} | ${how} | ${f.note.replace(/\|/g, '\\|')} |`);
  }
  return rows.join('\n');
}

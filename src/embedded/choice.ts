import { PromfleetError } from '../errors.js';

/** Where a process takes its PostgreSQL from. */
export type DatabaseChoice =
  | { readonly kind: 'configured' }
  | { readonly kind: 'embedded'; readonly dir: string };

export const HOW_TO_CONFIGURE = 'set --pg.url or PROMFLEET_PG_URL (or --pg.host and the other --pg.* flags) to use a PostgreSQL or TimescaleDB server';

/**
 * A server given with --pg.url, PROMFLEET_PG_URL or --pg.host (flag or variable) is used as it
 * is. Without one, `all` runs the embedded PostgreSQL in --storage.embedded-dir; the split roles
 * (ingress, worker) and migrate never do: processes that share one database need a real server,
 * so they stop with PG_NOT_CONFIGURED.
 */
export function chooseDatabase(role: string, storage: { readonly serverConfigured: boolean; readonly embeddedDir: string }): DatabaseChoice {
  if (storage.serverConfigured) return { kind: 'configured' };
  if (role === 'all') return { kind: 'embedded', dir: storage.embeddedDir };
  throw new PromfleetError('PG_NOT_CONFIGURED',
    `"${role}" needs a PostgreSQL server: ${HOW_TO_CONFIGURE}. ingress, worker and migrate work on a database that processes share, so only "all" runs an embedded PostgreSQL`);
}

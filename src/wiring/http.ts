import type { Config } from '../config/index.js';
import { HttpServer } from '../http/server.js';
import { RateLimiter } from '../http/rate-limit.js';
import { CredentialStore, createGuard } from '../auth/index.js';
import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';

/** The listener every role has, behind the credentials of --web.auth-file when set. */
export function createListener(config: Config, log: Logger, metrics: Metrics): { server: HttpServer; credentials: CredentialStore | undefined } {
  const { http, auth } = config;
  const credentials = auth.file === undefined ? undefined : new CredentialStore({ path: auth.file, log: log.child({ component: 'auth' }) });
  const guard = credentials && createGuard({
    store: credentials,
    openPaths: auth.openPaths,
    limiter: new RateLimiter({ ...auth.credentialRate, what: 'credential', flag: '--web.rate-limit.credential' }),
    log: log.child({ component: 'auth' }),
    metrics,
  });
  const server = new HttpServer({ ...http, log: log.child({ component: 'http' }), metrics, guard });
  return { server, credentials };
}

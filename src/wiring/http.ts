import type { Config } from '../config/index.js';
import { PromfleetError } from '../errors.js';
import { HttpServer } from '../http/server.js';
import { RateLimiter } from '../http/rate-limit.js';
import { pemFilesTls } from '../http/tls.js';
import { BcryptUsers, CredentialStore, createGuard } from '../auth/index.js';
import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';
import { WebConfigStore } from '../webconfig/index.js';

export interface Listener {
  readonly server: HttpServer;
  readonly credentials: CredentialStore | undefined;
  readonly webConfig: WebConfigStore | undefined;
  /** Whether requests need credentials at start (--web.auth-file, or basic_auth_users in --web.config.file). */
  readonly guarded: boolean;
}

/**
 * The listener every role has: HTTPS from --web.tls-cert or the web config file, behind the
 * credentials of --web.auth-file and the basic_auth_users of --web.config.file when set.
 */
export function createListener(config: Config, log: Logger, metrics: Metrics): Listener {
  const { http, auth } = config;
  const authLog = log.child({ component: 'auth' });
  const credentials = auth.file === undefined ? undefined : new CredentialStore({ path: auth.file, log: authLog });
  const webConfig = http.webConfigFile === undefined ? undefined : new WebConfigStore(http.webConfigFile, log.child({ component: 'web-config' }));
  const webTls = webConfig?.tlsSetup();
  if (webTls && http.tls) {
    throw new PromfleetError('CONFIG_INVALID', `--web.tls-cert/--web.tls-key and tls_server_config in --web.config.file ${http.webConfigFile} both configure TLS; keep one`);
  }
  const users = webConfig && new BcryptUsers({ users: () => webConfig.config.basicAuthUsers });
  const guard = (credentials || users) && createGuard({
    store: credentials,
    users,
    openPaths: auth.openPaths,
    limiter: new RateLimiter({ ...auth.credentialRate, what: 'credential', flag: '--web.rate-limit.credential' }),
    log: authLog,
    metrics,
  });
  const server = new HttpServer({
    host: http.host, port: http.port, limits: http.limits, log: log.child({ component: 'http' }), metrics, guard,
    tls: webTls ?? (http.tls && pemFilesTls(http.tls.certFile, http.tls.keyFile)),
    responseHeaders: webConfig && (() => webConfig.config.headers),
  });
  return { server, credentials, webConfig, guarded: credentials !== undefined || users?.active === true };
}

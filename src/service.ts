/**
 * Runs `promfleet ingress|worker|all` until SIGTERM or SIGINT. For `all` without a configured
 * server it first starts the embedded PostgreSQL, and stops it last: after the ingress and the
 * worker have drained (the worker commits what it holds), so a clean stop loses nothing.
 */
import { createApp, type App, type ServiceRole } from './app.js';
import type { Config } from './config/index.js';
import { EmbeddedServer, HOW_TO_CONFIGURE, type DatabaseChoice } from './embedded/index.js';
import { isPromfleetError } from './errors.js';
import type { Logger } from './observability/log.js';

export async function runService(role: ServiceRole, config: Config, log: Logger, database: DatabaseChoice): Promise<number> {
  const embedded = database.kind === 'embedded' ? new EmbeddedServer({ dir: database.dir, log: log.child({ component: 'embedded-pg' }) }) : undefined;
  let app: App | undefined;
  let signalled = false;
  let wake: () => void = () => undefined;
  const stopRequested = new Promise<void>((resolve) => { wake = resolve; });
  const onSignal = (sig: NodeJS.Signals): void => {
    if (signalled) {
      // Everything answered 2xx is already in the queue: a second signal may leave at once.
      log.warn({ signal: sig }, 'second signal; exiting now');
      embedded?.signalNow();
      process.exit(130);
    }
    signalled = true;
    log.info({ signal: sig, timeoutMs: config.shutdown.timeoutMs }, 'shutting down');
    wake();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  try {
    let effective = config;
    if (embedded) {
      const started = await embedded.start();
      log.info({ embedded: { host: '127.0.0.1', port: started.port, dataDir: started.dataDir, initialised: started.initialised } },
        `embedded PostgreSQL on 127.0.0.1:${started.port}, data in ${started.dataDir}; for production ${HOW_TO_CONFIGURE}`);
      effective = { ...config, storage: { ...config.storage, connectionString: started.connectionString } };
    }
    if (!signalled) {
      app = createApp(role, effective, log);
      await app.start();
      const running = app;
      process.on('SIGHUP', () => {
        log.info('SIGHUP: reloading the auth file and the TLS certificate');
        running.reload();
      });
      await stopRequested;
    }
    await app?.stop();
    await embedded?.stop();
    return 0;
  } catch (err) {
    await app?.stop().catch((e: unknown) => log.error({ err: e }, 'shutdown failed'));
    await embedded?.stop().catch((e: unknown) => log.error({ err: e }, 'embedded PostgreSQL did not stop'));
    if (!isPromfleetError(err)) {
      log.error({ err }, app ? 'shutdown failed' : 'start failed');
      return 1;
    }
    log.error({ err }, 'start failed');
    process.stderr.write(`promfleet: ${err.message}\n`);
    return 2;
  }
}

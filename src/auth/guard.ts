/**
 * The server's gate in front of every route when --web.auth-file or basic_auth_users of
 * --web.config.file is set: open paths pass, every other request must present a credential
 * with the route's scope, within the credential's request rate. With both, a request passes
 * when either accepts it (the auth file is asked first: one SHA-256, where bcrypt takes tens of
 * milliseconds on a cache miss). Failures are logged at debug with the reason and the
 * credential's name (never the header) and counted by reason; the client gets 401/403 without
 * detail.
 */
import type http from 'node:http';
import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';
import type { RateLimiter } from '../http/rate-limit.js';
import type { BcryptUsers } from './bcrypt-users.js';
import { AuthError, authenticate, setPrincipal, type Principal } from './check.js';
import type { Scope } from './file.js';
import type { CredentialStore } from './store.js';

export interface Guard {
  /** Rejects with UNAUTHORIZED, FORBIDDEN or RATE_LIMITED*; on success the request has its principal. */
  check(req: http.IncomingMessage, path: string, scope: Scope): Promise<void>;
}

export interface GuardOptions {
  /** --web.auth-file's credentials (scopes, groups). */
  readonly store?: CredentialStore;
  /** basic_auth_users of --web.config.file: a user may use every endpoint, for any group. */
  readonly users?: BcryptUsers;
  /** Paths served without credentials. */
  readonly openPaths: readonly string[];
  /** Per-credential request rate. */
  readonly limiter: RateLimiter;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly now?: () => number;
}

export function createGuard(opts: GuardOptions): Guard {
  const open = new Set(opts.openPaths);
  const now = opts.now ?? Date.now;

  /** The principal one of the sources accepts; undefined when no source is configured now. */
  async function identify(header: string | undefined, scope: Scope): Promise<Principal | undefined> {
    const users = opts.users?.active === true ? opts.users : undefined;
    if (!opts.store && !users) return undefined;
    let refused: AuthError | undefined;
    if (opts.store) {
      try {
        return authenticate(header, opts.store.credentials, scope, now());
      } catch (err) {
        if (!(err instanceof AuthError)) throw err;
        refused = err;
      }
    }
    if (!users) throw refused ?? new AuthError('missing');
    try {
      return await users.authenticate(header);
    } catch (err) {
      // The auth file's reason (expired, scope) says more than "no such user".
      throw refused ?? err;
    }
  }

  return {
    async check(req, path, scope) {
      if (open.has(path)) return;
      try {
        const principal = await identify(req.headers.authorization, scope);
        if (principal === undefined) return;
        setPrincipal(req, principal);
        try {
          opts.limiter.take(principal.name);
        } catch (err) {
          opts.metrics.rateLimited.inc({ limit: 'credential' });
          throw err;
        }
      } catch (err) {
        if (err instanceof AuthError) {
          opts.metrics.authFailures.inc({ reason: err.reason });
          opts.log.debug({ reason: err.reason, credential: err.credential, path, remote: req.socket.remoteAddress }, 'request refused by authentication');
        }
        throw err;
      }
    },
  };
}

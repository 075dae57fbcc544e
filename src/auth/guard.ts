/**
 * The server's gate in front of every route when --web.auth-file is set: open paths pass, every
 * other request must present a credential with the route's scope, within the credential's
 * request rate. Failures are logged at debug with the reason and the credential's name (never
 * the header) and counted by reason; the client gets 401/403 without detail.
 */
import type http from 'node:http';
import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';
import type { RateLimiter } from '../http/rate-limit.js';
import { AuthError, authenticate, setPrincipal } from './check.js';
import type { Scope } from './file.js';
import type { CredentialStore } from './store.js';

export interface Guard {
  /** Throws UNAUTHORIZED, FORBIDDEN or RATE_LIMITED*; on success the request has its principal. */
  check(req: http.IncomingMessage, path: string, scope: Scope): void;
}

export interface GuardOptions {
  readonly store: CredentialStore;
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
  return {
    check(req, path, scope) {
      if (open.has(path)) return;
      try {
        const principal = authenticate(req.headers.authorization, opts.store.credentials, scope, now());
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

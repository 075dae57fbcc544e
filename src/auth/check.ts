/**
 * Checking a request's Authorization header against the credentials, in constant time with
 * respect to the secrets: the presented secret is hashed once and compared with every
 * credential of its kind (no early exit), so neither the position of a match nor the length of
 * a common prefix shows in the response time. One SHA-256 per request, nothing per sample.
 */
import type http from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { PromfleetError } from '../errors.js';
import { sha256, type Credential, type Scope } from './file.js';

/** Who sent a request. */
export interface Principal {
  readonly name: string;
  readonly groups: ReadonlySet<string> | undefined;
}

/** Why a request was refused; logged and counted, never sent to the client. */
export type AuthFailure = 'missing' | 'malformed' | 'unknown' | 'expired' | 'scope';

export class AuthError extends PromfleetError {
  constructor(readonly reason: AuthFailure, readonly credential?: string) {
    // One message for every reason: the client learns nothing about which part was wrong.
    super(reason === 'scope' ? 'FORBIDDEN' : 'UNAUTHORIZED', reason === 'scope' ? 'this credential may not use this endpoint' : 'valid credentials are required');
  }
}

const principals = new WeakMap<http.IncomingMessage, Principal>();

/** The principal the server authenticated for this request; undefined without --web.auth-file. */
export function principalOf(req: http.IncomingMessage): Principal | undefined {
  return principals.get(req);
}

export function setPrincipal(req: http.IncomingMessage, p: Principal): void {
  principals.set(req, p);
}

interface Presented {
  kind: 'bearer' | 'basic';
  secret: Buffer;
  user: Buffer;
}

/** What an Authorization header carries, in the clear. */
export type Presentation = { readonly kind: 'bearer'; readonly token: string } | { readonly kind: 'basic'; readonly user: string; readonly password: string };

/** Splits an Authorization header. @throws AuthError missing or malformed. */
export function readAuthorization(header: string | undefined): Presentation {
  if (header === undefined || header === '') throw new AuthError('missing');
  const space = header.indexOf(' ');
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (space < 0 || value === '') throw new AuthError('malformed');
  if (scheme === 'bearer') return { kind: 'bearer', token: value };
  if (scheme !== 'basic') throw new AuthError('malformed');
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw new AuthError('malformed');
  return { kind: 'basic', user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function present(header: string | undefined): Presented {
  const p = readAuthorization(header);
  if (p.kind === 'bearer') return { kind: 'bearer', secret: sha256(p.token), user: Buffer.alloc(0) };
  return { kind: 'basic', secret: sha256(p.password), user: sha256(p.user) };
}

/**
 * Finds the credential the header presents and checks it may use `scope` now.
 *
 * @throws AuthError UNAUTHORIZED (missing, malformed, unknown, expired) or FORBIDDEN (scope).
 */
export function authenticate(header: string | undefined, credentials: readonly Credential[], scope: Scope, nowMs: number): Principal {
  const p = present(header);
  let found: Credential | undefined;
  for (const c of credentials) {
    if (c.kind !== p.kind) continue;
    // Both comparisons always run: `&&` would skip the second when the first fails.
    const secretOk = timingSafeEqual(c.secretDigest, p.secret);
    const userOk = c.kind === 'bearer' || timingSafeEqual(c.userDigest, p.user);
    if (secretOk && userOk && found === undefined) found = c;
  }
  if (!found) throw new AuthError('unknown');
  if (found.notAfterMs !== undefined && nowMs > found.notAfterMs) throw new AuthError('expired', found.name);
  if (!found.scopes.has(scope)) throw new AuthError('scope', found.name);
  return { name: found.name, groups: found.groups };
}

/** A credential bound to groups may send only data of those groups (and nothing without a group). */
export function authorizeGroup(p: Principal | undefined, group: string | undefined): void {
  if (p === undefined || p.groups === undefined) return;
  if (group === undefined || !p.groups.has(group)) {
    throw new PromfleetError('FORBIDDEN', group === undefined
      ? `credential ${JSON.stringify(p.name)} is bound to HA groups and may not send series without one`
      : `credential ${JSON.stringify(p.name)} may not write to HA group ${JSON.stringify(group)}`);
  }
}

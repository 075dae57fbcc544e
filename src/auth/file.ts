/**
 * The --web.auth-file format: JSON, one object per credential. Secrets are turned into SHA-256
 * digests as soon as they are read and never appear in an error message: a parse error names
 * the credential (by index or name) and the field, not the value.
 *
 * {
 *   "credentials": [
 *     { "name": "team-a", "bearer_token": "…", "groups": ["team-a"], "not_after": "2026-06-30T00:00:00Z" },
 *     { "name": "team-a-next", "bearer_token_sha256": "<hex of sha256(token)>", "groups": ["team-a"] },
 *     { "name": "grafana", "basic_auth": { "username": "grafana", "password": "…" }, "scopes": ["read"] }
 *   ]
 * }
 */
import { createHash } from 'node:crypto';

/** What a credential may do: remote write, remote read, /admin/*, and closed probe paths. */
export const SCOPES = ['write', 'read', 'admin', 'metrics'] as const;
export type Scope = (typeof SCOPES)[number];
const DEFAULT_SCOPES: readonly Scope[] = ['write', 'read'];

export interface Credential {
  /** Shown in logs; never a secret. */
  readonly name: string;
  readonly kind: 'bearer' | 'basic';
  /** sha256(token) for bearer, sha256(password) for basic. */
  readonly secretDigest: Buffer;
  /** sha256(username) for basic; empty for bearer. */
  readonly userDigest: Buffer;
  readonly scopes: ReadonlySet<Scope>;
  /** HA groups this credential may write to (and read); undefined: any group, and data without one. */
  readonly groups: ReadonlySet<string> | undefined;
  /** Milliseconds since the epoch after which the credential is refused; undefined: never expires. */
  readonly notAfterMs: number | undefined;
}

export function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject(v: Json | undefined): v is { [key: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class FileError extends Error {}

function str(v: Json | undefined, where: string): string {
  if (typeof v !== 'string' || v === '') throw new FileError(`${where} must be a non-empty string`);
  return v;
}

function hexDigest(v: Json | undefined, where: string): Buffer {
  const s = str(v, where);
  if (!/^[0-9a-fA-F]{64}$/.test(s)) throw new FileError(`${where} must be 64 hex digits (a SHA-256)`);
  return Buffer.from(s, 'hex');
}

function only(o: { [key: string]: Json }, keys: readonly string[], where: string): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) throw new FileError(`${where} has unknown field ${JSON.stringify(k)}`);
}

function secretOf(o: { [key: string]: Json }, where: string): Pick<Credential, 'kind' | 'secretDigest' | 'userDigest'> {
  const kinds = ['bearer_token', 'bearer_token_sha256', 'basic_auth'].filter((k) => o[k] !== undefined);
  if (kinds.length !== 1) throw new FileError(`${where} needs exactly one of bearer_token, bearer_token_sha256, basic_auth`);
  if (o.bearer_token !== undefined) return { kind: 'bearer', secretDigest: sha256(str(o.bearer_token, `${where}.bearer_token`)), userDigest: Buffer.alloc(0) };
  if (o.bearer_token_sha256 !== undefined) return { kind: 'bearer', secretDigest: hexDigest(o.bearer_token_sha256, `${where}.bearer_token_sha256`), userDigest: Buffer.alloc(0) };
  const b = o.basic_auth;
  if (!isObject(b)) throw new FileError(`${where}.basic_auth must be an object`);
  only(b, ['username', 'password', 'password_sha256'], `${where}.basic_auth`);
  const username = str(b.username, `${where}.basic_auth.username`);
  if (username.includes(':')) throw new FileError(`${where}.basic_auth.username must not contain ":"`);
  if ((b.password === undefined) === (b.password_sha256 === undefined)) throw new FileError(`${where}.basic_auth needs exactly one of password, password_sha256`);
  const secretDigest = b.password !== undefined ? sha256(str(b.password, `${where}.basic_auth.password`)) : hexDigest(b.password_sha256, `${where}.basic_auth.password_sha256`);
  return { kind: 'basic', secretDigest, userDigest: sha256(username) };
}

function credentialOf(o: Json, index: number, names: Set<string>): Credential {
  let where = `credentials[${index}]`;
  if (!isObject(o)) throw new FileError(`${where} must be an object`);
  const name = str(o.name, `${where}.name`);
  where = `credential ${JSON.stringify(name)}`;
  if (names.has(name)) throw new FileError(`${where} appears twice`);
  names.add(name);
  only(o, ['name', 'bearer_token', 'bearer_token_sha256', 'basic_auth', 'scopes', 'groups', 'not_after'], where);
  const secret = secretOf(o, where);
  let scopes = DEFAULT_SCOPES;
  if (o.scopes !== undefined) {
    if (!Array.isArray(o.scopes) || o.scopes.some((s) => typeof s !== 'string' || !(SCOPES as readonly string[]).includes(s))) {
      throw new FileError(`${where}.scopes must be a list of ${SCOPES.join(', ')}`);
    }
    scopes = o.scopes as Scope[];
  }
  let groups: Set<string> | undefined;
  if (o.groups !== undefined) {
    if (!Array.isArray(o.groups) || o.groups.length === 0 || o.groups.some((g) => typeof g !== 'string' || g === '')) {
      throw new FileError(`${where}.groups must be a non-empty list of group names`);
    }
    groups = new Set(o.groups as string[]);
  }
  let notAfterMs: number | undefined;
  if (o.not_after !== undefined) {
    notAfterMs = Date.parse(str(o.not_after, `${where}.not_after`));
    if (Number.isNaN(notAfterMs)) throw new FileError(`${where}.not_after must be an RFC 3339 time such as 2026-06-30T00:00:00Z`);
  }
  return { name, ...secret, scopes: new Set(scopes), groups, notAfterMs };
}

/**
 * Parses the file's text. Throws an Error whose message never quotes the file's content
 * (JSON.parse's own messages do, and the content holds secrets).
 */
export function parseAuthFile(text: string): Credential[] {
  let doc: Json;
  try {
    doc = JSON.parse(text) as Json;
  } catch (err) {
    const at = /position (\d+)/.exec(String(err))?.[1];
    const line = at === undefined ? undefined : text.slice(0, Number(at)).split('\n').length;
    throw new Error(`not valid JSON${line === undefined ? '' : ` (line ${line})`}`);
  }
  try {
    if (!isObject(doc) || !Array.isArray(doc.credentials)) throw new FileError('expected an object with a "credentials" list');
    only(doc, ['credentials'], 'the file');
    const names = new Set<string>();
    return doc.credentials.map((c, i) => credentialOf(c, i, names));
  } catch (err) {
    if (err instanceof FileError) throw new Error(err.message);
    throw err;
  }
}

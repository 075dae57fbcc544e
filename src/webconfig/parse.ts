/**
 * The web configuration file Prometheus and its exporters read (--web.config.file, the exporter
 * toolkit's YAML format): tls_server_config, basic_auth_users (bcrypt hashes) and
 * http_server_config. What promfleet cannot honour is refused by name, never ignored.
 *
 *   tls_server_config:
 *     cert_file: server.crt
 *     key_file: server.key
 *   basic_auth_users:
 *     alice: $2y$10$…
 */
import path from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { parseTlsServerConfig, type TlsServerConfig } from './tls-config.js';
import { WebConfigError, isMap, only, type Node } from './yaml-node.js';

export interface WebConfig {
  /** Undefined: plain HTTP (no tls_server_config, or one without cert_file and key_file). */
  readonly tls: TlsServerConfig | undefined;
  /** user → bcrypt hash; empty: no basic auth from this file. */
  readonly basicAuthUsers: ReadonlyMap<string, string>;
  /** Set on every response. */
  readonly headers: Readonly<Record<string, string>>;
}

/** A bcrypt hash as htpasswd -B, Python's bcrypt and bcryptjs write it ($2a$, $2b$ or $2y$, cost 04–31). */
const BCRYPT = /^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/;

/** The security headers the exporter toolkit lets a web config set, with the values it allows. */
const HEADERS: Readonly<Record<string, RegExp | undefined>> = {
  'Content-Security-Policy': undefined,
  'X-Frame-Options': /^(deny|sameorigin)$/i,
  'X-Content-Type-Options': /^nosniff$/i,
  'X-XSS-Protection': undefined,
  'Strict-Transport-Security': undefined,
};

function parseUsers(v: Node | undefined): Map<string, string> {
  const users = new Map<string, string>();
  if (v === undefined || v === null) return users;
  if (!isMap(v)) throw new WebConfigError('basic_auth_users must be a map of user name to bcrypt hash');
  for (const [user, hash] of Object.entries(v)) {
    if (user === '' || user.includes(':')) throw new WebConfigError(`basic_auth_users: user name ${JSON.stringify(user)} must be non-empty and hold no ":"`);
    if (typeof hash !== 'string' || !BCRYPT.test(hash)) {
      throw new WebConfigError(`basic_auth_users.${user} must be a bcrypt hash ($2y$10$ followed by 53 characters, as htpasswd -nB writes)`);
    }
    users.set(user, hash);
  }
  return users;
}

function parseHttpServerConfig(v: Node | undefined): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isMap(v)) throw new WebConfigError('http_server_config must be a map');
  only(v, ['headers', 'http2'], 'http_server_config');
  if (v.http2 !== undefined && v.http2 !== false) {
    throw new WebConfigError('http_server_config.http2: promfleet serves HTTP/1.1 only; remove the key or set it to false');
  }
  const headers: Record<string, string> = {};
  const h = v.headers;
  if (h === undefined || h === null) return headers;
  if (!isMap(h)) throw new WebConfigError('http_server_config.headers must be a map of header name to value');
  for (const [name, value] of Object.entries(h)) {
    if (!Object.hasOwn(HEADERS, name)) {
      throw new WebConfigError(`http_server_config.headers: header ${JSON.stringify(name)} may not be set (allowed: ${Object.keys(HEADERS).join(', ')})`);
    }
    const allowed = HEADERS[name];
    if (typeof value !== 'string' || /[\r\n]/.test(value) || (allowed !== undefined && !allowed.test(value))) {
      throw new WebConfigError(`http_server_config.headers.${name} has a value that is not allowed`);
    }
    headers[name] = value;
  }
  return headers;
}

/**
 * Parses the file's text; relative file names in it are taken from `dir` (the file's own
 * directory, as Prometheus does).
 * @throws WebConfigError naming the key and the problem (never quoting a hash).
 */
export function parseWebConfig(text: string, dir: string): WebConfig {
  let doc: Node;
  try {
    doc = parseYaml(text, { uniqueKeys: true }) as Node;
  } catch (err) {
    if (!(err instanceof YAMLParseError)) throw err;
    const line = err.linePos?.[0].line;
    throw new WebConfigError(`not valid YAML (${err.code}${line === undefined ? '' : ` at line ${line}`})`);
  }
  if (doc === undefined || doc === null) return { tls: undefined, basicAuthUsers: new Map(), headers: {} };
  if (!isMap(doc)) throw new WebConfigError('expected a map with tls_server_config, http_server_config or basic_auth_users');
  only(doc, ['tls_server_config', 'http_server_config', 'basic_auth_users'], 'the file');
  return {
    tls: parseTlsServerConfig(doc.tls_server_config, (f) => path.resolve(dir, f)),
    basicAuthUsers: parseUsers(doc.basic_auth_users),
    headers: parseHttpServerConfig(doc.http_server_config),
  };
}

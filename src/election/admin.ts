import type http from 'node:http';
import { timingSafeEqual, createHash } from 'node:crypto';
import { PromfleetError } from '../errors.js';
import { sendText, type HttpServer } from '../http/server.js';
import type { Logger } from '../observability/log.js';
import type { Elector } from './elector.js';

export interface ElectionAdminOptions {
  readonly server: HttpServer;
  /** GET reads whether it leads; PUT sets it when it is the REST elector. */
  readonly elector: Elector;
  readonly token: string | undefined;
  /** Host of --web.listen-address. */
  readonly listenHost: string;
  /** Whether --web.auth-file is set (the server then checks the admin scope on this path). */
  readonly authFile: boolean;
  readonly log: Logger;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

/**
 * Whether PUT may change leadership: a bearer token or an auth file (or basic_auth_users) guards it, or only this
 * host can reach the listener.
 */
export function electionAdminGuarded(opts: { readonly listenHost: string; readonly token: string | undefined; readonly authFile: boolean }): boolean {
  return opts.token !== undefined || opts.authFile || LOOPBACK_HOSTS.has(opts.listenHost.toLowerCase());
}

const UNGUARDED = 'PUT /admin/election/leader is refused on a listener other hosts can reach: set --leader-election.rest-token '
  + 'or --web.auth-file (or basic_auth_users in --web.config.file), or listen on a loopback --web.listen-address (127.0.0.1, [::1] or localhost)';

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** Constant-time check of "Authorization: Bearer <token>" when a token is configured. */
function authorize(req: http.IncomingMessage, token: string | undefined): void {
  if (token === undefined) return;
  const header = req.headers.authorization ?? '';
  const given = header.startsWith('Bearer ') ? header.slice(7) : '';
  if (!timingSafeEqual(digest(given), digest(token))) throw new PromfleetError('UNAUTHORIZED', 'a valid bearer token is required');
}

function readSmallBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > 64) {
        req.destroy();
        reject(new PromfleetError('BAD_REQUEST', 'body must be 1 or 0'));
      }
    });
    req.once('end', () => resolve(body));
    req.once('error', reject);
  });
}

/**
 * GET /admin/election/leader → "true" | "false"; PUT with body 1 / 0 → become leader / resign
 * (REST elector only), as the original adapter's external-election endpoint. GET stays open
 * (behind the token or auth file when set; /metrics tells as much); PUT needs a guard or a
 * loopback listener.
 */
export function registerElectionAdmin(opts: ElectionAdminOptions): void {
  const path = '/admin/election/leader';
  const guarded = electionAdminGuarded(opts);
  const rest = opts.elector.kind === 'rest';
  if (rest && !guarded) opts.log.warn({ listenHost: opts.listenHost }, UNGUARDED);
  opts.server.route('GET', path, async (req, res) => {
    authorize(req, opts.token);
    sendText(res, 200, (await opts.elector.isLeading()) ? 'true' : 'false');
  });
  opts.server.route('PUT', path, async (req, res) => {
    authorize(req, opts.token);
    if (!guarded) throw new PromfleetError('ELECTION_ADMIN_UNGUARDED', UNGUARDED);
    if (!rest) throw new PromfleetError('ELECTION_NOT_REST', 'this process elects by advisory lock; start it with --leader-election.rest');
    const body = (await readSmallBody(req)).trim();
    if (body !== '1' && body !== '0') throw new PromfleetError('BAD_REQUEST', `body must be 1 or 0, got ${JSON.stringify(body.slice(0, 16))}`);
    await opts.elector.set(body === '1');
    sendText(res, 200, (await opts.elector.isLeading()) ? 'true' : 'false');
  });
}

/**
 * basic_auth_users checked with bcrypt, and the guard in front of the routes with both
 * credential sources: bcrypt runs once per distinct (user, hash, password), concurrent first
 * requests share that run, the cache stays within its bound, and a request passes when either
 * --web.auth-file or basic_auth_users accepts it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type http from 'node:http';
import bcrypt from 'bcryptjs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BcryptUsers, CredentialStore, createGuard, principalOf } from '../../src/auth/index.js';
import { RateLimiter } from '../../src/http/rate-limit.js';
import { Metrics } from '../../src/observability/metrics.js';
import { PromfleetError } from '../../src/errors.js';

const silent = pino({ level: 'silent' });
let hash = '';
const dir = mkdtempSync(path.join(os.tmpdir(), 'promfleet-bcrypt-'));

beforeAll(() => {
  // Cost 4 keeps the test quick; the cost does not change what is cached.
  hash = bcrypt.hashSync('right', 4);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('basic_auth_users', () => {
  it('accepts the right password only, and runs bcrypt once per distinct credential', async () => {
    const users = new BcryptUsers({ users: () => new Map([['alice', hash]]) });
    expect(await users.verify('alice', 'right')).toBe(true);
    expect(await users.verify('alice', 'right')).toBe(true);
    expect(users.bcryptRuns).toBe(1);
    expect(await users.verify('alice', 'wrong')).toBe(false);
    expect(await users.verify('alice', 'wrong')).toBe(false);
    expect(users.bcryptRuns).toBe(2);
    expect(await users.verify('mallory', 'right')).toBe(false);
    expect(users.bcryptRuns).toBe(3);
  });

  it('shares one bcrypt run between concurrent first requests', async () => {
    const users = new BcryptUsers({ users: () => new Map([['alice', hash]]) });
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => users.verify('alice', 'right')));
    expect(outcomes.every((ok) => ok)).toBe(true);
    expect(users.bcryptRuns).toBe(1);
  });

  it('keeps at most maxEntries outcomes, dropping the least recently used', async () => {
    const users = new BcryptUsers({ users: () => new Map([['alice', hash]]), maxEntries: 2 });
    await users.verify('alice', 'a');
    await users.verify('alice', 'b');
    await users.verify('alice', 'a');
    await users.verify('alice', 'c');
    expect(users.cached).toBe(2);
    expect(users.bcryptRuns).toBe(3);
    await users.verify('alice', 'a');
    expect(users.bcryptRuns).toBe(3);
    await users.verify('alice', 'b');
    expect(users.bcryptRuns).toBe(4);
  });

  it('checks a new hash after a reload instead of answering from the cache', async () => {
    let current = new Map([['alice', hash]]);
    const users = new BcryptUsers({ users: () => current });
    expect(await users.verify('alice', 'right')).toBe(true);
    current = new Map([['alice', bcrypt.hashSync('next', 4)]]);
    expect(await users.verify('alice', 'right')).toBe(false);
    expect(await users.verify('alice', 'next')).toBe(true);
    expect(users.bcryptRuns).toBe(3);
  });
});

describe('guard with --web.auth-file and basic_auth_users', () => {
  function guard(users: ReadonlyMap<string, string>, withFile: boolean) {
    const file = path.join(dir, 'auth.json');
    writeFileSync(file, JSON.stringify({ credentials: [{ name: 'reader', bearer_token: 'read-token', scopes: ['read'] }] }));
    const metrics = new Metrics();
    return {
      metrics,
      guard: createGuard({
        store: withFile ? new CredentialStore({ path: file, log: silent }) : undefined,
        users: new BcryptUsers({ users: () => users }),
        openPaths: ['/healthz'],
        limiter: new RateLimiter({ perSecond: 0, status: 503, what: 'credential', flag: '--web.rate-limit.credential' }),
        log: silent,
        metrics,
      }),
    };
  }
  const request = (authorization?: string): http.IncomingMessage => ({ headers: { authorization }, socket: { remoteAddress: '127.0.0.1' } }) as unknown as http.IncomingMessage;
  const status = async (p: Promise<void>): Promise<number> => p.then(() => 200, (err: unknown) => (err as PromfleetError).status);

  it('lets a request through when either source accepts it', async () => {
    const { guard: g } = guard(new Map([['alice', hash]]), true);
    const viaUsers = request(basic('alice', 'right'));
    expect(await status(g.check(viaUsers, '/write', 'write'))).toBe(200);
    expect(principalOf(viaUsers)).toEqual({ name: 'basic_auth_users/alice', groups: undefined });
    expect(await status(g.check(request('Bearer read-token'), '/read', 'read'))).toBe(200);
    // The file's credential may not write, but a basic_auth_users user may do everything.
    expect(await status(g.check(request('Bearer read-token'), '/write', 'write'))).toBe(403);
    expect(await status(g.check(request(basic('alice', 'right')), '/admin/election/leader', 'admin'))).toBe(200);
    expect(await status(g.check(request(basic('alice', 'wrong')), '/write', 'write'))).toBe(401);
    expect(await status(g.check(request(), '/write', 'write'))).toBe(401);
    expect(await status(g.check(request(), '/healthz', 'metrics'))).toBe(200);
  });

  it('guards every route but the open paths with basic_auth_users alone, and nothing when there are no users', async () => {
    const { guard: g, metrics } = guard(new Map([['alice', hash]]), false);
    expect(await status(g.check(request(basic('alice', 'wrong')), '/write', 'write'))).toBe(401);
    expect(await status(g.check(request('Bearer read-token'), '/read', 'read'))).toBe(401);
    expect(await status(g.check(request(basic('alice', 'right')), '/metrics', 'metrics'))).toBe(200);
    expect(await metrics.registry.getSingleMetricAsString('promfleet_auth_failures_total')).toMatch(/reason="unknown"\} 2/);
    const { guard: open } = guard(new Map(), false);
    expect(await status(open.check(request(), '/write', 'write'))).toBe(200);
  });
});

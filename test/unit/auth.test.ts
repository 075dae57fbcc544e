/**
 * The auth file, the credential check and the rate limiter, without a server: every refusal
 * reason, group binding, expiry, and parse errors that never quote a secret.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PromfleetError } from '../../src/errors.js';
import { parseAuthFile } from '../../src/auth/file.js';
import { AuthError, authenticate, authorizeGroup } from '../../src/auth/check.js';
import { RateLimiter } from '../../src/http/rate-limit.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const FILE = JSON.stringify({
  credentials: [
    { name: 'team-a', bearer_token: 'tok-a-secret', groups: ['a'] },
    { name: 'team-a-old', bearer_token: 'tok-a-old-secret', groups: ['a'], not_after: '2026-05-01T00:00:00Z' },
    { name: 'hashed', bearer_token_sha256: createHash('sha256').update('tok-hashed').digest('hex') },
    { name: 'grafana', basic_auth: { username: 'graf', password: 'pw-secret' }, scopes: ['read'] },
    { name: 'ops', bearer_token: 'tok-ops', scopes: ['admin', 'metrics'] },
  ],
});
const creds = parseAuthFile(FILE);
const basic = (u: string, p: string): string => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof AuthError) return `${err.status} ${err.reason}`;
    if (err instanceof PromfleetError) return `${err.status} ${err.code}`;
    throw err;
  }
  return 'ok';
}

describe('authenticate', () => {
  it('accepts bearer tokens (plain and hashed in the file) and basic auth, with their scopes', () => {
    expect(authenticate('Bearer tok-a-secret', creds, 'write', NOW).name).toBe('team-a');
    expect(authenticate('bearer tok-hashed', creds, 'read', NOW).name).toBe('hashed');
    expect(authenticate(basic('graf', 'pw-secret'), creds, 'read', NOW).name).toBe('grafana');
    expect(authenticate('Bearer tok-ops', creds, 'admin', NOW).name).toBe('ops');
  });

  it('refuses missing, malformed, wrong and expired credentials with 401, a missing scope with 403', () => {
    expect(reason(() => authenticate(undefined, creds, 'write', NOW))).toBe('401 missing');
    expect(reason(() => authenticate('Bearer', creds, 'write', NOW))).toBe('401 malformed');
    expect(reason(() => authenticate('Token tok-a-secret', creds, 'write', NOW))).toBe('401 malformed');
    expect(reason(() => authenticate('Bearer tok-a-secreT', creds, 'write', NOW))).toBe('401 unknown');
    expect(reason(() => authenticate(basic('graf', 'wrong'), creds, 'read', NOW))).toBe('401 unknown');
    expect(reason(() => authenticate(basic('other', 'pw-secret'), creds, 'read', NOW))).toBe('401 unknown');
    expect(reason(() => authenticate('Basic !!!', creds, 'read', NOW))).toBe('401 malformed');
    expect(reason(() => authenticate('Bearer tok-a-old-secret', creds, 'write', NOW))).toBe('401 expired');
    expect(authenticate('Bearer tok-a-old-secret', creds, 'write', Date.parse('2026-04-30T00:00:00Z')).name).toBe('team-a-old');
    expect(reason(() => authenticate(basic('graf', 'pw-secret'), creds, 'write', NOW))).toBe('403 scope');
    expect(reason(() => authenticate('Bearer tok-a-secret', creds, 'admin', NOW))).toBe('403 scope');
  });

  it('says the same thing to the client whatever was wrong', () => {
    const messages = new Set<string>();
    for (const h of [undefined, 'Bearer x', 'Bearer tok-a-old-secret', 'Basic !!!']) {
      try {
        authenticate(h, creds, 'write', NOW);
      } catch (err) {
        messages.add((err as Error).message);
      }
    }
    expect([...messages]).toEqual(['valid credentials are required']);
  });
});

describe('group binding', () => {
  it('lets a bound credential write only to its groups, and an unbound one anywhere', () => {
    const a = authenticate('Bearer tok-a-secret', creds, 'write', NOW);
    expect(reason(() => authorizeGroup(a, 'a'))).toBe('ok');
    expect(reason(() => authorizeGroup(a, 'b'))).toBe('403 FORBIDDEN');
    expect(reason(() => authorizeGroup(a, undefined))).toBe('403 FORBIDDEN');
    const free = authenticate('Bearer tok-hashed', creds, 'write', NOW);
    expect(reason(() => authorizeGroup(free, 'b'))).toBe('ok');
    expect(reason(() => authorizeGroup(undefined, 'b'))).toBe('ok');
  });
});

describe('parseAuthFile', () => {
  const bad: [unknown, RegExp][] = [
    ['{"credentials": [ {"name": "x", "bearer_token": "hunter2-secret" ', /not valid JSON/],
    [{ credentials: [{ name: 'x', bearer_token: 'hunter2-secret', group: ['a'] }] }, /unknown field "group"/],
    [{ credentials: [{ name: 'x', bearer_token: 'hunter2-secret', basic_auth: { username: 'u', password: 'hunter2-secret' } }] }, /exactly one/],
    [{ credentials: [{ name: 'x', bearer_token: 'hunter2-secret', not_after: 'soon hunter2-secret' }] }, /not_after/],
    [{ credentials: [{ name: 'x', bearer_token_sha256: 'hunter2-secret' }] }, /64 hex digits/],
    [{ credentials: [{ name: 'x', bearer_token: 'hunter2-secret', scopes: ['everything'] }] }, /scopes/],
    [{ credentials: [{ name: 'x', bearer_token: 'a' }, { name: 'x', bearer_token: 'hunter2-secret' }] }, /twice/],
    [{ credentials: [{ name: 'x', basic_auth: { username: 'u:v', password: 'hunter2-secret' } }] }, /":"/],
  ];
  for (const [doc, why] of bad) {
    it(`refuses ${why.source} without quoting the secret`, () => {
      const text = typeof doc === 'string' ? doc : JSON.stringify(doc);
      let message = '';
      try {
        parseAuthFile(text);
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toMatch(why);
      expect(message).not.toContain('hunter2');
    });
  }
});

describe('RateLimiter', () => {
  it('allows one second of requests, refills continuously, and says when to retry', () => {
    let now = 0;
    const rl = new RateLimiter({ perSecond: 2, status: 503, what: 'credential', flag: '--web.rate-limit.credential', now: () => now });
    rl.take('a');
    rl.take('a');
    let err: PromfleetError | undefined;
    try {
      rl.take('a');
    } catch (e) {
      err = e as PromfleetError;
    }
    expect(err?.code).toBe('RATE_LIMITED');
    expect(err?.status).toBe(503);
    expect(err?.retryAfterSeconds).toBe(1);
    rl.take('b');
    now = 500;
    rl.take('a');
    expect(() => rl.take('a')).toThrow(PromfleetError);
  });

  it('answers 429 when asked to, and keeps its map bounded against made-up keys', () => {
    const now = 0;
    const rl = new RateLimiter({ perSecond: 1, status: 429, what: 'HA group', flag: '--web.rate-limit.group', maxKeys: 10, now: () => now });
    rl.take('g');
    expect(() => rl.take('g')).toThrow(expect.objectContaining({ status: 429, code: 'RATE_LIMITED_429' }));
    for (let i = 0; i < 9; i++) rl.take(`k${i}`);
    // The map is full of empty buckets: new keys share the overflow bucket.
    rl.take('new-1');
    expect(() => rl.take('new-2')).toThrow(PromfleetError);
  });
});

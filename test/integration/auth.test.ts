/**
 * Authentication on a running `promfleet all`: wrong, missing and expired credentials get 401;
 * a credential bound to group A cannot write to group B and reads only group A; scopes guard
 * /read and /admin/*; /metrics and the probes stay open; rotation by editing the file works
 * without a restart; and no secret ever appears in a log line or in /metrics (the logs are
 * captured at trace level and grepped).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeReadResponse, encodeReadRequest, encodeWriteRequest, snappyCompress, snappyDecompress, type Label,
} from '../../src/protocol/index.js';
import { deleteRedisPrefix, startApp, type TestApp } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/services.js';
import { waitFor } from '../helpers/ports.js';

const SECRETS = {
  a: 'tok-A-7f3a9c1e-bound-to-group-a',
  any: 'tok-ANY-91b2c3d4-unbound',
  expired: 'tok-EXPIRED-0a1b2c3d',
  ops: 'tok-OPS-55aa66bb',
  next: 'tok-NEXT-rotated-in-1234',
  wrong: 'tok-WRONG-deadbeef-attempt',
  readerPassword: 'pw-READER-c0ffee',
  wrongPassword: 'pw-WRONG-bad-guess',
};
const HEADERS = { 'Content-Encoding': 'snappy', 'Content-Type': 'application/x-protobuf', 'X-Prometheus-Remote-Write-Version': '0.1.0' };
const basic = (u: string, p: string): string => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

const dir = mkdtempSync(path.join(os.tmpdir(), 'promfleet-auth-'));
const authFile = path.join(dir, 'auth.json');
const logLines: string[] = [];
let db: TestDatabase;
let t: TestApp;
let passed = 0;

function writeAuthFile(extra: object[] = [], withoutA = false): void {
  const credentials = [
    ...(withoutA ? [] : [{ name: 'team-a', bearer_token: SECRETS.a, groups: ['a'] }]),
    { name: 'any', bearer_token: SECRETS.any },
    { name: 'old', bearer_token: SECRETS.expired, not_after: '2020-01-01T00:00:00Z' },
    { name: 'ops', bearer_token: SECRETS.ops, scopes: ['admin'] },
    { name: 'reader', basic_auth: { username: 'reader', password: SECRETS.readerPassword }, scopes: ['read'] },
    ...extra,
  ];
  writeFileSync(authFile, JSON.stringify({ credentials }, null, 2));
}

function body(group: string | undefined, name = 'up', ts = Date.now()): Buffer {
  const labels: Label[] = [{ name: '__name__', value: name }];
  if (group !== undefined) labels.push({ name: 'cluster', value: group });
  labels.push({ name: 'job', value: 'auth-test' });
  return Buffer.from(snappyCompress(encodeWriteRequest({ timeseries: [{ labels, samples: [{ value: 1, timestamp: ts }], exemplars: [], histograms: [] }], metadata: [] })));
}

async function write(authorization: string | undefined, group: string | undefined, name?: string): Promise<{ status: number; text: string; headers: Headers }> {
  const headers: Record<string, string> = { ...HEADERS };
  if (authorization !== undefined) headers.Authorization = authorization;
  const res = await fetch(`${t.url}/write`, { method: 'POST', headers, body: new Uint8Array(body(group, name)) });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

beforeAll(async () => {
  writeAuthFile();
  db = await createTestDatabase('auth');
  const sink = new Writable({ write(chunk: Buffer, _enc, done) { logLines.push(...chunk.toString().split('\n').filter(Boolean)); done(); } });
  t = await startApp('all', { pgUrl: db.url, log: pino({ level: 'trace' }, sink), args: [`--web.auth-file=${authFile}`] });
}, 60_000);
afterAll(async () => {
  await t?.stop();
  await deleteRedisPrefix(t.prefix);
  rmSync(dir, { recursive: true, force: true });
  if (passed === 6) await db.drop();
});

describe('authentication', () => {
  it('refuses missing, wrong, expired and malformed credentials with 401 and no detail', async () => {
    const bodies = new Set<string>();
    for (const h of [undefined, `Bearer ${SECRETS.wrong}`, `Bearer ${SECRETS.expired}`, basic('reader', SECRETS.wrongPassword), 'Digest abc', `Bearer ${SECRETS.a} `.repeat(2)]) {
      const res = await write(h, 'a');
      expect(res.status, String(h)).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/Bearer/);
      bodies.add(res.text);
    }
    expect([...bodies]).toEqual(['UNAUTHORIZED: valid credentials are required\n']);
    expect((await write(`Bearer ${SECRETS.a}`, 'a')).status).toBe(204);
    expect((await write(`Bearer ${SECRETS.any}`, 'b')).status).toBe(204);
    passed++;
  });

  it('keeps a credential bound to group a out of group b and out of data without a group', async () => {
    const b = await write(`Bearer ${SECRETS.a}`, 'b');
    expect(b.status).toBe(403);
    expect(b.text).toMatch(/^FORBIDDEN: .*group "b"/);
    expect((await write(`Bearer ${SECRETS.a}`, undefined)).status).toBe(403);
    passed++;
  });

  it('lets a bound credential read only its groups, and checks scopes on /read and /admin', async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await waitFor('both groups written', async () => Number((await client.query("SELECT count(DISTINCT labels->>'cluster') AS n FROM prom.series WHERE metric = 'up'")).rows[0].n) === 2, 30_000, 200);
    } finally {
      await client.end();
    }
    const read = async (authorization: string): Promise<{ status: number; groups: string[] }> => {
      const q = { startTimestampMs: Date.now() - 3_600_000, endTimestampMs: Date.now() + 60_000, matchers: [{ type: 'EQ' as const, name: '__name__', value: 'up' }] };
      const res = await fetch(`${t.url}/read`, {
        method: 'POST', headers: { ...HEADERS, Authorization: authorization },
        body: Buffer.from(snappyCompress(encodeReadRequest({ queries: [q], acceptedResponseTypes: ['SAMPLES'] }))),
      });
      if (res.status !== 200) return { status: res.status, groups: [] };
      const [result] = decodeReadResponse(snappyDecompress(new Uint8Array(await res.arrayBuffer()), 1 << 20));
      return { status: 200, groups: result.timeseries.map((ts) => ts.labels.find((l) => l.name === 'cluster')?.value ?? '').sort() };
    };
    expect(await read(`Bearer ${SECRETS.any}`)).toEqual({ status: 200, groups: ['a', 'b'] });
    expect(await read(`Bearer ${SECRETS.a}`)).toEqual({ status: 200, groups: ['a'] });
    expect(await read(basic('reader', SECRETS.readerPassword))).toEqual({ status: 200, groups: ['a', 'b'] });
    expect((await read(`Bearer ${SECRETS.ops}`)).status).toBe(403);
    expect((await write(basic('reader', SECRETS.readerPassword), 'a')).status).toBe(403);
    expect((await fetch(`${t.url}/admin/election/leader`)).status).toBe(401);
    expect((await fetch(`${t.url}/admin/election/leader`, { headers: { Authorization: `Bearer ${SECRETS.any}` } })).status).toBe(403);
    expect((await fetch(`${t.url}/admin/election/leader`, { headers: { Authorization: `Bearer ${SECRETS.ops}` } })).status).toBe(200);
    passed++;
  });

  it('keeps /metrics, /healthz and /readyz open', async () => {
    expect((await fetch(`${t.url}/metrics`)).status).toBe(200);
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
    expect([200, 503]).toContain((await fetch(`${t.url}/readyz`)).status);
    passed++;
  });

  it('rotates without a restart: a new token works and a removed one is refused once the file changes', async () => {
    writeAuthFile([{ name: 'team-a-next', bearer_token: SECRETS.next, groups: ['a'] }], true);
    await waitFor('the rotated file in force', async () => (await write(`Bearer ${SECRETS.next}`, 'a')).status === 204, 10_000, 200);
    expect((await write(`Bearer ${SECRETS.a}`, 'a')).status).toBe(401);
    // A broken file keeps the credentials in force.
    writeFileSync(authFile, `{"credentials": [{"name": "x", "bearer_token": "${SECRETS.wrong}"`);
    t.app.reload();
    expect((await write(`Bearer ${SECRETS.next}`, 'a')).status).toBe(204);
    expect(logLines.some((l) => l.includes('auth file not reloaded'))).toBe(true);
    passed++;
  });

  it('never writes a secret to a log line or to /metrics', async () => {
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/promfleet_auth_failures_total\{reason="unknown"\} [1-9]/);
    expect(logLines.length).toBeGreaterThan(20);
    expect(logLines.some((l) => l.includes('request refused by authentication'))).toBe(true);
    const haystack = `${logLines.join('\n')}\n${metrics}`;
    for (const [name, secret] of Object.entries(SECRETS)) {
      expect(haystack.includes(secret), `${name} appears in the logs or metrics`).toBe(false);
      expect(haystack.includes(Buffer.from(`reader:${secret}`).toString('base64')), `${name} (base64) appears`).toBe(false);
    }
    expect(haystack).not.toMatch(/authorization/i);
    passed++;
  });
});

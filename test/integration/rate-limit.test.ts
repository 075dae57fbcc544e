/**
 * Per-credential and per-group request rates on a running ingress: the excess gets 503 with
 * Retry-After by default (Prometheus retries it), 429 with --web.rate-limit.status=429, and
 * other credentials and groups are not affected.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWriteRequest, snappyCompress } from '../../src/protocol/index.js';
import { deleteRedisPrefix, startApp, type TestApp } from '../helpers/app.js';

const HEADERS = { 'Content-Encoding': 'snappy', 'Content-Type': 'application/x-protobuf', 'X-Prometheus-Remote-Write-Version': '0.1.0' };
const dir = mkdtempSync(path.join(os.tmpdir(), 'promfleet-rate-'));
const authFile = path.join(dir, 'auth.json');
let byCredential: TestApp;
let byGroup: TestApp;

beforeAll(async () => {
  writeFileSync(authFile, JSON.stringify({ credentials: [{ name: 'one', bearer_token: 'rate-one' }, { name: 'two', bearer_token: 'rate-two' }] }));
  byCredential = await startApp('ingress', { args: [`--web.auth-file=${authFile}`, '--web.rate-limit.credential=3'] });
  byGroup = await startApp('ingress', { args: ['--web.rate-limit.group=2', '--web.rate-limit.status=429'] });
});
afterAll(async () => {
  await byCredential?.stop();
  await byGroup?.stop();
  await deleteRedisPrefix(byCredential.prefix);
  await deleteRedisPrefix(byGroup.prefix);
  rmSync(dir, { recursive: true, force: true });
});

function body(group: string): Buffer {
  return Buffer.from(snappyCompress(encodeWriteRequest({
    timeseries: [{ labels: [{ name: '__name__', value: 'up' }, { name: 'cluster', value: group }], samples: [{ value: 1, timestamp: Date.now() }], exemplars: [], histograms: [] }],
    metadata: [],
  })));
}

async function burst(url: string, n: number, group: string, token?: string): Promise<{ statuses: number[]; retryAfter: string[]; texts: string[] }> {
  const out = { statuses: [] as number[], retryAfter: [] as string[], texts: [] as string[] };
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${url}/write`, { method: 'POST', headers: { ...HEADERS, ...(token ? { Authorization: `Bearer ${token}` } : {}) }, body: new Uint8Array(body(group)) });
    out.statuses.push(res.status);
    out.texts.push(await res.text());
    out.retryAfter.push(res.headers.get('retry-after') ?? '');
  }
  return out;
}

describe('rate limits', () => {
  it('answers a credential over its rate 503 with Retry-After, and leaves other credentials alone', async () => {
    const one = await burst(byCredential.url, 8, 'g', 'rate-one');
    expect(one.statuses.filter((s) => s === 204).length).toBeGreaterThanOrEqual(3);
    const refused = one.statuses.map((s, i) => [s, i] as const).filter(([s]) => s !== 204);
    expect(refused.length).toBeGreaterThan(0);
    for (const [s, i] of refused) {
      expect(s).toBe(503);
      expect(one.texts[i]).toMatch(/^RATE_LIMITED: credential "one" .*--web\.rate-limit\.credential/);
      expect(Number(one.retryAfter[i])).toBeGreaterThanOrEqual(1);
    }
    expect((await burst(byCredential.url, 1, 'g', 'rate-two')).statuses).toEqual([204]);
  });

  it('answers a group over its rate 429 when configured so, and leaves other groups alone', async () => {
    const a = await burst(byGroup.url, 6, 'a');
    expect(a.statuses).toContain(429);
    expect(a.statuses.filter((s) => s !== 204 && s !== 429)).toEqual([]);
    expect(a.texts.find((t) => t.startsWith('RATE_LIMITED_429'))).toMatch(/HA group "a" .*--web\.rate-limit\.group/);
    expect((await burst(byGroup.url, 1, 'b')).statuses).toEqual([204]);
    const metrics = await (await fetch(`${byGroup.url}/metrics`)).text();
    expect(metrics).toMatch(/promfleet_rate_limited_requests_total\{limit="group"\} [1-9]/);
  });
});

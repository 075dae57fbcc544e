/**
 * Hostile bodies against a running ingress over HTTP: the named attacks get their limit's 4xx
 * quickly, and 5,000 seeded mutated and random bodies (the in-process fuzz in
 * test/unit/protocol-fuzz.test.ts sends 100,000 more) are each answered 204 or 4xx — never 5xx,
 * never a hang — while the process's memory stays bounded and a valid write still gets 204.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWriteRequest, snappyCompress } from '../../src/protocol/index.js';
import { deleteRedisPrefix, startApp, type TestApp } from '../helpers/app.js';
import { hostileBodyArb, namedAttacks, NOW } from '../helpers/hostile-bodies.js';

let t: TestApp;
const HEADERS = { 'Content-Encoding': 'snappy', 'Content-Type': 'application/x-protobuf', 'X-Prometheus-Remote-Write-Version': '0.1.0' };
const HTTP_BODIES = 5_000;

beforeAll(async () => {
  t = await startApp('ingress');
});
afterAll(async () => {
  await t.stop();
  await deleteRedisPrefix(t.prefix);
});

async function post(body: Uint8Array): Promise<{ status: number; text: string }> {
  const res = await fetch(`${t.url}/write`, { method: 'POST', headers: HEADERS, body: Buffer.from(body), signal: AbortSignal.timeout(10_000) });
  return { status: res.status, text: await res.text() };
}

describe('hostile bodies over HTTP', () => {
  for (const attack of namedAttacks()) {
    it(`answers ${attack.name} with ${attack.status} ${attack.code} quickly`, async () => {
      const started = performance.now();
      const res = await post(attack.body);
      expect(res.status).toBe(attack.status);
      expect(res.text).toMatch(new RegExp(`^${attack.code}: [^\\n]*\\n$`));
      expect(performance.now() - started).toBeLessThan(2_000);
    });
  }

  it(`answers ${HTTP_BODIES} mutated and random bodies with 204 or 4xx, memory bounded`, async () => {
    const bodies = fc.sample(hostileBodyArb, { seed: 8, numRuns: HTTP_BODIES });
    const statuses = new Map<number, number>();
    const rssBefore = process.memoryUsage().rss;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < bodies.length) {
        const body = bodies[next++];
        const { status, text } = await post(body);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (status !== 204 && (status < 400 || status >= 500)) throw new Error(`status ${status} for body ${Buffer.from(body).toString('hex').slice(0, 200)}: ${text}`);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    expect([...statuses.values()].reduce((a, b) => a + b, 0)).toBe(HTTP_BODIES);
    // Both outcomes occur: the mutations are not all rejected at the first byte.
    expect(statuses.get(204) ?? 0).toBeGreaterThan(50);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(50);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(512 * 1024 * 1024);
    const ok = snappyCompress(encodeWriteRequest({
      timeseries: [{ labels: [{ name: '__name__', value: 'up' }], samples: [{ value: 1, timestamp: NOW }], exemplars: [], histograms: [] }], metadata: [],
    }));
    expect((await post(ok)).status).toBe(204);
  }, 300_000);
});

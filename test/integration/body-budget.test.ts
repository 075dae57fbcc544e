/**
 * The in-flight body budget: request bodies held at once are bounded; past the bound a request
 * gets 503 TOO_BUSY with Retry-After (Prometheus retries), and the bytes come back as soon as
 * the requests holding them end, so the next write is accepted.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWriteRequest, snappyCompress } from '../../src/protocol/index.js';
import { deleteRedisPrefix, startApp, type TestApp } from '../helpers/app.js';
import { waitFor } from '../helpers/ports.js';

const HEADERS = { 'Content-Encoding': 'snappy', 'Content-Type': 'application/x-protobuf' };
let t: TestApp;

beforeAll(async () => {
  t = await startApp('ingress', { args: ['--web.max-body-bytes=1MiB', '--web.max-inflight-body-bytes=2MiB'] });
});
afterAll(async () => {
  await t?.stop();
  await deleteRedisPrefix(t.prefix);
});

function holdBody(port: number, sent: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.write(`POST /write HTTP/1.1\r\nHost: x\r\nContent-Encoding: snappy\r\nContent-Type: application/x-protobuf\r\nContent-Length: ${1024 * 1024}\r\n\r\n`);
      s.write(Buffer.alloc(sent, 1), () => resolve(s));
    });
    s.on('error', () => undefined);
    s.once('error', reject);
  });
}

function body(): Uint8Array<ArrayBuffer> {
  return new Uint8Array(snappyCompress(encodeWriteRequest({
    timeseries: [{ labels: [{ name: '__name__', value: 'up' }, { name: 'pad', value: randomBytes(2400).toString('base64') }], samples: [{ value: 1, timestamp: Date.now() }], exemplars: [], histograms: [] }],
    metadata: [],
  })));
}

describe('in-flight body budget', () => {
  it('answers 503 TOO_BUSY while stalled bodies hold the budget, and accepts again once they are gone', async () => {
    const held = [await holdBody(t.app.server.port, 1023 * 1024), await holdBody(t.app.server.port, 1023 * 1024)];
    // Both stalled bodies are in memory before the third request comes.
    await waitFor('the stalled bodies read', async () => t.app.server.bodyBytesInUse === 2 * 1023 * 1024, 10_000, 20);
    expect(await (await fetch(`${t.url}/metrics`)).text()).toMatch(new RegExp(`promfleet_http_inflight_body_bytes ${2 * 1023 * 1024}\\n`));
    // 2 KiB are left; a third body of about 3 KiB (incompressible) does not fit: refused, retryable.
    let refused: Response | undefined;
    await waitFor('the budget to be spent', async () => {
      refused = await fetch(`${t.url}/write`, { method: 'POST', headers: HEADERS, body: body() });
      return refused.status === 503;
    }, 10_000, 100);
    expect(await refused!.text()).toMatch(/^TOO_BUSY: .*--web\.max-inflight-body-bytes/);
    expect(refused!.headers.get('retry-after')).toBe('1');
    for (const s of held) s.destroy();
    await waitFor('the budget given back', async () => t.app.server.bodyBytesInUse === 0, 10_000, 20);
    await waitFor('the budget to come back', async () => (await fetch(`${t.url}/write`, { method: 'POST', headers: HEADERS, body: body() })).status === 204, 10_000, 100);
  });
});

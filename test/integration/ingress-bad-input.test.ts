/**
 * Bad input on /write: each case gets its 4xx with a one-line reason, the server keeps serving,
 * and nothing reaches the queue. A valid request afterwards is still answered 204.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWriteRequest, snappyCompress } from '../../src/protocol/index.js';
import type { WriteRequest } from '../../src/protocol/index.js';
import { deleteRedisPrefix, redisKeys, startApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
const HEADERS = { 'Content-Encoding': 'snappy', 'Content-Type': 'application/x-protobuf', 'X-Prometheus-Remote-Write-Version': '0.1.0' };

beforeAll(async () => {
  t = await startApp('ingress', { args: ['--web.max-body-bytes=1MiB', '--web.max-decompressed-bytes=4MiB'] });
});
afterAll(async () => {
  await t.stop();
  await deleteRedisPrefix(t.prefix);
});

function body(req: WriteRequest): Buffer {
  return Buffer.from(snappyCompress(encodeWriteRequest(req)));
}

function series(labels: [string, string][], ts = Date.now()) {
  return { labels: labels.map(([name, value]) => ({ name, value })), samples: [{ value: 1, timestamp: ts }], exemplars: [], histograms: [] };
}

async function post(payload: Uint8Array, headers: Record<string, string> = HEADERS): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(`${t.url}/write`, { method: "POST", headers, body: Buffer.from(payload) });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

async function expectRefused(payload: Uint8Array, status: number, code: string, reason: RegExp, headers?: Record<string, string>) {
  const res = await post(payload, headers);
  expect(res.status).toBe(status);
  expect(res.text).toMatch(new RegExp(`^${code}: `));
  expect(res.text).toMatch(reason);
  expect(res.text.trimEnd().split('\n')).toHaveLength(1);
  expect(await redisKeys(t.prefix)).toEqual([]);
}

describe('bad input on /write', () => {
  it('refuses a garbage body with 400', async () => {
    await expectRefused(Buffer.from('this is not snappy at all, not even close'), 400, 'BAD_SNAPPY', /snappy/i);
  });

  it('refuses snappy framed format instead of auto-detecting it', async () => {
    const framed = Buffer.concat([Buffer.from([0xff, 0x06, 0x00, 0x00]), Buffer.from('sNaPpY'), Buffer.from([0x01, 0x05, 0, 0, 0, 0, 0, 0, 0])]);
    await expectRefused(framed, 400, 'BAD_SNAPPY', /framed/i);
  });

  it('refuses a snappy header that claims more than the decompressed-size limit', async () => {
    // uvarint 0xFFFFFFFF (4 GiB) followed by a few literal bytes
    const claim = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x61]);
    await expectRefused(claim, 413, 'DECOMPRESSED_TOO_LARGE', /4294967295|limit/);
  });

  it('answers 413 as soon as Content-Length exceeds the limit, before the body is sent', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${t.url}/write`, { method: 'POST', headers: { ...HEADERS, 'Content-Length': String(50 * 1024 * 1024) } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(err)));
      req.write(Buffer.alloc(1024));
      // The rest of the 50 MiB is never sent: the answer must come anyway.
    });
    expect(status).toBe(413);
    expect(await redisKeys(t.prefix)).toEqual([]);
  });

  it('refuses a chunked body that grows past the limit', async () => {
    const big = Buffer.alloc(2 * 1024 * 1024, 1);
    const res = await fetch(`${t.url}/write`, {
      method: 'POST', headers: HEADERS, duplex: 'half',
      body: new ReadableStream({ start(c) { c.enqueue(big); c.close(); } }),
    } as RequestInit).catch((err: unknown) => err);
    if (res instanceof Response) expect(res.status).toBe(413);
    else expect(String(res)).toMatch(/fetch failed|ECONNRESET|socket/i);
    expect(await redisKeys(t.prefix)).toEqual([]);
  });

  it('answers 415 for a wrong Content-Encoding', async () => {
    const ok = body({ timeseries: [series([['__name__', 'up']])], metadata: [] });
    await expectRefused(ok, 415, 'UNSUPPORTED_CONTENT_ENCODING', /gzip/, { ...HEADERS, 'Content-Encoding': 'gzip' });
  });

  it('answers 415 for a wrong Content-Type and for a protobuf message other than 1.0 and 2.0 requests', async () => {
    const ok = body({ timeseries: [series([['__name__', 'up']])], metadata: [] });
    await expectRefused(ok, 415, 'UNSUPPORTED_CONTENT_TYPE', /application\/json/, { ...HEADERS, 'Content-Type': 'application/json' });
    await expectRefused(ok, 415, 'UNSUPPORTED_CONTENT_TYPE', /io.prometheus.write.v3.request/i, { ...HEADERS, 'Content-Type': 'application/x-protobuf;proto=io.prometheus.write.v3.Request' });
  });

  it('refuses protobuf garbage inside valid snappy', async () => {
    await expectRefused(Buffer.from(snappyCompress(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]))), 400, 'BAD_PROTOBUF', /./);
  });

  it('refuses unsorted label names, naming the series', async () => {
    const b = body({ timeseries: [series([['__name__', 'up'], ['job', 'x'], ['instance', 'y']])], metadata: [] });
    await expectRefused(b, 400, 'INVALID_LABELS', /series 0.*(sorted|order)/i);
  });

  it('refuses duplicate label names', async () => {
    const b = body({ timeseries: [series([['__name__', 'up'], ['job', 'x'], ['job', 'y']])], metadata: [] });
    await expectRefused(b, 400, 'INVALID_LABELS', /duplicate.*job|job.*duplicate/i);
  });

  it('refuses an empty label name', async () => {
    const b = body({ timeseries: [series([['', 'v'], ['__name__', 'up']])], metadata: [] });
    await expectRefused(b, 400, 'INVALID_LABELS', /empty/i);
  });

  it('refuses invalid UTF-8 in a label value', async () => {
    const good = Buffer.from(encodeWriteRequest({ timeseries: [series([['__name__', 'up'], ['job', 'abc']])], metadata: [] }));
    const at = good.indexOf(Buffer.from('abc'));
    good[at] = 0xff;
    await expectRefused(Buffer.from(snappyCompress(good)), 400, 'INVALID_LABELS', /UTF-8/i);
  });

  it('refuses NUL in a label value rather than queueing what PostgreSQL cannot store', async () => {
    const b = body({ timeseries: [series([['__name__', 'up'], ['job', 'a\0b']])], metadata: [] });
    await expectRefused(b, 400, 'INVALID_LABELS', /NUL/);
  });

  it('still serves: a valid request is answered 204 and enqueued', async () => {
    const res = await post(body({ timeseries: [series([['__name__', 'up'], ['job', 'ok']])], metadata: [] }));
    expect(res.status).toBe(204);
    expect((await redisKeys(t.prefix)).length).toBeGreaterThan(0);
  });

  it('answers 405 for GET /write and 404 for unknown paths', async () => {
    expect((await fetch(`${t.url}/write`)).status).toBe(405);
    expect((await fetch(`${t.url}/nope`)).status).toBe(404);
  });
});

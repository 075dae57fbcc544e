/**
 * Redis over TLS with a rediss:// URL: the real CLI writes through a TLS-terminating proxy in
 * front of the test Redis (certificate made at test time, trusted through Node's standard
 * NODE_EXTRA_CA_CERTS), and a write is acknowledged only through it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWriteRequest, snappyCompress } from '../../src/protocol/index.js';
import { readyStatus, startPromfleet, type PromfleetProcess } from '../helpers/promfleet.js';
import { waitFor } from '../helpers/ports.js';
import { redisKeys, deleteRedisPrefix } from '../helpers/app.js';
import { pgUrl, redisUrl, uniqueName } from '../helpers/services.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'promfleet-rediss-'));
const cert = path.join(dir, 'cert.pem');
const key = path.join(dir, 'key.pem');
const prefix = uniqueName('pfrtls');
let proxy: tls.Server;
let tlsConnections = 0;
let p: PromfleetProcess | undefined;

beforeAll(async () => {
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert,
    '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
  ], { stdio: 'ignore' });
  const upstream = new URL(redisUrl());
  proxy = tls.createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (clear) => {
    tlsConnections++;
    const up = net.connect(Number(upstream.port || 6379), upstream.hostname);
    clear.pipe(up).pipe(clear);
    const close = (): void => { clear.destroy(); up.destroy(); };
    clear.once('error', close);
    up.once('error', close);
    clear.once('close', close);
    up.once('close', close);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  await p?.stop();
  await new Promise<void>((resolve) => proxy.close(() => resolve()));
  await deleteRedisPrefix(prefix);
  rmSync(dir, { recursive: true, force: true });
});

describe('rediss://', () => {
  it('queues writes over TLS', async () => {
    const port = (proxy.address() as net.AddressInfo).port;
    p = await startPromfleet('ingress', [`--pg.url=${pgUrl()}`, `--redis.url=rediss://127.0.0.1:${port}`, `--queue.prefix=${prefix}`], { env: { NODE_EXTRA_CA_CERTS: cert } });
    const started = p;
    await waitFor('ready (Redis answers over TLS)', async () => (await readyStatus(started.url)) === 200, 30_000, 200);
    const body = snappyCompress(encodeWriteRequest({
      timeseries: [{ labels: [{ name: '__name__', value: 'up' }], samples: [{ value: 1, timestamp: Date.now() }], exemplars: [], histograms: [] }], metadata: [],
    }));
    const res = await fetch(`${p.url}/write`, { method: 'POST', headers: { 'Content-Encoding': 'snappy', 'Content-Type': 'application/x-protobuf' }, body: Buffer.from(body) });
    expect(res.status, p.output()).toBe(204);
    expect(tlsConnections).toBeGreaterThan(0);
    expect((await redisKeys(prefix)).length).toBeGreaterThan(0);
  }, 60_000);

  it('does not trust a certificate it was not told about', async () => {
    const port = (proxy.address() as net.AddressInfo).port;
    const untrusting = await startPromfleet('ingress', [`--pg.url=${pgUrl()}`, `--redis.url=rediss://127.0.0.1:${port}`, `--queue.prefix=${prefix}`]);
    try {
      await new Promise((r) => setTimeout(r, 3_000));
      expect(await readyStatus(untrusting.url)).toBe(503);
    } finally {
      await untrusting.stop();
    }
  }, 60_000);
});

/**
 * The listener over TLS, with a self-signed certificate made at test time by the openssl CLI:
 * a client trusting it writes with a bearer token; plain HTTP and clients not trusting it get
 * nowhere; SIGHUP's reload puts a new certificate in use without a restart; an unreadable
 * certificate stops the start with the flag's name.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { pino } from 'pino';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { parseConfig } from '../../src/config/index.js';
import { encodeWriteRequest, snappyCompress } from '../../src/protocol/index.js';
import { deleteRedisPrefix, startApp, type TestApp } from '../helpers/app.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'promfleet-tls-'));
const cert = path.join(dir, 'cert.pem');
const key = path.join(dir, 'key.pem');
const authFile = path.join(dir, 'auth.json');
let t: TestApp;

function makeCert(cn: string): void {
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert,
    '-days', '1', '-subj', `/CN=${cn}`, '-addext', 'subjectAltName=IP:127.0.0.1',
  ], { stdio: 'ignore' });
}

beforeAll(async () => {
  makeCert('promfleet-test-1');
  writeFileSync(authFile, JSON.stringify({ credentials: [{ name: 'prom', bearer_token: 'tls-token' }] }));
  t = await startApp('ingress', { args: [`--web.tls-cert=${cert}`, `--web.tls-key=${key}`, `--web.auth-file=${authFile}`] });
});
afterAll(async () => {
  await t?.stop();
  await deleteRedisPrefix(t.prefix);
  rmSync(dir, { recursive: true, force: true });
});

function writeBody(): Uint8Array {
  return snappyCompress(encodeWriteRequest({
    timeseries: [{ labels: [{ name: '__name__', value: 'up' }], samples: [{ value: 1, timestamp: Date.now() }], exemplars: [], histograms: [] }], metadata: [],
  }));
}

async function post(ca: string | undefined, token = 'tls-token'): Promise<number> {
  const dispatcher = new Agent({ connect: ca === undefined ? {} : { ca } });
  try {
    const res = await undiciFetch(`${t.url}/write`, {
      method: 'POST', dispatcher, body: writeBody(),
      headers: { 'Content-Encoding': 'snappy', 'Content-Type': 'application/x-protobuf', Authorization: `Bearer ${token}` },
    });
    await res.arrayBuffer();
    return res.status;
  } finally {
    await dispatcher.close();
  }
}

function servedCertificate(): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: t.app.server.port, rejectUnauthorized: false }, () => {
      const subject = s.getPeerCertificate().subject.CN;
      s.destroy();
      resolve(String(subject));
    });
    s.once('error', reject);
  });
}

describe('TLS listener', () => {
  it('serves HTTPS to a client that trusts the certificate, with authentication on top', async () => {
    expect(t.url).toMatch(/^https:/);
    const ca = readFileSync(cert, 'utf8');
    expect(await post(ca)).toBe(204);
    expect(await post(ca, 'wrong')).toBe(401);
  });

  it('gives plain HTTP and untrusting clients nothing', async () => {
    await expect(fetch(`http://127.0.0.1:${t.app.server.port}/healthz`)).rejects.toThrow();
    await expect(post(undefined)).rejects.toThrow();
  });

  it('puts a new certificate in use on reload, without a restart', async () => {
    expect(await servedCertificate()).toBe('promfleet-test-1');
    makeCert('promfleet-test-2');
    t.app.reload();
    expect(await servedCertificate()).toBe('promfleet-test-2');
    expect(new X509Certificate(readFileSync(cert)).subject).toMatch(/promfleet-test-2/);
    expect(await post(readFileSync(cert, 'utf8'))).toBe(204);
  });

  it('refuses to start with an unreadable certificate, naming the flag', () => {
    const config = parseConfig([`--web.tls-cert=${path.join(dir, 'missing.pem')}`, `--web.tls-key=${key}`, '--web.listen-address=127.0.0.1:0'], {});
    expect(() => createApp('ingress', config, pino({ level: 'silent' }))).toThrow(/--web\.tls-cert .*ENOENT/);
  });
});

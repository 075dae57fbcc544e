/**
 * The listener with --web.config.file: RequireAndVerifyClientCert lets in a client with a
 * certificate signed by client_ca_file and no other; http_server_config headers are on every
 * answer, errors included; basic_auth_users and --web.auth-file together accept either's
 * credential; /healthz stays open; --web.tls-cert beside tls_server_config is refused.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { pino } from 'pino';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.js';
import { parseConfig } from '../../src/config/index.js';
import { encodeWriteRequest, snappyCompress } from '../../src/protocol/index.js';
import { deleteRedisPrefix, startApp, type TestApp } from '../helpers/app.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'promfleet-webcfg-int-'));
const file = (name: string): string => path.join(dir, name);
let t: TestApp;

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: 'ignore' });
}

/** A self-signed certificate (server, or a client CA). */
function selfSigned(name: string, cn: string): void {
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', file(`${name}.key`), '-out', file(`${name}.crt`),
    '-days', '1', '-subj', `/CN=${cn}`, '-addext', 'subjectAltName=IP:127.0.0.1']);
}

/** A client certificate signed by the CA `ca`. */
function clientCert(name: string, ca: string): void {
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`), '-subj', `/CN=${name}`]);
  openssl(['x509', '-req', '-in', file(`${name}.csr`), '-CA', file(`${ca}.crt`), '-CAkey', file(`${ca}.key`), '-CAcreateserial', '-out', file(`${name}.crt`), '-days', '1']);
}

beforeAll(async () => {
  selfSigned('server', '127.0.0.1');
  selfSigned('client-ca', 'client-ca');
  selfSigned('other-ca', 'other-ca');
  clientCert('prom', 'client-ca');
  clientCert('stranger', 'other-ca');
  writeFileSync(file('auth.json'), JSON.stringify({ credentials: [{ name: 'token', bearer_token: 'web-config-token' }] }));
  writeFileSync(file('web.yml'), [
    'tls_server_config:',
    '  cert_file: server.crt',
    '  key_file: server.key',
    '  client_auth_type: RequireAndVerifyClientCert',
    '  client_ca_file: client-ca.crt',
    '  min_version: TLS12',
    '  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]',
    'http_server_config:',
    '  headers:',
    '    X-Content-Type-Options: nosniff',
    '    X-Frame-Options: deny',
    'basic_auth_users:',
    `  alice: ${bcrypt.hashSync('alice-pw', 4)}`,
    '',
  ].join('\n'));
  t = await startApp('ingress', { args: [`--web.config.file=${file('web.yml')}`, `--web.auth-file=${file('auth.json')}`] });
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

async function call(pathname: string, opts: { client?: string; authorization?: string; method?: string } = {}): Promise<Response> {
  const tlsOptions = { ca: readFileSync(file('server.crt'), 'utf8'), ...(opts.client === undefined ? {} : { cert: readFileSync(file(`${opts.client}.crt`)), key: readFileSync(file(`${opts.client}.key`)) }) };
  const dispatcher = new Agent({ connect: tlsOptions });
  try {
    const res = await undiciFetch(`${t.url}${pathname}`, {
      method: opts.method ?? 'GET', dispatcher,
      ...(opts.method === 'POST' ? { body: writeBody() } : {}),
      headers: { 'Content-Encoding': 'snappy', 'Content-Type': 'application/x-protobuf', ...(opts.authorization === undefined ? {} : { Authorization: opts.authorization }) },
    });
    await res.arrayBuffer();
    return res as unknown as Response;
  } finally {
    await dispatcher.close();
  }
}

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('listener with --web.config.file', () => {
  it('lets in only clients with a certificate from client_ca_file', async () => {
    expect(t.url).toMatch(/^https:/);
    expect((await call('/healthz', { client: 'prom' })).status).toBe(200);
    await expect(call('/healthz')).rejects.toThrow();
    await expect(call('/healthz', { client: 'stranger' })).rejects.toThrow();
  });

  it('accepts basic_auth_users and --web.auth-file credentials, refuses a wrong password, and sets the headers', async () => {
    const write = (authorization?: string): Promise<Response> => call('/write', { client: 'prom', method: 'POST', authorization });
    expect((await write(basic('alice', 'alice-pw'))).status).toBe(204);
    expect((await write('Bearer web-config-token')).status).toBe(204);
    const wrong = await write(basic('alice', 'wrong'));
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('x-content-type-options')).toBe('nosniff');
    expect(wrong.headers.get('x-frame-options')).toBe('deny');
    expect((await write()).status).toBe(401);
    const probe = await call('/healthz', { client: 'prom' });
    expect(probe.headers.get('x-frame-options')).toBe('deny');
  });

  it('refuses --web.tls-cert beside tls_server_config, naming both', () => {
    const config = parseConfig([`--web.config.file=${file('web.yml')}`, `--web.tls-cert=${file('server.crt')}`, `--web.tls-key=${file('server.key')}`, '--web.listen-address=127.0.0.1:0'], {});
    expect(() => createApp('ingress', config, pino({ level: 'silent' }))).toThrow(/--web\.tls-cert\/--web\.tls-key and tls_server_config in --web\.config\.file .*web\.yml both configure TLS/);
  });
});

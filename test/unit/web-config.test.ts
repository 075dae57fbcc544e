/**
 * --web.config.file as Prometheus documents it: basic_auth_users with bcrypt hashes (made here
 * with bcryptjs) and tls_server_config with a self-signed certificate for 127.0.0.1 (made here
 * with the openssl CLI). What promfleet cannot honour is refused naming the key; a bad file
 * stops the start naming the file and the problem.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PromfleetError } from '../../src/errors.js';
import { parseWebConfig, WebConfigStore } from '../../src/webconfig/index.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'promfleet-webcfg-'));
const silent = pino({ level: 'silent' });
let hash = '';

function makeCert(name: string): void {
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', path.join(dir, `${name}.key`), '-out', path.join(dir, `${name}.crt`),
    '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
  ], { stdio: 'ignore' });
}

function writeConfig(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

beforeAll(() => {
  makeCert('server');
  makeCert('other');
  hash = bcrypt.hashSync('test-password', 10);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('web config file', () => {
  it('reads the file as the Prometheus documentation writes it, relative paths from its directory', () => {
    const c = parseWebConfig([
      'tls_server_config:',
      '  cert_file: server.crt',
      '  key_file: server.key',
      '',
      'basic_auth_users:',
      `  alice: ${hash}`,
      `  bob: ${hash.replace(/^\$2b\$/, '$2y$')}`,
    ].join('\n'), dir);
    expect(c.tls).toMatchObject({
      certFile: path.join(dir, 'server.crt'), keyFile: path.join(dir, 'server.key'),
      clientAuth: 'NoClientCert', clientCaFile: undefined, minVersion: 'TLSv1.2', maxVersion: undefined,
    });
    expect([...c.basicAuthUsers.keys()]).toEqual(['alice', 'bob']);
    expect(c.basicAuthUsers.get('alice')).toBe(hash);
    expect(bcrypt.compareSync('test-password', c.basicAuthUsers.get('bob')!)).toBe(true);
    expect(c.headers).toEqual({});
  });

  it('maps client certificates, versions, Go cipher suite and curve names onto Node', () => {
    const c = parseWebConfig([
      'tls_server_config:',
      `  cert_file: ${path.join(dir, 'server.crt')}`,
      `  key_file: ${path.join(dir, 'server.key')}`,
      '  client_auth_type: RequireAndVerifyClientCert',
      '  client_ca_file: ca.crt',
      '  min_version: TLS12',
      '  max_version: TLS13',
      '  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305]',
      '  prefer_server_cipher_suites: false',
      '  curve_preferences: [X25519, CurveP256]',
      'http_server_config:',
      '  http2: false',
      '  headers:',
      '    X-Frame-Options: deny',
      '    Strict-Transport-Security: max-age=31536000',
    ].join('\n'), dir);
    expect(c.tls).toEqual({
      certFile: path.join(dir, 'server.crt'), keyFile: path.join(dir, 'server.key'),
      clientAuth: 'RequireAndVerifyClientCert', clientCaFile: path.join(dir, 'ca.crt'), minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3',
      ciphers: ['ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-CHACHA20-POLY1305'], preferServerCipherSuites: false, curves: ['X25519', 'P-256'],
    });
    expect(c.headers).toEqual({ 'X-Frame-Options': 'deny', 'Strict-Transport-Security': 'max-age=31536000' });
  });

  it('serves plain HTTP for an empty file or a tls_server_config without certificate', () => {
    expect(parseWebConfig('', dir)).toEqual({ tls: undefined, basicAuthUsers: new Map(), headers: {} });
    expect(parseWebConfig('tls_server_config:\n  min_version: TLS13\nbasic_auth_users:\n', dir).tls).toBeUndefined();
  });

  it.each([
    ['web_config: {}', /the file has unknown key "web_config"/],
    ['tls_server_config:\n  cert_file: a\n  key_file: b\n  certfile: c', /tls_server_config has unknown key "certfile"/],
    ['tls_server_config:\n  cert_file: a\n  key_file: b\n  client_allowed_sans: [x]', /client_allowed_sans is not supported/],
    ['tls_server_config:\n  cert_file: a', /cert_file is set but key_file is missing/],
    ['tls_server_config:\n  key_file: a', /key_file is set but cert_file is missing/],
    ['tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS14', /min_version must be one of TLS10, TLS11, TLS12, TLS13/],
    ['tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS13\n  max_version: TLS12', /max_version is below min_version/],
    ['tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: VerifyAlways', /client_auth_type must be one of NoClientCert/],
    ['tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireAndVerifyClientCert', /RequireAndVerifyClientCert needs client_ca_file/],
    ['tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: ca', /client_ca_file is set but client_auth_type is NoClientCert/],
    ['tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]', /"TLS_RSA_WITH_RC4_128_SHA" is not a suite promfleet can offer/],
    ['tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites: [TLS_AES_128_GCM_SHA256]', /TLS 1.3 suites are not configurable/],
    ['tls_server_config:\n  cert_file: a\n  key_file: b\n  curve_preferences: [P256]', /unknown curve "P256"/],
    ['basic_auth_users:\n  alice: secret', /basic_auth_users.alice must be a bcrypt hash/],
    ['basic_auth_users: [alice]', /basic_auth_users must be a map/],
    ['http_server_config:\n  http2: true', /http2: promfleet serves HTTP\/1.1 only/],
    ['http_server_config:\n  headers:\n    Server: promfleet', /header "Server" may not be set/],
    ['http_server_config:\n  headers:\n    X-Content-Type-Options: sniff', /X-Content-Type-Options has a value that is not allowed/],
    ['http_server_config:\n  max_conns: 5', /http_server_config has unknown key "max_conns"/],
    ['basic_auth_users:\n  alice: x\n  alice: y', /not valid YAML \(DUPLICATE_KEY at line 3\)/],
    ['tls_server_config:\n cert_file: a\n  key_file: b', /not valid YAML \(BLOCK_AS_IMPLICIT_KEY at line 2\)/],
  ])('refuses %j naming what is wrong', (text, message) => {
    expect(() => parseWebConfig(text, dir)).toThrow(message);
  });

  it('never quotes a hash in an error', () => {
    const bad = `${hash.slice(0, -1)}!`;
    let message = '';
    try {
      parseWebConfig(`basic_auth_users:\n  alice: "${bad}"`, dir);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/alice must be a bcrypt hash/);
    expect(message.includes(bad.slice(7))).toBe(false);
  });

  it('stops the start with CONFIG_INVALID naming the file and the problem', () => {
    const check = (file: string, problem: RegExp): void => {
      let err: unknown;
      try {
        new WebConfigStore(file, silent);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(PromfleetError);
      expect((err as PromfleetError).code).toBe('CONFIG_INVALID');
      expect((err as Error).message).toContain(`--web.config.file ${file}: `);
      expect((err as Error).message).toMatch(problem);
    };
    check(path.join(dir, 'absent.yml'), /cannot read the file: ENOENT/);
    check(writeConfig('unknown.yml', 'basic_auth_user:\n  alice: x\n'), /unknown key "basic_auth_user"/);
    check(writeConfig('nocert.yml', 'tls_server_config:\n  cert_file: missing.crt\n  key_file: server.key\n'), /cannot read tls_server_config.cert_file .*missing.crt: ENOENT/);
    check(writeConfig('mismatch.yml', 'tls_server_config:\n  cert_file: server.crt\n  key_file: other.key\n'), /cert_file .*server.crt, key_file .*other.key do not load/);
  });

  it('keeps the settings in force when a reload finds a bad file or a change that needs a restart', () => {
    const file = writeConfig('reload.yml', `tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nbasic_auth_users:\n  alice: ${hash}\n`);
    const store = new WebConfigStore(file, silent);
    expect(store.tlsSetup()?.clientAuth).toBe('NoClientCert');
    writeFileSync(file, `tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nbasic_auth_users:\n  carol: ${hash}\n`);
    expect(store.reload()).toBe(true);
    expect([...store.config.basicAuthUsers.keys()]).toEqual(['carol']);
    writeFileSync(file, 'basic_auth_users:\n  dave: nope\n');
    expect(store.reload()).toBe(false);
    writeFileSync(file, `basic_auth_users:\n  dave: ${hash}\n`);
    expect(store.reload()).toBe(false);
    expect([...store.config.basicAuthUsers.keys()]).toEqual(['carol']);
    expect(store.tlsSetup()?.context().cert).toBeInstanceOf(Buffer);
  });
});

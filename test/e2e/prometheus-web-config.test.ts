/**
 * Debian's Prometheus 2.42 against `promfleet all` started with a --web.config.file as the
 * Prometheus documentation writes one: tls_server_config (certificate for 127.0.0.1 made at
 * test time) and basic_auth_users (bcrypt hash made at test time). A Prometheus with basic_auth
 * and tls_config.ca_file writes, and another reads its samples back through remote_read with
 * the same credentials; a Prometheus with a wrong password is refused with 401, and nothing of
 * its cluster is stored.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import pg from 'pg';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/ports.js';
import { startPromfleet, type PromfleetProcess } from '../helpers/promfleet.js';
import { startPrometheus, type PrometheusProcess } from '../helpers/prometheus.js';
import { createTestDatabase, redisUrl, uniqueName, type TestDatabase } from '../helpers/services.js';
import { dropOrKeep, tail } from './support.js';

const PASSWORD = 'e2e-web-config-pw-7a1c';
const dir = mkdtempSync(path.join(os.tmpdir(), 'promfleet-e2e-webcfg-'));
const cert = path.join(dir, 'server.crt');
const webConfig = path.join(dir, 'web-config.yml');
let db: TestDatabase | undefined;
let prefix = '';
let promfleet: PromfleetProcess | undefined;
let writer: PrometheusProcess | undefined;
let intruder: PrometheusProcess | undefined;
let reader: PrometheusProcess | undefined;
let client: pg.Client | undefined;
let passed = false;

beforeAll(async () => {
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', path.join(dir, 'server.key'), '-out', cert,
    '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
  ], { stdio: 'ignore' });
  // Relative file names, as in the documentation: taken from the web config file's directory.
  writeFileSync(webConfig, [
    'tls_server_config:',
    '  cert_file: server.crt',
    '  key_file: server.key',
    '',
    'basic_auth_users:',
    `  prom: ${bcrypt.hashSync(PASSWORD, 10)}`,
    '',
  ].join('\n'));
  db = await createTestDatabase('e2e_web_config');
  prefix = uniqueName('pfe2ewebcfg');
  promfleet = await startPromfleet('all', [
    `--pg.url=${db.url}`, `--queue.prefix=${prefix}`, `--redis.url=${redisUrl()}`, '--log.level=debug', `--web.config.file=${webConfig}`,
  ], { tlsCa: readFileSync(cert, 'utf8') });
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
}, 60_000);

afterAll(async () => {
  await reader?.stop();
  await writer?.stop();
  await intruder?.stop();
  const code = await promfleet?.stop('SIGTERM');
  await client?.end();
  rmSync(dir, { recursive: true, force: true });
  await dropOrKeep(passed, {
    name: 'prometheus-web-config', db, prefix,
    outputs: [
      [`promfleet (exit ${String(code)})`, tail(promfleet?.output() ?? '')],
      ['writer', tail(writer?.output() ?? '')], ['intruder', tail(intruder?.output() ?? '')], ['reader', tail(reader?.output() ?? '')],
    ],
  });
}, 60_000);

describe('Prometheus 2.42 with a web config file (TLS, bcrypt basic auth)', () => {
  it('stores and reads back the samples of the right password, and refuses a wrong one with 401', async () => {
    const pf = promfleet!;
    const c = client!;
    const tlsConfig = { ca_file: cert };
    writer = await startPrometheus({
      name: 'writer', remoteWriteUrl: `${pf.url}/write`, scrapeTargets: [], scrapeIntervalS: 1,
      externalLabels: { cluster: 'webcfg', __replica__: 'a' },
      remoteWriteExtra: { basic_auth: { username: 'prom', password: PASSWORD }, tls_config: tlsConfig },
    });
    intruder = await startPrometheus({
      name: 'intruder', remoteWriteUrl: `${pf.url}/write`, scrapeTargets: [], scrapeIntervalS: 1,
      externalLabels: { cluster: 'intruder', __replica__: 'a' },
      remoteWriteExtra: { basic_auth: { username: 'prom', password: `${PASSWORD}-wrong` }, tls_config: tlsConfig },
    });
    const count = async (cluster: string): Promise<number> => Number((await c.query(
      "SELECT count(*) AS n FROM prom.metrics WHERE name = 'up' AND labels->>'cluster' = $1", [cluster])).rows[0].n);
    await waitFor('the writer\'s samples stored', async () => (await count('webcfg')) >= 5, 45_000, 500);

    // Read back through Prometheus's own remote_read, over TLS with the same basic auth.
    reader = await startPrometheus({
      name: 'reader', remoteReadUrl: `${pf.url}/read`, scrapeTargets: [], selfJob: false, scrapeIntervalS: 1,
      remoteReadExtra: { basic_auth: { username: 'prom', password: PASSWORD }, tls_config: tlsConfig },
    });
    let readBack = 0;
    await waitFor('samples read back through remote_read', async () => {
      const data = await reader!.query('count_over_time(up{cluster="webcfg",job="prometheus"}[5m])');
      readBack = data.resultType === 'vector' && data.result.length === 1 ? Number(data.result[0].value[1]) : 0;
      return readBack >= 5;
    }, 30_000, 500);
    expect(readBack).toBeGreaterThanOrEqual(5);

    // The intruder's Prometheus sees 401 (and drops the batch, as it does any 4xx).
    await waitFor('the wrong password refused with 401', async () => /401 Unauthorized/.test(intruder!.output()), 30_000, 500);
    expect(await count('intruder')).toBe(0);
    const dispatcher = new Agent({ connect: { ca: readFileSync(cert, 'utf8') } });
    try {
      const wrong = await undiciFetch(`${pf.url}/write`, { method: 'POST', dispatcher, headers: { authorization: `Basic ${Buffer.from(`prom:${PASSWORD}x`).toString('base64')}` } });
      expect(wrong.status).toBe(401);
      expect(await wrong.text()).toMatch(/^UNAUTHORIZED/);
      const metrics = await (await undiciFetch(`${pf.url}/metrics`, { dispatcher })).text();
      expect(metrics).toMatch(/promfleet_auth_failures_total\{reason="unknown"\} [1-9]/);
    } finally {
      await dispatcher.close();
    }
    const output = pf.output();
    for (const secret of [PASSWORD, Buffer.from(`prom:${PASSWORD}`).toString('base64')]) expect(output.includes(secret)).toBe(false);
    passed = true;
  }, 120_000);
});

/**
 * Debian's Prometheus 2.42 writing to `promfleet all` over HTTPS (certificate made at test time)
 * with the credentials Prometheus itself sends: a bearer token (`authorization`) bound to group
 * team-a gets its samples stored; a second Prometheus whose basic_auth credential is bound to
 * team-a but whose cluster is team-b is refused (403, which Prometheus drops) and nothing of
 * team-b is stored. No secret appears in promfleet's output at debug level.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/ports.js';
import { startPromfleet, type PromfleetProcess } from '../helpers/promfleet.js';
import { startPrometheus, type PrometheusProcess } from '../helpers/prometheus.js';
import { createTestDatabase, redisUrl, uniqueName, type TestDatabase } from '../helpers/services.js';
import { dropOrKeep, tail } from './support.js';

const TOKEN = 'e2e-bearer-6d1f2a9b';
const PASSWORD = 'e2e-basic-pw-4c3b2a';
const dir = mkdtempSync(path.join(os.tmpdir(), 'promfleet-e2e-tls-'));
const cert = path.join(dir, 'cert.pem');
const key = path.join(dir, 'key.pem');
const authFile = path.join(dir, 'auth.json');
let db: TestDatabase | undefined;
let prefix = '';
let promfleet: PromfleetProcess | undefined;
let teamA: PrometheusProcess | undefined;
let teamB: PrometheusProcess | undefined;
let client: pg.Client | undefined;
let passed = false;

beforeAll(async () => {
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert,
    '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
  ], { stdio: 'ignore' });
  writeFileSync(authFile, JSON.stringify({
    credentials: [
      { name: 'team-a', bearer_token: TOKEN, groups: ['team-a'] },
      { name: 'team-a-basic', basic_auth: { username: 'prom', password: PASSWORD }, groups: ['team-a'] },
    ],
  }));
  db = await createTestDatabase('e2e_auth_tls');
  prefix = uniqueName('pfe2etls');
  promfleet = await startPromfleet('all', [
    `--pg.url=${db.url}`, `--queue.prefix=${prefix}`, `--redis.url=${redisUrl()}`, '--log.level=debug',
    `--web.tls-cert=${cert}`, `--web.tls-key=${key}`, `--web.auth-file=${authFile}`,
  ], { tlsCa: readFileSync(cert, 'utf8') });
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
}, 60_000);

afterAll(async () => {
  await teamA?.stop();
  await teamB?.stop();
  const code = await promfleet?.stop('SIGTERM');
  await client?.end();
  rmSync(dir, { recursive: true, force: true });
  await dropOrKeep(passed, {
    name: 'prometheus-auth-tls', db, prefix,
    outputs: [[`promfleet (exit ${String(code)})`, tail(promfleet?.output() ?? '')], ['team-a', tail(teamA?.output() ?? '')], ['team-b', tail(teamB?.output() ?? '')]],
  });
}, 60_000);

describe('Prometheus 2.42 over HTTPS with credentials', () => {
  it('stores the bound group\'s samples, refuses the other group, and logs no secret', async () => {
    const pf = promfleet!;
    const c = client!;
    teamA = await startPrometheus({
      name: 'team-a', remoteWriteUrl: `${pf.url}/write`, scrapeTargets: [], scrapeIntervalS: 1,
      externalLabels: { cluster: 'team-a', __replica__: 'a' },
      remoteWriteExtra: { authorization: { credentials: TOKEN }, tls_config: { ca_file: cert } },
    });
    teamB = await startPrometheus({
      name: 'team-b', remoteWriteUrl: `${pf.url}/write`, scrapeTargets: [], scrapeIntervalS: 1,
      externalLabels: { cluster: 'team-b', __replica__: 'a' },
      remoteWriteExtra: { basic_auth: { username: 'prom', password: PASSWORD }, tls_config: { ca_file: cert } },
    });
    const count = async (cluster: string): Promise<number> => Number((await c.query(
      "SELECT count(*) AS n FROM prom.metrics WHERE name = 'up' AND labels->>'cluster' = $1", [cluster])).rows[0].n);
    await waitFor('team-a samples stored', async () => (await count('team-a')) >= 5, 45_000, 500);

    const dispatcher = new Agent({ connect: { ca: readFileSync(cert, 'utf8') } });
    try {
      await waitFor('team-b refused for its group', async () => {
        const metrics = await (await undiciFetch(`${pf.url}/metrics`, { dispatcher })).text();
        return /promfleet_auth_failures_total\{reason="group"\} [1-9]/.test(metrics);
      }, 20_000, 500);
    } finally {
      await dispatcher.close();
    }
    expect(await count('team-b')).toBe(0);
    const output = pf.output();
    expect(output).toMatch(/write refused/);
    for (const secret of [TOKEN, PASSWORD, Buffer.from(`prom:${PASSWORD}`).toString('base64')]) expect(output.includes(secret)).toBe(false);
    passed = true;
  }, 90_000);
});

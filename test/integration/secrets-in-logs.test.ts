/**
 * The real CLI at debug level, given secrets every way it takes them (PostgreSQL and Redis URLs
 * with passwords, an auth file, the admin REST token) and sent requests carrying right and
 * wrong credentials: no secret appears in anything the process prints, nor in /metrics.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeWriteRequest, snappyCompress } from '../../src/protocol/index.js';
import { startPromfleet, type PromfleetProcess } from '../helpers/promfleet.js';
import { pgUrl, uniqueName } from '../helpers/services.js';
import { deleteRedisPrefix } from '../helpers/app.js';
import { dropQueueSchema, queueFlags } from '../helpers/queue-store.js';

const SECRETS = ['pgPASS-5e1f0a', 'sslPASS-77aa01', 'authTOKEN-c3d2e1', 'restTOKEN-9b8a7c', 'wrongTOKEN-0f0f0f'];
const dir = mkdtempSync(path.join(os.tmpdir(), 'promfleet-secrets-'));
const prefix = uniqueName('pfsec');
let p: PromfleetProcess | undefined;

afterAll(async () => {
  await p?.stop();
  await deleteRedisPrefix(prefix);
  // On the postgres queue, the queue's schema is in the shared test database.
  await dropQueueSchema(prefix);
  rmSync(dir, { recursive: true, force: true });
});

describe('secrets', () => {
  it('never appear in the process output or in /metrics', async () => {
    const authFile = path.join(dir, 'auth.json');
    writeFileSync(authFile, JSON.stringify({ credentials: [{ name: 'prom', bearer_token: SECRETS[2] }] }));
    const pg = new URL(pgUrl());
    pg.password = SECRETS[0];
    pg.searchParams.set('sslpassword', SECRETS[1]);
    p = await startPromfleet('ingress', [
      `--pg.url=${pg.toString()}`, ...queueFlags(), `--queue.prefix=${prefix}`, '--log.level=debug',
      `--web.auth-file=${authFile}`, '--leader-election.rest', `--leader-election.rest-token=${SECRETS[3]}`, '--ha.group=g', '--ha.replica=r',
    ]);
    const body = snappyCompress(encodeWriteRequest({
      timeseries: [{ labels: [{ name: '__name__', value: 'up' }], samples: [{ value: 1, timestamp: Date.now() }], exemplars: [], histograms: [] }], metadata: [],
    }));
    const headers = { 'Content-Encoding': 'snappy', 'Content-Type': 'application/x-protobuf' };
    for (const token of [SECRETS[2], SECRETS[4], SECRETS[3]]) {
      const res = await fetch(`${p.url}/write`, { method: 'POST', headers: { ...headers, Authorization: `Bearer ${token}` }, body: Buffer.from(body) });
      expect(res.status).toBe(token === SECRETS[2] ? 204 : 401);
    }
    expect((await fetch(`${p.url}/admin/election/leader`, { headers: { Authorization: `Bearer ${SECRETS[4]}` } })).status).toBe(401);
    const metrics = await (await fetch(`${p.url}/metrics`)).text();
    await p.stop();
    const output = p.output();
    expect(output).toMatch(/"msg":"starting"/);
    expect(output).toMatch(/\*\*\*/);
    for (const s of SECRETS) {
      expect(output.includes(s), `${s} in the output`).toBe(false);
      expect(metrics.includes(s), `${s} in /metrics`).toBe(false);
    }
  }, 60_000);
});

/**
 * --web.auth-open-paths: with /metrics taken off the open list it needs a credential with the
 * metrics scope; /healthz, left on it, stays open for probes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteRedisPrefix, startApp, type TestApp } from '../helpers/app.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'promfleet-open-'));
let t: TestApp;

beforeAll(async () => {
  const authFile = path.join(dir, 'auth.json');
  writeFileSync(authFile, JSON.stringify({ credentials: [{ name: 'prom', bearer_token: 'writer' }, { name: 'monitor', bearer_token: 'scraper', scopes: ['metrics'] }] }));
  t = await startApp('ingress', { args: [`--web.auth-file=${authFile}`, '--web.auth-open-paths=/healthz'] });
});
afterAll(async () => {
  await t?.stop();
  await deleteRedisPrefix(t.prefix);
  rmSync(dir, { recursive: true, force: true });
});

describe('--web.auth-open-paths', () => {
  it('closes /metrics and /readyz to anyone without the metrics scope, and keeps /healthz open', async () => {
    const get = async (p: string, token?: string): Promise<number> =>
      (await fetch(`${t.url}${p}`, { headers: token ? { Authorization: `Bearer ${token}` } : {} })).status;
    expect(await get('/healthz')).toBe(200);
    expect(await get('/metrics')).toBe(401);
    expect(await get('/readyz')).toBe(401);
    expect(await get('/metrics', 'writer')).toBe(403);
    expect(await get('/metrics', 'scraper')).toBe(200);
  });
});

/** The example auth file shipped in infra/ parses, so operators can start from it. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAuthFile } from '../../src/auth/file.js';

describe('infra/auth.example.json', () => {
  it('is a valid --web.auth-file', () => {
    const creds = parseAuthFile(readFileSync(new URL('../../infra/auth.example.json', import.meta.url), 'utf8'));
    expect(creds.map((c) => c.name)).toEqual(['prometheus-team-a', 'prometheus-team-a-next', 'grafana', 'ops']);
    expect([...(creds[0].groups ?? [])]).toEqual(['team-a']);
  });
});

/**
 * PUT /admin/election/leader changes leadership only behind --leader-election.rest-token or
 * --web.auth-file, or on a listener only this host reaches.
 */
import { describe, expect, it } from 'vitest';
import { electionAdminGuarded } from '../../src/election/index.js';
import { parseConfig } from '../../src/config/index.js';

function guardedWith(args: string[]): boolean {
  const config = parseConfig(args, {});
  return electionAdminGuarded({
    listenHost: config.http.host,
    token: config.election.restToken,
    authFile: config.auth.file !== undefined,
  });
}

describe('election admin guard', () => {
  it('allows PUT on loopback listeners without a token', () => {
    for (const addr of ['127.0.0.1:9201', '[::1]:9201', 'localhost:9201', 'LOCALHOST:9201']) {
      expect(guardedWith([`--web.listen-address=${addr}`]), addr).toBe(true);
    }
  });

  it('refuses PUT on listeners other hosts can reach unless a token or an auth file is set', () => {
    for (const addr of [':9201', '0.0.0.0:9201', '[::]:9201', '10.1.2.3:9201', 'promfleet.example:9201']) {
      expect(guardedWith([`--web.listen-address=${addr}`]), addr).toBe(false);
      expect(guardedWith([`--web.listen-address=${addr}`, '--leader-election.rest-token=t']), `${addr} with token`).toBe(true);
      expect(guardedWith([`--web.listen-address=${addr}`, '--web.auth-file=/etc/promfleet/auth.json']), `${addr} with auth file`).toBe(true);
    }
  });
});

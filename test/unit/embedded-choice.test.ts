import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { chooseDatabase } from '../../src/embedded/index.js';
import { PromfleetError } from '../../src/errors.js';

describe('which PostgreSQL a process uses', () => {
  it('embeds one for "all" when no server is named, in ./promfleet-data by default', () => {
    const config = parseConfig([], {});
    expect(config.storage.serverConfigured).toBe(false);
    expect(chooseDatabase('all', config.storage)).toEqual({ kind: 'embedded', dir: './promfleet-data' });
    expect(chooseDatabase('all', parseConfig(['--storage.embedded-dir=/var/lib/pf'], {}).storage)).toEqual({ kind: 'embedded', dir: '/var/lib/pf' });
    expect(chooseDatabase('all', parseConfig([], { PROMFLEET_STORAGE_EMBEDDED_DIR: 'd' }).storage)).toEqual({ kind: 'embedded', dir: 'd' });
  });

  it('uses the named server when --pg.url, --pg.host or their variables are given', () => {
    const named: Array<[string[], NodeJS.ProcessEnv]> = [
      [['--pg.url=postgres://u@db:5432/x'], {}],
      [['--pg.host=127.0.0.1'], {}],
      [[], { PROMFLEET_PG_URL: 'postgres://u@db:5432/x' }],
      [[], { PROMFLEET_PG_HOST: 'db' }],
    ];
    for (const [argv, env] of named) {
      const config = parseConfig(argv, env);
      expect(config.storage.serverConfigured, JSON.stringify([argv, env])).toBe(true);
      for (const role of ['all', 'ingress', 'worker', 'migrate']) expect(chooseDatabase(role, config.storage)).toEqual({ kind: 'configured' });
    }
  });

  it('does not count the other --pg.* flags, nor an empty PROMFLEET_PG_HOST, as naming a server', () => {
    expect(parseConfig(['--pg.port=5433', '--pg.user=me', '--pg.database=d'], { PROMFLEET_PG_HOST: '' }).storage.serverConfigured).toBe(false);
  });

  it('refuses split roles and migrate without a server, saying how to name one', () => {
    const storage = parseConfig([], {}).storage;
    for (const role of ['ingress', 'worker', 'migrate']) {
      let caught: unknown;
      try {
        chooseDatabase(role, storage);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(PromfleetError);
      const err = caught as PromfleetError;
      expect(err.code).toBe('PG_NOT_CONFIGURED');
      expect(err.message).toContain(`"${role}" needs a PostgreSQL server`);
      expect(err.message).toContain('--pg.url');
      expect(err.message).toContain('PROMFLEET_PG_URL');
      expect(err.message).toMatch(/only "all" runs an embedded PostgreSQL/);
    }
  });

  it('refuses an empty --storage.embedded-dir', () => {
    expect(() => parseConfig(['--storage.embedded-dir='], {})).toThrow(/storage\.embedded-dir/);
  });
});

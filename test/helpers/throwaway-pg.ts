/**
 * A PostgreSQL 15 server of a test's own, on a free loopback port, in a fresh directory under
 * /tmp, so the test can stop and start it (a database outage) without touching the shared one.
 * The server runs as the `postgres` user (tests run as root), with trust authentication and its
 * socket in its own directory. destroy() stops it and removes the directory; it is idempotent.
 */
import { execFile } from 'node:child_process';
import { chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort, waitFor } from './ports.js';

const run = promisify(execFile);

export const PG_BIN = process.env.PROMFLEET_TEST_PG_BIN ?? '/usr/lib/postgresql/15/bin';

export interface ThrowawayPostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  readonly url: string;
  readonly port: number;
  /** Fast shutdown (clients are disconnected); bounded. */
  stop(): Promise<void>;
  /** Starts again on the same port and data directory; resolves once it accepts connections. */
  start(): Promise<void>;
  /** stop() and remove the directory. Idempotent. */
  destroy(): Promise<void>;
  /** The server's log so far, for failure messages. */
  log(): Promise<string>;
}

async function asPostgres(bin: string, args: string[], timeoutMs: number): Promise<void> {
  try {
    await run('runuser', ['-u', 'postgres', '--', path.join(PG_BIN, bin), ...args], { timeout: timeoutMs });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${bin} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const [u, g] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
  return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
}

async function accepts(url: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return true;
  } finally {
    await c.end().catch(() => undefined);
  }
}

export async function startThrowawayPostgres(): Promise<ThrowawayPostgres> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'promfleet-pg-'));
  const data = path.join(dir, 'data');
  const logFile = path.join(dir, 'postgres.log');
  const { uid, gid } = await postgresIds();
  await chown(dir, uid, gid);
  let destroyed: Promise<void> | undefined;
  let running = false;
  let port = 0;
  const url = () => `postgres://postgres@127.0.0.1:${port}/postgres`;

  async function pgStart(): Promise<void> {
    const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100`;
    await asPostgres('pg_ctl', ['-D', data, '-l', logFile, '-w', '-t', '60', '-o', opts, 'start'], 90_000);
    running = true;
    await waitFor(`throwaway postgres on ${port}`, () => accepts(url()), 30_000, 100);
  }

  async function pgStop(): Promise<void> {
    if (!running) return;
    await asPostgres('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop'], 90_000);
    running = false;
  }

  try {
    await asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync'], 120_000);
    // The port may be taken between probe and bind: try a few.
    let lastErr: unknown;
    for (let attempt = 0; attempt < 3 && !running; attempt++) {
      port = await freePort();
      try {
        await pgStart();
      } catch (err) {
        lastErr = err;
        await pgStop().catch(() => undefined);
      }
    }
    if (!running) throw lastErr instanceof Error ? lastErr : new Error(String(lastErr));
  } catch (err) {
    const log = await readFile(logFile, 'utf8').catch(() => '');
    await rm(dir, { recursive: true, force: true });
    throw new Error(`throwaway postgres did not start: ${(err as Error).message}\n${log}`);
  }

  return {
    get url() {
      return url();
    },
    get port() {
      return port;
    },
    stop: pgStop,
    start: async () => {
      if (!running) await pgStart();
    },
    destroy() {
      destroyed ??= (async () => {
        try {
          await pgStop().catch(async () => {
            // A fast shutdown that hangs must not leave a server behind.
            await asPostgres('pg_ctl', ['-D', data, '-m', 'immediate', '-w', '-t', '30', 'stop'], 45_000).catch(() => undefined);
          });
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      })();
      return destroyed;
    },
    log: () => readFile(logFile, 'utf8').catch(() => ''),
  };
}

/**
 * A redis-server of a test's own, on a free loopback port, with its data in a fresh directory
 * under /tmp: AOF on with `appendfsync always` and no RDB snapshots, so what it acknowledged is
 * on disk. The test can stop it (SHUTDOWN, or kill -9) and start it again on the same port and
 * directory without touching the shared Redis. destroy() stops it and removes the directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort, waitFor } from './ports.js';

export const REDIS_SERVER = process.env.PROMFLEET_TEST_REDIS_SERVER ?? 'redis-server';

export interface ThrowawayRedis {
  /** redis://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  /** Graceful (SIGTERM: the AOF is flushed); `kill` sends SIGKILL instead. Bounded. */
  stop(how?: 'graceful' | 'kill'): Promise<void>;
  /** Starts again on the same port and directory; resolves once it answers PING. */
  start(): Promise<void>;
  /** stop('kill') and remove the directory. Idempotent. */
  destroy(): Promise<void>;
  /** What the server wrote so far, for failure messages. */
  output(): string;
}

async function answers(port: number): Promise<boolean> {
  const r = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } finally {
    r.disconnect();
  }
}

export async function startThrowawayRedis(): Promise<ThrowawayRedis> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'promfleet-redis-'));
  let port = 0;
  let proc: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let out = '';
  let destroyed: Promise<void> | undefined;

  async function launch(): Promise<void> {
    const p = spawn(REDIS_SERVER, [
      '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--daemonize', 'no',
      '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--protected-mode', 'no', '--loglevel', 'notice',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc = p;
    p.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
    p.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
    exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    let gone = false;
    void exited.then(() => { gone = true; });
    try {
      await waitFor(`throwaway redis on ${port}`, async () => {
        if (gone) throw new Error(`redis-server exited:\n${out}`);
        return answers(port);
      }, 20_000, 100);
    } catch (err) {
      if (!gone) p.kill('SIGKILL');
      await exited;
      proc = undefined;
      throw err;
    }
  }

  async function stop(how: 'graceful' | 'kill' = 'graceful'): Promise<void> {
    const p = proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) { proc = undefined; return; }
    p.kill(how === 'kill' ? 'SIGKILL' : 'SIGTERM');
    const timer = setTimeout(() => p.kill('SIGKILL'), 15_000);
    try {
      await exited;
    } finally {
      clearTimeout(timer);
      proc = undefined;
    }
  }

  // The port may be taken between probe and bind: try a few.
  let lastErr: unknown;
  for (let attempt = 0; attempt < 3 && !proc; attempt++) {
    port = await freePort();
    try {
      await launch();
    } catch (err) {
      lastErr = err;
    }
  }
  if (!proc) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`throwaway redis did not start: ${lastErr instanceof Error ? lastErr.message : String(lastErr)}`);
  }

  return {
    get url() { return `redis://127.0.0.1:${port}`; },
    get port() { return port; },
    stop,
    start: async () => { if (!proc) await launch(); },
    destroy() {
      destroyed ??= (async () => {
        try {
          await stop('kill');
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      })();
      return destroyed;
    },
    output: () => out,
  };
}

/**
 * Runs the built promfleet CLI (dist/, built by `npm test` before vitest) as a separate OS
 * process on a free loopback port, and waits for /healthz.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { Agent, fetch as undiciFetch } from 'undici';
import { freePort, waitFor } from './ports.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = path.join(ROOT, 'bin/promfleet.js');

export interface PromfleetProcess {
  readonly url: string;
  readonly port: number;
  readonly proc: ChildProcess;
  /** Everything the process wrote to stdout/stderr so far. */
  output(): string;
  /** Sends the signal and waits for the exit; resolves with the exit code (or null after a kill). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
}

export interface StartOptions {
  readonly port?: number;
  /** Added to the environment. */
  readonly env?: NodeJS.ProcessEnv;
  /** The environment to start from (default: this process's). */
  readonly baseEnv?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly tlsCa?: string;
  /** How long /healthz may take to answer (ms; default 30 s). */
  readonly healthyWithinMs?: number;
}

export async function startPromfleet(role: 'all' | 'ingress' | 'worker', args: string[], opts: StartOptions = {}): Promise<PromfleetProcess> {
  const port = opts.port ?? (await freePort());
  const proc = spawn(process.execPath, [CLI, role, `--web.listen-address=127.0.0.1:${port}`, ...args], {
    env: { ...(opts.baseEnv ?? process.env), ...opts.env },
    cwd: opts.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr?.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  let done = false;
  void exited.then(() => { done = true; });
  // With --web.tls-cert, the caller passes the certificate to trust (PEM).
  const url = `${opts.tlsCa === undefined ? 'http' : 'https'}://127.0.0.1:${port}`;
  const dispatcher = opts.tlsCa === undefined ? undefined : new Agent({ connect: { ca: opts.tlsCa } });
  try {
    await waitFor(`promfleet ${role} on ${url}/healthz`, async () => {
      if (done) throw new Error(`promfleet exited early:\n${out}`);
      const res = dispatcher ? await undiciFetch(`${url}/healthz`, { dispatcher }) : await fetch(`${url}/healthz`);
      return res.ok;
    }, opts.healthyWithinMs ?? 30_000);
  } catch (err) {
    // A process that never became healthy must not outlive the test.
    if (!done) proc.kill('SIGKILL');
    throw err;
  } finally {
    await dispatcher?.close();
  }
  return {
    url, port, proc,
    output: () => out,
    async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000) {
      if (done) return proc.exitCode;
      proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** The status of GET /readyz, or 0 when nothing answers within 2 s. */
export async function readyStatus(url: string): Promise<number> {
  try {
    const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

/**
 * Child processes for the benchmarks that need a process of their own: promfleet roles (so
 * their CPU time and memory are theirs alone, read from /proc) and the peers (Prometheus,
 * VictoriaMetrics). Every child is killed at the end of its benchmark, whatever happens.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { repoRoot } from './payloads.js';

export interface Child {
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  /** User + system CPU seconds used so far (Linux /proc; NaN elsewhere). */
  cpuSeconds(): number;
  /** Resident memory now and its peak so far, bytes (Linux /proc; NaN elsewhere). */
  rssBytes(): { now: number; peak: number };
  /** The last lines it wrote to stderr (for error messages). */
  tail(): string;
  stop(): Promise<void>;
}

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const addr = srv.address();
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return typeof addr === 'object' && addr ? addr.port : 0;
}

const CLK_TCK = 100;

function procCpu(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may contain spaces) start after the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}

function procRss(pid: number): { now: number; peak: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { now: kb('VmRSS'), peak: kb('VmHWM') };
  } catch {
    return { now: NaN, peak: NaN };
  }
}

/** Starts `command args`, resolves once `ready(port)` answers true (polled), or rejects after timeoutMs. */
export async function startChild(
  name: string, command: string, args: readonly string[], port: number, ready: (port: number) => Promise<boolean>,
  timeoutMs = 60_000, env: NodeJS.ProcessEnv = process.env,
): Promise<Child> {
  const proc: ChildProcess = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], env });
  const lines: string[] = [];
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (s: string) => {
    lines.push(...s.split('\n').filter(Boolean));
    if (lines.length > 40) lines.splice(0, lines.length - 40);
  });
  let exited = false;
  const exit = new Promise<void>((resolve) => proc.once('exit', () => {
    exited = true;
    resolve();
  }));
  const child: Child = {
    name,
    pid: proc.pid ?? -1,
    port,
    cpuSeconds: () => procCpu(proc.pid ?? -1),
    rssBytes: () => procRss(proc.pid ?? -1),
    tail: () => lines.slice(-5).join('\n'),
    async stop() {
      if (exited) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exit;
      clearTimeout(t);
    },
  };
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${name} exited at start: ${child.tail()}`);
    if (await ready(port).catch(() => false)) return child;
    await new Promise((r) => setTimeout(r, 200));
  }
  await child.stop();
  throw new Error(`${name} not ready within ${timeoutMs} ms: ${child.tail()}`);
}

/** GET http://127.0.0.1:port/path answers 200. */
export async function answers200(port: number, urlPath: string): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${port}${urlPath}`, { signal: AbortSignal.timeout(2000) });
  await res.arrayBuffer();
  return res.status === 200;
}

/** `promfleet <role>` from this checkout's build, listening on a free port. */
export async function startPromfleet(role: 'ingress' | 'worker' | 'all', args: readonly string[]): Promise<Child> {
  const port = await freePort();
  const bin = path.join(repoRoot(), 'bin', 'promfleet.js');
  return startChild(`promfleet ${role}`, process.execPath, [bin, role, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn', ...args],
    port, (p) => answers200(p, '/readyz'));
}

/** The first of `names` found on PATH (or the absolute path given), else undefined. */
export function findExecutable(names: readonly string[]): string | undefined {
  const dirs = (process.env.PATH ?? '').split(path.delimiter);
  for (const n of names) {
    if (path.isAbsolute(n) && existsSync(n)) return n;
    for (const d of dirs) {
      const p = path.join(d, n);
      if (existsSync(p)) return p;
    }
  }
  return undefined;
}

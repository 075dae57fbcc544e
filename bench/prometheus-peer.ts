/**
 * Debian's Prometheus as a peer in a benchmark: started on a free loopback port with the
 * remote-write receiver on, in a temporary directory that stop() removes. Absent binary: null.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const PROMETHEUS_BIN = process.env.PROMFLEET_BENCH_PROMETHEUS_BIN ?? '/usr/bin/prometheus';

export interface PrometheusPeer {
  readonly url: string;
  readonly version: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const addr = srv.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

async function stopChild(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = once(proc, 'exit');
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Starts Prometheus as a remote-write receiver; null when the binary is not installed. */
export async function startPrometheusPeer(): Promise<PrometheusPeer | null> {
  if (!existsSync(PROMETHEUS_BIN)) return null;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'promfleet-bench-prom-'));
  const config = path.join(dir, 'prometheus.yml');
  await writeFile(config, 'global:\n  scrape_interval: 1m\nscrape_configs: []\n');
  const port = await freePort();
  const proc = spawn(PROMETHEUS_BIN, [
    `--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--web.enable-remote-write-receiver', '--log.level=warn',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  proc.stderr?.on('data', (d: Buffer) => { output = (output + d.toString()).slice(-4000); });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await stopChild(proc);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; ; i++) {
      if (proc.exitCode !== null) throw new Error(`prometheus exited: ${output}`);
      const ok = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
      if (ok) break;
      if (i >= 300) throw new Error(`prometheus not ready after 30 s: ${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const info = await fetch(`${url}/api/v1/status/buildinfo`).then((r) => r.json() as Promise<{ data?: { version?: string } }>);
    return { url, version: info.data?.version ?? 'unknown', stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Debian's Prometheus as a peer of the read benchmark: started on a free loopback port with the
 * remote-write receiver on, in a temporary directory that stop() removes. Absent binary: null.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { answers200, findExecutable, freePort, startChild } from './processes.js';

export interface PrometheusPeer {
  readonly url: string;
  readonly version: string;
  stop(): Promise<void>;
}

/** Starts Prometheus as a remote-write receiver; null when the binary is not installed. */
export async function startPrometheusPeer(): Promise<PrometheusPeer | null> {
  const bin = findExecutable([process.env.PROMFLEET_BENCH_PROMETHEUS_BIN ?? 'prometheus']);
  if (bin === undefined) return null;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'promfleet-bench-prom-'));
  try {
    const config = path.join(dir, 'prometheus.yml');
    await writeFile(config, 'global:\n  scrape_interval: 1m\n');
    const port = await freePort();
    const child = await startChild('prometheus', bin, [
      `--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`, '--web.enable-remote-write-receiver', '--log.level=warn',
    ], port, (p) => answers200(p, '/-/ready'));
    const url = `http://127.0.0.1:${port}`;
    const stop = async () => {
      await child.stop();
      await rm(dir, { recursive: true, force: true });
    };
    const info = await fetch(`${url}/api/v1/status/buildinfo`).then((r) => r.json() as Promise<{ data?: { version?: string } }>).catch(() => ({ data: undefined }));
    return { url, version: info.data?.version ?? 'unknown', stop };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

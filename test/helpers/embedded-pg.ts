/**
 * The embedded PostgreSQL as a test service: what the test run falls back to when no PostgreSQL
 * is named and none answers on 127.0.0.1:5432 (test/helpers/service-source.ts). It is promfleet's
 * own EmbeddedServer, in a temporary folder removed when it stops.
 */
import { createRequire } from 'node:module';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { EmbeddedServer, platformPackage } from '../../src/embedded/index.js';
import type { StartedService } from './service-containers.js';

/** Whether the binaries package for this platform is installed (npm skips it elsewhere). */
export function embeddedPostgresInstalled(): boolean {
  const name = platformPackage();
  if (name === undefined) return false;
  try {
    createRequire(import.meta.url).resolve(name);
    return true;
  } catch {
    return false;
  }
}

export async function startEmbeddedTestPostgres(): Promise<StartedService> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'promfleet-test-pg-'));
  // Run as root, PostgreSQL runs as the postgres OS user, which must reach the folder.
  await chmod(dir, 0o755);
  const server = new EmbeddedServer({ dir, log: pino({ level: process.env.PROMFLEET_TEST_LOG ?? 'silent' }) });
  try {
    const started = await server.start();
    return {
      url: started.connectionString,
      stop: async () => {
        await server.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Finds PostgreSQL and Redis for the whole run and puts their URLs in PROMFLEET_TEST_PG_URL and
 * PROMFLEET_TEST_REDIS_URL, in the order test/helpers/service-source.ts decides: those
 * variables; the machine's own services on their standard loopback ports; for PostgreSQL, the
 * embedded one (test/helpers/embedded-pg.ts); for Redis, a redis-server from PATH; containers (@testcontainers/postgresql,
 * @testcontainers/redis), where a Docker engine answers. With none of them the run fails:
 * integration tests are never skipped for want of a service.
 */
import net from 'node:net';
import { accessSync, constants, existsSync } from 'node:fs';
import path from 'node:path';
import { POSTGRES, REDIS, chooseServiceSource, type ServiceProbes } from './helpers/service-source.js';
import { startServiceContainer, type StartedService } from './helpers/service-containers.js';
import { embeddedPostgresInstalled, startEmbeddedTestPostgres } from './helpers/embedded-pg.js';
import { startThrowawayRedis } from './helpers/throwaway-redis.js';

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port, timeout: 1000 });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
    s.once('timeout', () => { s.destroy(); resolve(false); });
  });
}

type Stop = () => Promise<void>;

export default async function setup(): Promise<Stop> {
  const stops: Stop[] = [];
  const probes: ServiceProbes = {
    env: process.env,
    loopbackAnswers: (port) => reachable('127.0.0.1', port),
    embeddedAvailable: embeddedPostgresInstalled,
    dockerAvailable: () => existsSync('/var/run/docker.sock') || process.env.DOCKER_HOST !== undefined,
    onPath: (name) => (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir !== '' && isExecutable(path.join(dir, name))),
  };
  try {
    for (const spec of [POSTGRES, REDIS]) {
      const source = await chooseServiceSource(spec, probes);
      if (source.kind === 'binary') {
        const redis = await startThrowawayRedis();
        stops.push(() => redis.destroy());
        process.env[spec.envVar] = redis.url;
      } else if (source.kind === 'container' || source.kind === 'embedded') {
        const started: StartedService = source.kind === 'embedded' ? await startEmbeddedTestPostgres() : await startServiceContainer(spec.name);
        stops.push(() => started.stop());
        process.env[spec.envVar] = started.url;
      } else {
        process.env[spec.envVar] = source.url;
      }
    }
  } catch (err) {
    // A container already started must not outlive a run that cannot go on.
    for (const stop of stops.reverse()) await stop();
    throw err;
  }
  return async () => {
    for (const stop of stops.reverse()) await stop();
  };
}

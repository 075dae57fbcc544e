/**
 * Finds PostgreSQL and Redis for the whole run, in this order: the PROMFLEET_TEST_* variables;
 * the machine's own services on their standard loopback ports; containers, where a Docker engine
 * answers. With none of them the run fails: integration tests are never skipped for want of a service.
 */
import net from 'node:net';
import { existsSync } from 'node:fs';

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
  const dockerAvailable = existsSync('/var/run/docker.sock') || process.env.DOCKER_HOST !== undefined;
  if (!process.env.PROMFLEET_TEST_PG_URL) {
    if (await reachable('127.0.0.1', 5432)) {
      process.env.PROMFLEET_TEST_PG_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
    } else if (dockerAvailable) {
      const { GenericContainer, Wait } = await import('testcontainers');
      const c = await new GenericContainer('postgres:15')
        .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: 'trust' })
        .withExposedPorts(5432)
        .withWaitStrategy(Wait.forLogMessage(/ready to accept connections/, 2))
        .start();
      process.env.PROMFLEET_TEST_PG_URL = `postgres://postgres@${c.getHost()}:${c.getMappedPort(5432)}/postgres`;
      stops.push(async () => { await c.stop(); });
    } else {
      throw new Error('no PostgreSQL: set PROMFLEET_TEST_PG_URL, run one on 127.0.0.1:5432, or provide Docker');
    }
  }
  if (!process.env.PROMFLEET_TEST_REDIS_URL) {
    if (await reachable('127.0.0.1', 6379)) {
      process.env.PROMFLEET_TEST_REDIS_URL = 'redis://127.0.0.1:6379';
    } else if (dockerAvailable) {
      const { GenericContainer } = await import('testcontainers');
      const c = await new GenericContainer('redis:7').withExposedPorts(6379).start();
      process.env.PROMFLEET_TEST_REDIS_URL = `redis://${c.getHost()}:${c.getMappedPort(6379)}`;
      stops.push(async () => { await c.stop(); });
    } else {
      throw new Error('no Redis: set PROMFLEET_TEST_REDIS_URL, run one on 127.0.0.1:6379, or provide Docker');
    }
  }
  return async () => {
    for (const stop of stops.reverse()) await stop();
  };
}

/**
 * PostgreSQL and Redis in containers, the last of the sources test/helpers/service-source.ts
 * picks from: started through @testcontainers/postgresql and @testcontainers/redis, which wait
 * until the service accepts connections and hand back its URL. Loaded only when a container
 * is needed, so a machine without Docker never touches these modules at run time.
 */
import type { ServiceName } from './service-source.js';

/** The images: the oldest PostgreSQL major promfleet supports here, and Redis 7. */
export const POSTGRES_IMAGE = 'postgres:15';
export const REDIS_IMAGE = 'redis:7';

export interface StartedService {
  readonly url: string;
  stop(): Promise<void>;
}

export async function startServiceContainer(name: ServiceName): Promise<StartedService> {
  if (name === 'PostgreSQL') {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    // The same superuser and database as the loopback server, so tests see one shape of URL.
    const c = await new PostgreSqlContainer(POSTGRES_IMAGE).withUsername('postgres').withDatabase('postgres').start();
    return { url: c.getConnectionUri(), stop: async () => { await c.stop(); } };
  }
  const { RedisContainer } = await import('@testcontainers/redis');
  const c = await new RedisContainer(REDIS_IMAGE).start();
  return { url: c.getConnectionUrl(), stop: async () => { await c.stop(); } };
}

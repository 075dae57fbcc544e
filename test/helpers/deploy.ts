/**
 * What the deployment files (docker-compose.yml, infra/k8s) ask of promfleet, read through
 * promfleet's own flag parser, so that a flag, variable, port or path that promfleet does not
 * have fails a test instead of a deployment.
 */
import { existsSync, readFileSync } from 'node:fs';
import { pino } from 'pino';
import { createApp, type ServiceRole } from '../../src/app.js';
import { FLAGS, ROLES, envName, parseConfig, type Config, type Role } from '../../src/config/index.js';

export const repoFile = (path: string): URL => new URL(`../../${path}`, import.meta.url);
export const readRepoFile = (path: string): string => readFileSync(repoFile(path), 'utf8');
export const repoFileExists = (path: string): boolean => existsSync(repoFile(path));

const pkg = JSON.parse(readRepoFile('package.json')) as { version: string };

/** The image every deployment runs: what `docker build -t promfleet:<version> .` makes. */
export const PROMFLEET_IMAGE = `promfleet:${pkg.version}`;

/** An image reference whose repository is promfleet's, whatever registry or tag it names. */
export function isPromfleetImage(image: string): boolean {
  const repo = image.replace(/[@:][^/]*$/, '');
  return repo === 'promfleet' || repo.endsWith('/promfleet');
}

/** The HTTP paths a probe may use, as the HTTP listener of every role serves them. */
export const PROBE_PATHS = ['/healthz', '/readyz'] as const;

/** One promfleet container as a deployment file describes it. */
export interface PromfleetContainer {
  /** Where it is declared, for failure messages. */
  readonly where: string;
  /** Command-line arguments after the entrypoint: the role, then flags. */
  readonly args: readonly string[];
  /** Environment variables with literal values. */
  readonly env: Readonly<Record<string, string>>;
  /** Environment variables whose values come from elsewhere (a Secret). */
  readonly envFromElsewhere?: readonly string[];
}

export interface ParsedContainer {
  readonly role: Role;
  readonly config: Config;
}

const flagEnvNames = new Set(Object.keys(FLAGS).map(envName));

/**
 * The container's role and configuration, parsed as promfleet parses them at start-up: an
 * unknown flag, a bad value, a cross-setting rule or a variable that is no flag throws, naming
 * the container.
 */
export function parseContainer(c: PromfleetContainer): ParsedContainer {
  const [role, ...flags] = c.args;
  if (!(ROLES as readonly string[]).includes(role)) throw new Error(`${c.where}: first argument "${role}" is not a promfleet command (${ROLES.join(', ')})`);
  for (const name of [...Object.keys(c.env), ...(c.envFromElsewhere ?? [])]) {
    if (!flagEnvNames.has(name)) throw new Error(`${c.where}: environment variable ${name} is not the variable of any promfleet flag`);
  }
  try {
    return { role: role as Role, config: parseConfig(flags, { ...c.env }) };
  } catch (err) {
    throw new Error(`${c.where}: ${(err as Error).message}`);
  }
}

export const listenPort = (config: Config): number => config.http.port;

/**
 * The methods each path allows on a real listener of the given role and configuration, empty
 * for a path it does not serve. The listener binds 127.0.0.1:0 and only the HTTP server is
 * started (no queue, database or election): each path is asked with a method no route has, so
 * the answer is 405 with an Allow header, or 404.
 */
export async function allowedMethods(role: ServiceRole, config: Config, paths: readonly string[]): Promise<Map<string, string[]>> {
  const local: Config = Object.freeze({ ...config, http: { ...config.http, host: '127.0.0.1', port: 0 } });
  const app = createApp(role, local, pino({ level: 'silent' }));
  await app.server.start();
  const out = new Map<string, string[]>();
  try {
    for (const path of paths) {
      const res = await fetch(`http://127.0.0.1:${app.server.port}${path}`, { method: 'PATCH' });
      await res.arrayBuffer();
      if (res.status === 404) out.set(path, []);
      else if (res.status === 405) out.set(path, (res.headers.get('allow') ?? '').split(/,\s*/).filter(Boolean));
      else throw new Error(`PATCH ${path} answered ${res.status}; expected 404 or 405`);
    }
  } finally {
    await app.stop();
  }
  return out;
}

/** "host:port" of a redis:// URL (6379 when it names none). */
export function redisAddress(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || '6379'}`;
}

/**
 * docker-compose.yml against promfleet itself: no Docker engine is needed to see that every
 * image, flag, variable, port, path and label the demo uses is one promfleet has.
 */
import { describe, expect, it } from 'vitest';
import type { ServiceRole } from '../../src/app.js';
import { PROBE_PATHS, PROMFLEET_IMAGE, allowedMethods, listenPort, parseContainer, readRepoFile, redisAddress, repoFileExists, type ParsedContainer } from '../helpers/deploy.js';
import { asContainer, composeServices, promfleetServices, type ComposeService } from '../helpers/compose.js';
import { arr, obj, optArr, optObj, readYaml, str } from '../helpers/yaml-access.js';

const services = composeServices();
const promfleet = promfleetServices(services);
const parsed = new Map<string, ParsedContainer>(promfleet.map((s) => [s.name, parseContainer(asContainer(s))]));
const get = (name: string): ParsedContainer => {
  const p = parsed.get(name);
  if (!p) throw new Error(`${name} is not a promfleet service of docker-compose.yml`);
  return p;
};
const replicas = (s: ComposeService): number => Number(optObj(s.node.deploy, `${s.name} deploy`).replicas ?? 1);
const prometheuses = [...services.values()].filter((s) => s.image?.startsWith('prom/prometheus:'));

describe('docker-compose.yml', () => {
  it('runs promfleet from the image the Dockerfile builds', () => {
    expect(repoFileExists('Dockerfile')).toBe(true);
    expect(promfleet.length).toBeGreaterThan(0);
    for (const s of promfleet) {
      const build = s.node.build;
      expect(typeof build === 'string' ? build : optObj(build, s.name).context, s.name).toBe('.');
      expect(s.image, s.name).toBe(PROMFLEET_IMAGE);
    }
  });

  it('gives every promfleet container only flags and variables of promfleet, with valid values', () => {
    // parseContainer throws on an unknown flag or variable and on a value promfleet refuses.
    for (const s of promfleet) expect(get(s.name).role, s.name).toMatch(/^(ingress|worker|all)$/);
    expect(promfleet.filter((s) => get(s.name).role === 'ingress').length).toBeGreaterThanOrEqual(2);
    expect(promfleet.filter((s) => get(s.name).role === 'worker').reduce((n, s) => n + replicas(s), 0)).toBeGreaterThanOrEqual(2);
  });

  it('exposes and probes the port promfleet listens on, on paths promfleet serves', async () => {
    for (const s of promfleet) {
      const { role, config } = get(s.name);
      expect(s.containerPorts.length, s.name).toBeGreaterThan(0);
      for (const port of s.containerPorts) expect(port, `${s.name} port`).toBe(listenPort(config));
      const test = optArr(optObj(s.node.healthcheck, `${s.name} healthcheck`).test, `${s.name} healthcheck test`).join(' ');
      const urls = [...test.matchAll(/http:\/\/(?:127\.0\.0\.1|localhost):(\d+)(\/[\w/-]*)/g)];
      expect(urls.length, `${s.name} healthcheck`).toBeGreaterThan(0);
      const methods = await allowedMethods(role as ServiceRole, config, urls.map((u) => u[2]));
      for (const [, port, path] of urls) {
        expect(Number(port), `${s.name} healthcheck port`).toBe(listenPort(config));
        expect(PROBE_PATHS, `${s.name} healthcheck path`).toContain(path);
        expect(methods.get(path), `${s.name} GET ${path}`).toContain('GET');
      }
    }
  });

  it('connects promfleet to the demo PostgreSQL and Redis', () => {
    for (const s of promfleet) {
      const { config } = get(s.name);
      const pgUrl = new URL(config.storage.connectionString);
      const db = services.get(pgUrl.hostname);
      expect(db?.image, `${s.name} PostgreSQL host`).toMatch(/^timescale\/timescaledb:/);
      expect(Number(pgUrl.port || '5432')).toBe(5432);
      expect(decodeURIComponent(pgUrl.username)).toBe(db?.environment.POSTGRES_USER ?? 'postgres');
      expect(decodeURIComponent(pgUrl.password)).toBe(db?.environment.POSTGRES_PASSWORD);
      expect(pgUrl.pathname.slice(1)).toBe(db?.environment.POSTGRES_DB ?? 'postgres');

      const [host, port] = redisAddress(config.queue.redisUrl).split(':');
      expect(services.get(host)?.command[0], `${s.name} Redis host`).toBe('redis-server');
      expect(port).toBe(/^port (\d+)$/m.exec(readRepoFile('infra/redis.conf'))?.[1]);
    }
  });

  it('runs Redis with infra/redis.conf: AOF fsynced every second, no eviction', () => {
    const redis = [...services.values()].filter((s) => s.command[0] === 'redis-server');
    expect(redis).toHaveLength(1);
    const [r] = redis;
    expect(r.command[1]).toBe(r.mounts.get('infra/redis.conf'));
    const conf = readRepoFile('infra/redis.conf');
    expect(conf).toMatch(/^appendonly yes$/m);
    expect(conf).toMatch(/^appendfsync everysec$/m);
    expect(conf).toMatch(/^maxmemory-policy noeviction$/m);
    for (const setting of ['--appendonly', '--appendfsync', '--maxmemory-policy']) expect(r.command).not.toContain(setting);
  });

  it('points each Prometheus replica at an ingress of its own, on write/read paths and HA labels promfleet uses', async () => {
    expect(prometheuses.length).toBeGreaterThanOrEqual(2);
    const replicasByGroup = new Map<string, Set<string>>();
    const ingresses = new Set<string>();
    for (const p of prometheuses) {
      const configArg = p.command.find((a) => a.startsWith('--config.file='))?.slice('--config.file='.length);
      const file = [...p.mounts].find(([, target]) => target === configArg)?.[0];
      expect(file, `${p.name} config file mounted from the repository`).toMatch(/^infra\//);
      const cfg = obj(readYaml(file as string), file as string);
      const write = arr(cfg.remote_write, `${file} remote_write`).map((w) => new URL(str(obj(w, file as string).url, `${file} url`)));
      const read = optArr(cfg.remote_read, `${file} remote_read`).map((r) => new URL(str(obj(r, file as string).url, `${file} url`)));
      expect(write.length, file).toBeGreaterThan(0);
      for (const [url, paths] of [...write.map((u) => [u, ['/write', '/api/v1/write']] as const), ...read.map((u) => [u, ['/read', '/api/v1/read']] as const)]) {
        const target = parsed.get(url.hostname);
        expect(target, `${file}: ${url} names no promfleet service`).toBeDefined();
        const { role, config } = target as ParsedContainer;
        expect(role, `${url}`).toMatch(/^(ingress|all)$/);
        expect(Number(url.port || '80'), `${url} port`).toBe(listenPort(config));
        expect(paths, `${url} path`).toContain(url.pathname);
        expect((await allowedMethods(role as ServiceRole, config, [url.pathname])).get(url.pathname), `POST ${url}`).toContain('POST');
        if (paths[0] === '/write') {
          expect(config.ingress.readOnly, `${url} is read-only`).toBe(false);
          const labels = optObj(optObj(cfg.global, `${file} global`).external_labels, `${file} external_labels`);
          const group = labels[config.ingress.ha.clusterLabel];
          const replica = labels[config.ingress.ha.replicaLabel];
          expect(group, `${file}: external label ${config.ingress.ha.clusterLabel} (--ha.cluster-label)`).toBeDefined();
          expect(replica, `${file}: external label ${config.ingress.ha.replicaLabel} (--ha.replica-label)`).toBeDefined();
          const seen = replicasByGroup.get(str(group, file as string)) ?? new Set<string>();
          expect(seen.has(str(replica, file as string)), `${file}: replica ${String(replica)} twice`).toBe(false);
          replicasByGroup.set(str(group, file as string), seen.add(str(replica, file as string)));
          expect(ingresses.has(url.hostname), `${url.hostname} serves two replicas`).toBe(false);
          ingresses.add(url.hostname);
        }
      }
      await checkScrapeTargets(cfg, file as string);
    }
    expect([...replicasByGroup.values()].some((r) => r.size >= 2)).toBe(true);
  });

  it('mounts repository files that exist and depends on services that exist', () => {
    for (const s of services.values()) {
      for (const file of s.mounts.keys()) expect(repoFileExists(file), `${s.name} mounts ./${file}`).toBe(true);
      for (const d of s.dependsOn) expect(services.has(d), `${s.name} depends on ${d}`).toBe(true);
    }
    expect([...services.values()].some((s) => s.image?.startsWith('prom/node-exporter:'))).toBe(true);
  });

  it('pins every image to a version', () => {
    for (const s of services.values()) {
      expect(s.image, `${s.name} image`).toMatch(/^[\w./-]+:(?!latest$)[\w.-]+$/);
    }
  });

  it('mounts the Grafana dashboard where its provisioning looks for dashboards', () => {
    const grafana = [...services.values()].find((s) => s.mounts.has('infra/grafana/promfleet.json'));
    const target = grafana?.mounts.get('infra/grafana/promfleet.json') ?? '';
    const provisioning = grafana?.mounts.get('infra/grafana/provisioning');
    expect(provisioning).toBe('/etc/grafana/provisioning');
    const providers = arr(obj(readYaml('infra/grafana/provisioning/dashboards/promfleet.yml'), 'dashboards').providers, 'providers');
    const paths = providers.map((p) => str(obj(obj(p, 'provider').options, 'options').path, 'options.path'));
    expect(paths).toContain(target.slice(0, target.lastIndexOf('/')));
    const sources = arr(obj(readYaml('infra/grafana/provisioning/datasources/prometheus.yml'), 'datasources').datasources, 'datasources');
    for (const d of sources) {
      const url = new URL(str(obj(d, 'datasource').url, 'url'));
      expect(prometheuses.map((p) => p.name), `data source ${url}`).toContain(url.hostname);
      expect(services.get(url.hostname)?.containerPorts).toContain(Number(url.port));
    }
  });
});

/** Scrape targets name compose services, on the port each one listens on. */
async function checkScrapeTargets(cfg: Record<string, unknown>, file: string): Promise<void> {
  for (const job of optArr(cfg.scrape_configs, `${file} scrape_configs`)) {
    const j = obj(job, file);
    const targets: [string, number][] = [];
    for (const sc of optArr(j.static_configs, `${file} static_configs`)) {
      for (const t of arr(obj(sc, file).targets, `${file} targets`)) {
        const [host, port] = str(t, file).split(':');
        targets.push([host, Number(port)]);
      }
    }
    for (const dns of optArr(j.dns_sd_configs, `${file} dns_sd_configs`)) {
      const d = obj(dns, file);
      for (const n of arr(d.names, `${file} names`)) targets.push([str(n, file), Number(d.port)]);
    }
    expect(targets.length, `${file} job ${String(j.job_name)}`).toBeGreaterThan(0);
    for (const [host, port] of targets) {
      const service = services.get(host);
      expect(service, `${file}: target ${host}`).toBeDefined();
      const p = parsed.get(host);
      if (p) {
        expect(port, `${file}: ${host} port`).toBe(listenPort(p.config));
        const path = str(j.metrics_path ?? '/metrics', file);
        expect((await allowedMethods(p.role as ServiceRole, p.config, [path])).get(path), `${file}: GET ${host}${path}`).toContain('GET');
      } else {
        expect(service?.containerPorts, `${file}: ${host}:${port}`).toContain(port);
      }
    }
  }
}

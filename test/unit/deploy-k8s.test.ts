/**
 * infra/k8s/*.yaml against promfleet itself: images, flags, variables, ports, probe paths,
 * selectors, the shutdown deadline and KEDA's Redis key all agree with what promfleet has.
 */
import { describe, expect, it } from 'vitest';
import type { ServiceRole } from '../../src/app.js';
import { readyJobsKey } from '../../src/queue/index.js';
import { PROBE_PATHS, PROMFLEET_IMAGE, allowedMethods, listenPort, parseContainer, redisAddress, type ParsedContainer } from '../helpers/deploy.js';
import { dockerfileUser } from '../helpers/dockerfile.js';
import { containerPort, k8sObjects, ofKind, podLabels, podSpec, promfleetContainers, selects, type K8sContainer, type K8sObject } from '../helpers/k8s.js';
import { arr, obj, optObj, str } from '../helpers/yaml-access.js';

const objects = k8sObjects();
const containers = promfleetContainers(objects);
const parsed = new Map<K8sContainer, ParsedContainer>(containers.map((c) => [c, parseContainer(c)]));
const conf = (c: K8sContainer): ParsedContainer => parsed.get(c) as ParsedContainer;
const byRole = (role: string): K8sContainer[] => containers.filter((c) => conf(c).role === role);
const deploymentsSelected = (selector: Record<string, unknown>): K8sObject[] => ofKind(objects, 'Deployment').filter((d) => selects(selector, podLabels(d)));

describe('Kubernetes manifests', () => {
  it('hold the objects an operator applies', () => {
    for (const kind of ['ConfigMap', 'Deployment', 'Service', 'ScaledObject', 'PodDisruptionBudget']) {
      expect(ofKind(objects, kind).length, kind).toBeGreaterThan(0);
    }
    expect(byRole('ingress').length).toBeGreaterThan(0);
    expect(byRole('worker').length).toBeGreaterThan(0);
  });

  it('run the image the Dockerfile builds, as its unprivileged user', () => {
    const { uid } = dockerfileUser();
    for (const c of containers) {
      expect(c.image, c.where).toBe(PROMFLEET_IMAGE);
      const sc = optObj(podSpec(c.deployment).securityContext, `${c.where} securityContext`);
      expect(sc.runAsNonRoot, c.where).toBe(true);
      expect(sc.runAsUser ?? uid, c.where).toBe(uid);
    }
  });

  it('give promfleet only its own flags and variables, with valid values', () => {
    // parseContainer throws on an unknown flag or variable and on a value promfleet refuses.
    for (const c of containers) expect(conf(c).role, c.where).toMatch(/^(ingress|worker|all)$/);
    const [configMap] = ofKind(objects, 'ConfigMap');
    expect(Object.keys(optObj(configMap.node.data, 'data')).length).toBeGreaterThan(0);
  });

  it('probe /healthz (liveness) and /readyz (readiness) on the port promfleet listens on', async () => {
    for (const c of containers) {
      const { role, config } = conf(c);
      const port = containerPort(c.node, 'http', c.where);
      expect(port, `${c.where} port "http"`).toBe(listenPort(config));
      const probes = { livenessProbe: '/healthz', readinessProbe: '/readyz' } as const;
      const methods = await allowedMethods(role as ServiceRole, config, [...PROBE_PATHS, '/metrics']);
      for (const [probe, path] of Object.entries(probes)) {
        const get = obj(obj(c.node[probe], `${c.where} ${probe}`).httpGet, `${c.where} ${probe}.httpGet`);
        expect(get.path, `${c.where} ${probe}`).toBe(path);
        expect(containerPort(c.node, get.port, c.where), `${c.where} ${probe} port`).toBe(listenPort(config));
        expect(methods.get(path), `${c.where} GET ${path}`).toContain('GET');
      }
      const annotations = optObj(obj(obj(c.deployment.node.spec, 'spec').template, 'template').metadata, 'metadata').annotations;
      const scrape = optObj(annotations, `${c.where} annotations`);
      if (scrape['prometheus.io/port'] !== undefined) expect(Number(scrape['prometheus.io/port']), c.where).toBe(listenPort(config));
      if (scrape['prometheus.io/path'] !== undefined) expect(methods.get(str(scrape['prometheus.io/path'], c.where))).toContain('GET');
    }
  });

  it('leave SIGTERM time to drain: the grace period exceeds --shutdown.timeout', () => {
    for (const c of containers) {
      const grace = Number(podSpec(c.deployment).terminationGracePeriodSeconds ?? 30);
      expect(grace * 1000, c.where).toBeGreaterThan(conf(c).config.shutdown.timeoutMs);
    }
  });

  it('route the Service to the ingress pods, on the port they listen on', async () => {
    for (const svc of ofKind(objects, 'Service')) {
      const spec = obj(svc.node.spec, `Service ${svc.name} spec`);
      const targets = deploymentsSelected(obj(spec.selector, `Service ${svc.name} selector`));
      expect(targets.map((d) => d.name), `Service ${svc.name} selects`).toHaveLength(1);
      const pods = containers.filter((c) => c.deployment === targets[0]);
      expect(pods.map((c) => conf(c).role), `Service ${svc.name}`).toEqual(['ingress']);
      const { config } = conf(pods[0]);
      expect((await allowedMethods('ingress', config, ['/write', '/read'])).get('/write')).toContain('POST');
      for (const p of arr(spec.ports, `Service ${svc.name} ports`)) {
        const port = obj(p, `Service ${svc.name} port`);
        expect(containerPort(pods[0].node, port.targetPort ?? port.port, svc.name), `Service ${svc.name} targetPort`).toBe(listenPort(config));
      }
    }
  });

  it('cover the ingress and the worker pods with one PodDisruptionBudget each', () => {
    const covered = ofKind(objects, 'PodDisruptionBudget').map((pdb) => {
      const spec = obj(pdb.node.spec, `PDB ${pdb.name} spec`);
      const selected = deploymentsSelected(obj(obj(spec.selector, `PDB ${pdb.name} selector`).matchLabels, `PDB ${pdb.name} matchLabels`));
      expect(selected, `PDB ${pdb.name} selects one Deployment`).toHaveLength(1);
      // Workers may be scaled to zero: a budget in minAvailable would block every drain then.
      expect(spec.maxUnavailable, `PDB ${pdb.name}`).toBeDefined();
      return selected[0].name;
    });
    const deployments = [...new Set(containers.filter((c) => ['ingress', 'worker'].includes(conf(c).role)).map((c) => c.deployment.name))];
    expect(covered.sort()).toEqual(deployments.sort());
  });

  it('scale workers with KEDA on the ready-jobs set, with one trigger, down to zero', () => {
    const [so] = ofKind(objects, 'ScaledObject');
    const spec = obj(so.node.spec, 'ScaledObject spec');
    const target = str(obj(spec.scaleTargetRef, 'scaleTargetRef').name, 'scaleTargetRef.name');
    const workers = byRole('worker').filter((c) => c.deployment.name === target);
    expect(workers.length, `scaleTargetRef ${target} is a worker Deployment`).toBeGreaterThan(0);
    expect(spec.minReplicaCount).toBe(0);
    const { config } = conf(workers[0]);
    const triggers = arr(spec.triggers, 'triggers').map((t, i) => obj(t, `trigger ${i}`));
    // One trigger whatever the HA groups: no line per group, no follower list holding workers up.
    expect(triggers).toHaveLength(1);
    const [trigger] = triggers;
    expect(trigger.type).toBe('redis');
    const meta = obj(trigger.metadata, 'trigger metadata');
    expect(meta.address).toBe(redisAddress(config.queue.redisUrl));
    expect(meta.listName, 'the set the ingresses keep (src/queue/ready-jobs.ts)').toBe(readyJobsKey(config.queue.queuePrefix));
    const listLength = Number(meta.listLength);
    expect(listLength).toBeGreaterThan(0);
    // The per-queue cap must not hide load KEDA would still scale on.
    expect(listLength * Number(spec.maxReplicaCount)).toBeLessThanOrEqual(config.queue.readyJobs.max);
    for (const c of byRole('ingress')) expect(conf(c).config.queue.readyJobs.intervalMs, `${c.where} keeps the set`).toBeGreaterThan(0);

    // The Redis password comes from a Secret through a TriggerAuthentication.
    const ref = str(obj(trigger.authenticationRef, 'authenticationRef').name, 'authenticationRef.name');
    const auth = ofKind(objects, 'TriggerAuthentication').find((a) => a.name === ref);
    expect(auth, `TriggerAuthentication ${ref}`).toBeDefined();
    const secrets = arr(obj(auth?.node.spec, 'TriggerAuthentication spec').secretTargetRef, 'secretTargetRef').map((x) => obj(x, 'secretTargetRef entry'));
    expect(secrets.map((x) => x.parameter)).toEqual(['password']);
    expect(str(secrets[0].name, 'secret name').length).toBeGreaterThan(0);
    expect(str(secrets[0].key, 'secret key').length).toBeGreaterThan(0);
  });
});

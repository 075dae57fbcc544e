/**
 * infra/k8s/*.yaml against promfleet itself: images, flags, variables, ports, probe paths,
 * selectors, the shutdown deadline and KEDA's Redis list names all agree with what promfleet
 * has and how BullMQ names its keys.
 */
import { describe, expect, it } from 'vitest';
import { QueueKeys } from 'bullmq';
import type { ServiceRole } from '../../src/app.js';
import { DEFAULT_QUEUE, parseQueueName, queueName } from '../../src/queue/index.js';
import { PROBE_PATHS, PROMFLEET_IMAGE, allowedMethods, listenPort, parseContainer, redisAddress, type ParsedContainer } from '../helpers/deploy.js';
import { dockerfileUser } from '../helpers/dockerfile.js';
import { containerPort, k8sObjects, ofKind, podLabels, podSpec, promfleetContainers, selects, type K8sContainer, type K8sObject } from '../helpers/k8s.js';
import { arr, obj, optObj, str } from '../helpers/yaml-access.js';
import { examplePrometheusIdentities } from '../helpers/prometheus-config.js';

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

  it('scale workers with KEDA on the BullMQ wait lists of promfleet\'s queues, down to zero', () => {
    const [so] = ofKind(objects, 'ScaledObject');
    const spec = obj(so.node.spec, 'ScaledObject spec');
    const target = str(obj(spec.scaleTargetRef, 'scaleTargetRef').name, 'scaleTargetRef.name');
    const workers = byRole('worker').filter((c) => c.deployment.name === target);
    expect(workers.length, `scaleTargetRef ${target} is a worker Deployment`).toBeGreaterThan(0);
    expect(spec.minReplicaCount).toBe(0);
    const { config } = conf(workers[0]);
    const queues = arr(spec.triggers, 'triggers').map((t, i) => {
      const trigger = obj(t, `trigger ${i}`);
      expect(trigger.type, `trigger ${i}`).toBe('redis');
      const meta = obj(trigger.metadata, `trigger ${i} metadata`);
      expect(meta.address, `trigger ${i} address`).toBe(redisAddress(config.queue.redisUrl));
      const list = str(meta.listName, `trigger ${i} listName`);
      const prefix = `${config.queue.queuePrefix}:`;
      expect(list.startsWith(prefix), `${list} starts with --queue.prefix`).toBe(true);
      const queue = list.slice(prefix.length).replace(/:wait$/, '');
      expect(new QueueKeys(config.queue.queuePrefix).getKeys(queue).wait, 'BullMQ wait list key').toBe(list);
      const id = parseQueueName(queue);
      expect(id, `${list}: "${queue}" is not a promfleet write queue name`).toBeDefined();
      expect(queueName(id ?? { group: undefined, replica: undefined }), `${queue} is spelt as promfleet spells it`).toBe(queue);
      expect(Number(meta.listLength), `trigger ${i} listLength`).toBeGreaterThan(0);
      return id ?? { group: undefined, replica: undefined };
    });
    // The example Prometheus pair (infra/prometheus, also the compose demo's) is the one whose queues are listed.
    const pair = examplePrometheusIdentities(config.ingress.ha.clusterLabel, config.ingress.ha.replicaLabel);
    expect(pair.length).toBeGreaterThanOrEqual(2);
    const expected = [DEFAULT_QUEUE, ...pair.map((id) => queueName(id))].sort();
    expect(queues.map((q) => queueName(q)).sort(), 'one trigger per replica queue of the example pair, and {default}').toEqual(expected);
  });
});

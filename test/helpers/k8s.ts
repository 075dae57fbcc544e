/** infra/k8s/*.yaml, read as Kubernetes objects, with promfleet's containers resolved (env, envFrom). */
import { readdirSync } from 'node:fs';
import { isPromfleetImage, repoFile, type PromfleetContainer } from './deploy.js';
import { arr, obj, optArr, optObj, readYamlDocuments, str, words, type Node } from './yaml-access.js';

export interface K8sObject {
  readonly file: string;
  readonly kind: string;
  readonly name: string;
  readonly node: Node;
}

export interface K8sContainer extends PromfleetContainer {
  readonly deployment: K8sObject;
  readonly node: Node;
  readonly image: string;
}

export function k8sObjects(dir = 'infra/k8s'): K8sObject[] {
  const files = readdirSync(repoFile(dir)).filter((f) => /\.ya?ml$/.test(f)).sort();
  return files.flatMap((f) => readYamlDocuments(`${dir}/${f}`).map((node) => ({
    file: `${dir}/${f}`,
    kind: str(node.kind, `${dir}/${f} kind`),
    name: str(obj(node.metadata, `${dir}/${f} metadata`).name, `${dir}/${f} metadata.name`),
    node,
  })));
}

export const ofKind = (objects: K8sObject[], kind: string): K8sObject[] => objects.filter((o) => o.kind === kind);

export function podSpec(d: K8sObject): Node {
  return obj(obj(obj(d.node.spec, `${d.name} spec`).template, `${d.name} template`).spec, `${d.name} pod spec`);
}

export function podLabels(d: K8sObject): Record<string, string> {
  const meta = obj(obj(obj(d.node.spec, `${d.name} spec`).template, `${d.name} template`).metadata, `${d.name} template metadata`);
  return Object.fromEntries(Object.entries(optObj(meta.labels, `${d.name} labels`)).map(([k, v]) => [k, str(v, k)]));
}

/** True when every key of the selector has the same value among the labels. */
export function selects(selector: Record<string, unknown>, labels: Record<string, string>): boolean {
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === v);
}

/**
 * The promfleet containers of every Deployment, with their environment: literal `env` values,
 * every key of the ConfigMaps named in `envFrom` (which must be among the manifests), and the
 * names of variables whose values come from a Secret.
 */
export function promfleetContainers(objects: K8sObject[]): K8sContainer[] {
  const configMaps = new Map(ofKind(objects, 'ConfigMap').map((c) => [c.name, optObj(c.node.data, `ConfigMap ${c.name} data`)]));
  return ofKind(objects, 'Deployment').flatMap((d) => arr(podSpec(d).containers, `${d.name} containers`).flatMap((raw) => {
    const c = obj(raw, `${d.name} container`);
    const where = `${d.file} Deployment ${d.name} container ${String(c.name)}`;
    const image = str(c.image, `${where} image`);
    if (!isPromfleetImage(image)) return [];
    const env: Record<string, string> = {};
    const envFromElsewhere: string[] = [];
    for (const from of optArr(c.envFrom, `${where} envFrom`)) {
      const f = obj(from, `${where} envFrom`);
      if (f.configMapRef === undefined) throw new Error(`${where}: envFrom other than a configMapRef cannot be checked; use env with secretKeyRef`);
      const name = str(obj(f.configMapRef, `${where} configMapRef`).name, `${where} configMapRef.name`);
      const data = configMaps.get(name);
      if (!data) throw new Error(`${where}: ConfigMap ${name} is not in the manifests`);
      for (const [k, v] of Object.entries(data)) env[k] = str(v, `ConfigMap ${name} ${k}`);
    }
    for (const e of optArr(c.env, `${where} env`)) {
      const item = obj(e, `${where} env`);
      const name = str(item.name, `${where} env name`);
      if (item.value !== undefined) env[name] = str(item.value, `${where} env ${name}`);
      else envFromElsewhere.push(name);
    }
    // The image's entrypoint is promfleet; a container's args start with the role.
    if (c.command !== undefined) throw new Error(`${where}: command replaces the image's promfleet entrypoint; use args`);
    const args = words(c.args ?? [], `${where} args`);
    return [{ where, deployment: d, node: c, image, args, env, envFromElsewhere }];
  }));
}

/** A container port by number or by name. */
export function containerPort(c: Node, port: unknown, where: string): number | undefined {
  for (const p of optArr(c.ports, `${where} ports`)) {
    const cp = obj(p, `${where} port`);
    if (port === cp.name || Number(port) === Number(cp.containerPort)) return Number(cp.containerPort);
  }
  return undefined;
}

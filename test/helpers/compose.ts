/** docker-compose.yml, read as the demo's services: promfleet containers, mounts, ports. */
import { isPromfleetImage, type PromfleetContainer } from './deploy.js';
import { obj, optArr, optObj, readYaml, str, words, type Node } from './yaml-access.js';

export interface ComposeService {
  readonly name: string;
  readonly node: Node;
  readonly image: string | undefined;
  readonly command: string[];
  readonly environment: Record<string, string>;
  /** Bind mounts of repository files: host path (relative to the repository) → container path. */
  readonly mounts: Map<string, string>;
  /** Container ports the service exposes or publishes. */
  readonly containerPorts: number[];
  readonly dependsOn: string[];
}

export function composeServices(path = 'docker-compose.yml'): Map<string, ComposeService> {
  const root = obj(readYaml(path), path);
  const out = new Map<string, ComposeService>();
  for (const [name, raw] of Object.entries(obj(root.services, `${path} services`))) {
    const where = `${path} service ${name}`;
    const node = obj(raw, where);
    const environment: Record<string, string> = {};
    const env = node.environment;
    if (Array.isArray(env)) {
      for (const item of env) {
        const [k, ...v] = str(item, `${where} environment`).split('=');
        environment[k] = v.join('=');
      }
    } else {
      for (const [k, v] of Object.entries(optObj(env, `${where} environment`))) environment[k] = str(v, `${where} environment ${k}`);
    }
    const mounts = new Map<string, string>();
    for (const v of optArr(node.volumes, `${where} volumes`)) {
      const [host, target] = str(v, `${where} volumes`).split(':');
      if (host.startsWith('./')) mounts.set(host.slice(2), target);
    }
    const containerPorts = [
      ...optArr(node.expose, `${where} expose`).map((p) => Number(str(p, `${where} expose`))),
      ...optArr(node.ports, `${where} ports`).map((p) => Number(str(p, `${where} ports`).split(':').at(-1))),
    ];
    const deps = node.depends_on;
    const dependsOn = Array.isArray(deps) ? deps.map((d) => str(d, `${where} depends_on`)) : Object.keys(optObj(deps, `${where} depends_on`));
    out.set(name, {
      name, node, environment, mounts, containerPorts, dependsOn,
      image: node.image === undefined ? undefined : str(node.image, `${where} image`),
      command: node.command === undefined ? [] : words(node.command, `${where} command`),
    });
  }
  return out;
}

/** Services that run promfleet: built from the Dockerfile or naming its image. */
export function promfleetServices(services: Map<string, ComposeService>): ComposeService[] {
  return [...services.values()].filter((s) => s.node.build !== undefined || (s.image !== undefined && isPromfleetImage(s.image)));
}

export function asContainer(s: ComposeService): PromfleetContainer {
  return { where: `docker-compose.yml service ${s.name}`, args: s.command, env: s.environment };
}

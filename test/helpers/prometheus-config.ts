/** The example Prometheus configurations under infra/prometheus. */
import { readdirSync } from 'node:fs';
import type { QueueIdentity } from '../../src/queue/index.js';
import { repoFile } from './deploy.js';
import { obj, optObj, readYaml, str } from './yaml-access.js';

/** The HA identity (group from the cluster label, replica from the replica label) each example Prometheus writes with. */
export function examplePrometheusIdentities(clusterLabel: string, replicaLabel: string, dir = 'infra/prometheus'): QueueIdentity[] {
  return readdirSync(repoFile(dir)).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => {
    const path = `${dir}/${f}`;
    const labels = optObj(optObj(obj(readYaml(path), path).global, `${path} global`).external_labels, `${path} external_labels`);
    return { group: str(labels[clusterLabel], `${path} ${clusterLabel}`), replica: str(labels[replicaLabel], `${path} ${replicaLabel}`) };
  });
}

/** Facts read from the Dockerfile that other deployment files must agree with. */
import { readRepoFile } from './deploy.js';

/** The numeric user and group of the runtime stage's last USER line (Kubernetes' runAsNonRoot needs numbers). */
export function dockerfileUser(): { uid: number; gid: number } {
  const users = [...readRepoFile('Dockerfile').matchAll(/^USER (\S+)$/gm)].map((m) => m[1]);
  const last = users.at(-1);
  const m = /^(\d+):(\d+)$/.exec(last ?? '');
  if (!m) throw new Error(`Dockerfile: expected a last "USER uid:gid" line with numbers, got ${String(last)}`);
  return { uid: Number(m[1]), gid: Number(m[2]) };
}

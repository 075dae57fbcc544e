import { FLAGS, envName, type FlagName } from './flags.js';
import type { FlagSpec } from './flag-spec.js';

/** --help text: every flag with its default and environment variable. */
export function helpText(): string {
  const lines = [
    'Usage: promfleet <ingress|worker|all|migrate|dead-letters|loadgen> [flags]',
    '',
    '  ingress   accept remote_write, tag by HA group/replica, enqueue durably',
    '  worker    consume queues and write batches to PostgreSQL',
    '  all       ingress and worker in one process',
    '  migrate   apply database migrations and exit',
    '  dead-letters list|retry|drop [batch ids]   act on batches the database refused',
    '  loadgen   send node_exporter-shaped remote_write load and report the rate (promfleet loadgen --help)',
    '',
    'Flags (each also read from its environment variable):',
  ];
  for (const name of Object.keys(FLAGS) as FlagName[]) {
    const spec = FLAGS[name] as FlagSpec<unknown>;
    const def = spec.default === undefined ? 'unset' : JSON.stringify(spec.default);
    const aliases = spec.aliases?.length ? ` (alias: ${spec.aliases.map((a) => `--${a}`).join(', ')})` : '';
    lines.push(`  --${name}=<${spec.kind}>${aliases}`, `      ${spec.help}`, `      default ${def}; env ${envName(name)}`);
  }
  return lines.join('\n');
}

/** `promfleet loadgen` flags: parsed once; an invalid value stops with the flag's name and the value. */
import { FlagError, LOADGEN_FLAGS, readFlagValues } from '../config/index.js';
import { checkLoadgenOptions, type LoadgenOptions } from './run.js';

export class LoadgenArgsError extends Error {
  override name = 'LoadgenArgsError';
}

function argsError(err: FlagError): LoadgenArgsError {
  const p = err.problem;
  switch (p.kind) {
    case 'unexpected': return new LoadgenArgsError(`unexpected argument "${p.arg}"`);
    case 'unknown': return new LoadgenArgsError(`unknown flag --${p.name}`);
    case 'missing-value': return new LoadgenArgsError(`--${p.name} needs a value`);
    case 'invalid': return new LoadgenArgsError(`invalid ${p.source} "${p.text}": ${p.reason}`);
  }
}

function readValues(argv: readonly string[]): ReturnType<typeof readFlagValues<typeof LOADGEN_FLAGS>> {
  try {
    return readFlagValues(LOADGEN_FLAGS, argv);
  } catch (err) {
    throw err instanceof FlagError ? argsError(err) : err;
  }
}

/** --name=value or --name value; --json alone means true. */
export function parseLoadgenArgs(argv: readonly string[]): LoadgenOptions & { json: boolean } {
  const v = readValues(argv);
  const o = {
    url: v.url, series: v.series, replicas: v.replicas, rate: v.rate, durationMs: v.duration, seriesPerRequest: v['series-per-request'],
    connections: v.connections, cluster: v.cluster, clusterLabel: v['cluster-label'], replicaLabel: v['replica-label'], timeoutMs: v.timeout, json: v.json,
  };
  try {
    checkLoadgenOptions(o);
  } catch (err) {
    throw new LoadgenArgsError((err as Error).message);
  }
  return o;
}

export function loadgenHelp(): string {
  const lines = ['promfleet loadgen: send node_exporter-shaped remote_write traffic and report the rate achieved', ''];
  for (const [name, spec] of Object.entries(LOADGEN_FLAGS)) lines.push(`  --${name.padEnd(20)} ${spec.help} (default ${spec.default})`);
  return lines.join('\n');
}

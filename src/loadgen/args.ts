/** `promfleet loadgen` flags: parsed once; an invalid value stops with the flag's name and the value. */
import { parseDuration, parseInteger } from '../config/value-parsers.js';
import { checkLoadgenOptions, type LoadgenOptions } from './run.js';

interface Spec {
  readonly def: string;
  readonly help: string;
  readonly apply: (o: Mutable, raw: string) => void;
}
type Mutable = { -readonly [K in keyof LoadgenOptions]: LoadgenOptions[K] } & { json: boolean };

function positive(raw: string): number {
  const n = Number(raw.trim().replace(/k$/i, 'e3').replace(/m$/i, 'e6'));
  if (!(n > 0) || !Number.isFinite(n)) throw new Error('expected a number > 0 (k and M suffixes allowed)');
  return n;
}

export const LOADGEN_FLAGS: Readonly<Record<string, Spec>> = {
  url: { def: 'http://127.0.0.1:9201/write', help: 'Remote-write URL to send to.', apply: (o, raw) => {
    const u = new URL(raw);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('expected an http or https URL');
    o.url = u.toString();
  } },
  series: { def: '10000', help: 'Series per replica (node_exporter-shaped, about 8 labels).', apply: (o, raw) => { o.series = parseInteger(raw, 1, 100_000_000); } },
  replicas: { def: '2', help: 'HA replicas sending the same series, each with its own replica label.', apply: (o, raw) => { o.replicas = parseInteger(raw, 1, 100); } },
  rate: { def: '100k', help: 'Target samples per second, all replicas together.', apply: (o, raw) => { o.rate = positive(raw); } },
  duration: { def: '30s', help: 'How long to send (at most 24h).', apply: (o, raw) => { o.durationMs = parseDuration(raw); } },
  'series-per-request': { def: '500', help: 'Series (one sample each) per request.', apply: (o, raw) => { o.seriesPerRequest = parseInteger(raw, 1, 100_000); } },
  connections: { def: '8', help: 'Requests in flight at most.', apply: (o, raw) => { o.connections = parseInteger(raw, 1, 1024); } },
  cluster: { def: 'loadgen', help: 'Value of the cluster (HA group) label.', apply: (o, raw) => { o.cluster = raw; } },
  'cluster-label': { def: 'cluster', help: 'Name of the HA group label.', apply: (o, raw) => { o.clusterLabel = raw; } },
  'replica-label': { def: '__replica__', help: 'Name of the HA replica label (values r0, r1, ...).', apply: (o, raw) => { o.replicaLabel = raw; } },
  timeout: { def: '30s', help: 'A request unanswered for this long counts as a timeout.', apply: (o, raw) => { o.timeoutMs = parseDuration(raw); } },
  json: { def: 'false', help: 'Print the report as one JSON object instead of text.', apply: (o, raw) => {
    if (raw !== 'true' && raw !== 'false') throw new Error('expected true or false');
    o.json = raw === 'true';
  } },
};

export class LoadgenArgsError extends Error {
  override name = 'LoadgenArgsError';
}

/** --name=value or --name value; --json alone means true. */
export function parseLoadgenArgs(argv: readonly string[]): LoadgenOptions & { json: boolean } {
  const o = {} as Mutable;
  for (const [name, spec] of Object.entries(LOADGEN_FLAGS)) spec.apply(o, spec.def);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new LoadgenArgsError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const spec = LOADGEN_FLAGS[name];
    if (!spec) throw new LoadgenArgsError(`unknown flag --${name}`);
    let raw: string;
    if (eq >= 0) raw = arg.slice(eq + 1);
    else if (name === 'json') raw = 'true';
    else if (i + 1 < argv.length) raw = argv[++i];
    else throw new LoadgenArgsError(`--${name} needs a value`);
    try {
      spec.apply(o, raw);
    } catch (err) {
      throw new LoadgenArgsError(`invalid --${name} "${raw}": ${(err as Error).message}`);
    }
  }
  try {
    checkLoadgenOptions(o);
  } catch (err) {
    throw new LoadgenArgsError((err as Error).message);
  }
  return o;
}

export function loadgenHelp(): string {
  const lines = ['promfleet loadgen: send node_exporter-shaped remote_write traffic and report the rate achieved', ''];
  for (const [name, spec] of Object.entries(LOADGEN_FLAGS)) lines.push(`  --${name.padEnd(20)} ${spec.help} (default ${spec.def})`);
  return lines.join('\n');
}

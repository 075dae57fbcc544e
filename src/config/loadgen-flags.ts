/** `promfleet loadgen` flags: the same machinery as promfleet's own, without environment variables. */
import { flag } from './flag-spec.js';
import { parseBoolean, parseDuration, parseInteger } from './value-parsers.js';

/** A number above 0; "k" and "M" suffixes multiply by 1e3 and 1e6. */
function positive(raw: string): number {
  const n = Number(raw.trim().replace(/k$/i, 'e3').replace(/m$/i, 'e6'));
  if (!(n > 0) || !Number.isFinite(n)) throw new Error('expected a number > 0 (k and M suffixes allowed)');
  return n;
}

function httpUrl(raw: string): string {
  const u = new URL(raw);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('expected an http or https URL');
  return u.toString();
}

export const LOADGEN_FLAGS = {
  url: flag<string>('url', 'http://127.0.0.1:9201/write', httpUrl, 'Remote-write URL to send to.'),
  series: flag<number>('int', '10000', (raw) => parseInteger(raw, 1, 100_000_000), 'Series per replica (node_exporter-shaped, about 8 labels).'),
  replicas: flag<number>('int', '2', (raw) => parseInteger(raw, 1, 100), 'HA replicas sending the same series, each with its own replica label.'),
  rate: flag<number>('number', '100k', positive, 'Target samples per second, all replicas together.'),
  duration: flag<number>('duration', '30s', parseDuration, 'How long to send (at most 24h).'),
  'series-per-request': flag<number>('int', '500', (raw) => parseInteger(raw, 1, 100_000), 'Series (one sample each) per request.'),
  connections: flag<number>('int', '8', (raw) => parseInteger(raw, 1, 1024), 'Requests in flight at most.'),
  cluster: flag<string>('string', 'loadgen', (raw) => raw, 'Value of the cluster (HA group) label.'),
  'cluster-label': flag<string>('string', 'cluster', (raw) => raw, 'Name of the HA group label.'),
  'replica-label': flag<string>('string', '__replica__', (raw) => raw, 'Name of the HA replica label (values r0, r1, ...).'),
  timeout: flag<number>('duration', '30s', parseDuration, 'A request unanswered for this long counts as a timeout.'),
  json: flag<boolean>('bool', 'false', parseBoolean, 'Print the report as one JSON object instead of text.'),
} as const;

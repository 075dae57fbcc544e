import { createHash, hash as oneShotHash } from 'node:crypto';
import { PromfleetError } from '../errors.js';
import type { Label } from '../protocol/index.js';

/** What the series table stores for one label set. */
export interface SeriesKey {
  /** Value of `__name__`. */
  readonly metric: string;
  /** JSON object of every other label (including the HA cluster label), keys sorted. */
  readonly labelsJson: string;
  /** sha256 of canonicalLabelBytes; the unique key of the series table. */
  readonly hash: Buffer;
}

function byName(a: Label, b: Label): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * The one canonical encoding of a label set, hashed into series.labels_hash:
 * the metric name, then every other label sorted by name (code-unit order, as Prometheus
 * sorts), each string preceded by its UTF-8 byte length and a colon. Length prefixes make the
 * encoding injective even for values containing NUL or the separator, so two different label
 * sets can never share an encoding. Never change it: stored hashes would stop matching.
 */
export function canonicalLabelString(metric: string, sortedOthers: readonly Label[]): string {
  let out = `${Buffer.byteLength(metric)}:${metric}`;
  for (const l of sortedOthers) {
    out += `${Buffer.byteLength(l.name)}:${l.name}${Buffer.byteLength(l.value)}:${l.value}`;
  }
  return out;
}

/** What the series table stores of a label set, without its hash. */
export interface SeriesRow {
  readonly metric: string;
  readonly labelsJson: string;
}

/** Splits off `__name__`, checks and sorts the rest. */
function splitLabels(labels: readonly Label[]): { metric: string; others: Label[] } {
  let metric: string | undefined;
  let others: Label[] = [];
  let sorted = true;
  for (const l of labels) {
    if (l.name === '__name__') {
      metric = l.value;
      continue;
    }
    const prev = others[others.length - 1];
    if (prev !== undefined && byName(prev, l) >= 0) sorted = false;
    others.push(l);
  }
  if (metric === undefined || metric === '') {
    throw new PromfleetError('INVALID_LABELS', 'a series has no metric name (__name__)');
  }
  if (!sorted) {
    others = others.slice().sort(byName);
    for (let i = 1; i < others.length; i++) {
      if (others[i - 1].name === others[i].name) {
        throw new PromfleetError('INVALID_LABELS', `a series of ${metric} has the label ${others[i].name} twice`);
      }
    }
  }
  return { metric, others };
}

/** Splits off `__name__`, checks and sorts the rest, and computes the key of the label set. */
export function seriesKey(labels: readonly Label[]): SeriesKey {
  const { metric, others } = splitLabels(labels);
  const hash = createHash('sha256').update(canonicalLabelString(metric, others), 'utf8').digest();
  return { metric, labelsJson: labelsToJson(others), hash };
}

/** seriesKey without the hash, for a label set whose hash is known already (seriesCacheKey). */
export function seriesRow(labels: readonly Label[]): SeriesRow {
  const { metric, others } = splitLabels(labels);
  return { metric, labelsJson: labelsToJson(others) };
}

/** sha256 of a string's UTF-8 bytes as a latin1 string; one call, no Hash object (Node 20.12+; older: the Hash object). */
const sha256Latin1: (s: string) => string = typeof oneShotHash === 'function'
  ? (s) => oneShotHash('sha256', s, 'binary')
  : (s) => createHash('sha256').update(s, 'utf8').digest('binary');

/**
 * `seriesKey(labels).hash` as a latin1 string, the series cache's key, computed for every series
 * of every batch: so without the JSON, without copying the labels, with one hashing call (a
 * Hash object per series costs the garbage collector more than the hashing). Label sets that
 * are not strictly sorted, or lack a metric name, take seriesKey's path (same errors, same key).
 */
export function seriesCacheKey(labels: readonly Label[]): string {
  let metric: string | undefined;
  let prev: string | undefined;
  let rest = '';
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (l.name === '__name__') {
      if (metric !== undefined) return seriesKey(labels).hash.toString('latin1');
      metric = l.value;
      continue;
    }
    // Strictly increasing names: sorted, and no name twice.
    if (prev !== undefined && prev >= l.name) return seriesKey(labels).hash.toString('latin1');
    prev = l.name;
    rest += `${Buffer.byteLength(l.name)}:${l.name}${Buffer.byteLength(l.value)}:${l.value}`;
  }
  if (metric === undefined || metric === '') return seriesKey(labels).hash.toString('latin1');
  return sha256Latin1(`${Buffer.byteLength(metric)}:${metric}${rest}`);
}

/** A JSON object of labels, written by hand so that a label named __proto__ survives. */
export function labelsToJson(labels: readonly Label[]): string {
  let json = '{';
  for (let i = 0; i < labels.length; i++) {
    if (i > 0) json += ',';
    json += `${JSON.stringify(labels[i].name)}:${JSON.stringify(labels[i].value)}`;
  }
  return `${json}}`;
}

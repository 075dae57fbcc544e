/**
 * Prometheus label matchers: the reference semantics, evaluated in JS (regex translation is in
 * regex.ts).
 *
 * Semantics: a label a series lacks has the value ""; EQ/NEQ compare strings; RE/NRE match the
 * whole value (`^(?:re)$`). So `l!="v"` and `l!~"re"` match series without `l`, `l=""` matches
 * series without `l`, `l=~".*"` matches every series whose value holds no newline (RE2's `.`
 * excludes `\n` unless the pattern starts with `(?s)`).
 */
import { PromfleetError } from '../errors.js';
import type { Label, LabelMatcher } from '../protocol/index.js';
import type { Matching } from '../storage/index.js';
import { compileRegex } from './regex.js';

/** The value of `name` in a label set, "" when absent. */
export function labelValue(labels: readonly Label[], name: string): string {
  for (const l of labels) if (l.name === name) return l.value;
  return '';
}

/** Prometheus's meaning of one matcher against one value ("" for an absent label). */
export function matchesValue(value: string, m: LabelMatcher): boolean {
  switch (m.type) {
    case 'EQ': return value === m.value;
    case 'NEQ': return value !== m.value;
    case 'RE': return compileRegex(m.value).js.test(value);
    case 'NRE': return !compileRegex(m.value).js.test(value);
    default: throw new PromfleetError('BAD_REQUEST', `unknown matcher type ${String(m.type)}`);
  }
}

/** Prometheus's meaning of one matcher against one series' labels. */
export function matches(labels: readonly Label[], m: LabelMatcher): boolean {
  return matchesValue(labelValue(labels, m.name), m);
}

/** Every matcher matches (an empty list matches every series). */
export function matchesAll(labels: readonly Label[], ms: readonly LabelMatcher[]): boolean {
  return ms.every((m) => matches(labels, m));
}

/** These semantics as the series selection takes them: SQL where PostgreSQL agrees, JS for the rest. */
export const PROMETHEUS_MATCHING: Matching = Object.freeze({
  sqlRegex: (pattern: string) => compileRegex(pattern).sql,
  matchesValue,
  matchesAll,
});

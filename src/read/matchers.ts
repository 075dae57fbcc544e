/**
 * Prometheus label matchers: the reference semantics, evaluated in promfleet (regexes by re2js,
 * their PostgreSQL translation in regex.ts).
 *
 * Semantics: a label a series lacks has the value ""; EQ/NEQ compare strings; RE/NRE match the
 * whole value (`^(?:re)$`). So `l!="v"` and `l!~"re"` match series without `l`, `l=""` matches
 * series without `l`, `l=~".*"` matches every series whose value holds no newline (RE2's `.`
 * excludes `\n` unless the pattern starts with `(?s)`, or with Prometheus 3's semantics,
 * `dotMatchesNewline`, where the pattern is anchored as `^(?s:re)$`).
 */
import { PromfleetError } from '../errors.js';
import type { Label, LabelMatcher } from '../protocol/index.js';
import type { Matching } from '../storage/index.js';
import { compileRegex, PROMETHEUS_2_REGEX, type RegexOptions } from './regex.js';

/** The value of `name` in a label set, "" when absent. */
export function labelValue(labels: readonly Label[], name: string): string {
  for (const l of labels) if (l.name === name) return l.value;
  return '';
}

/** Prometheus's meaning of one matcher against one value ("" for an absent label). */
export function matchesValue(value: string, m: LabelMatcher, opts: RegexOptions = PROMETHEUS_2_REGEX): boolean {
  switch (m.type) {
    case 'EQ': return value === m.value;
    case 'NEQ': return value !== m.value;
    case 'RE': return compileRegex(m.value, opts).matches(value);
    case 'NRE': return !compileRegex(m.value, opts).matches(value);
    default: throw new PromfleetError('BAD_REQUEST', `unknown matcher type ${String(m.type)}`);
  }
}

/** Prometheus's meaning of one matcher against one series' labels. */
export function matches(labels: readonly Label[], m: LabelMatcher, opts: RegexOptions = PROMETHEUS_2_REGEX): boolean {
  return matchesValue(labelValue(labels, m.name), m, opts);
}

/** Every matcher matches (an empty list matches every series). */
export function matchesAll(labels: readonly Label[], ms: readonly LabelMatcher[], opts: RegexOptions = PROMETHEUS_2_REGEX): boolean {
  return ms.every((m) => matches(labels, m, opts));
}

/** These semantics as the series selection takes them: SQL where PostgreSQL agrees, re2js for the rest. */
export function prometheusMatching(opts: RegexOptions): Matching {
  const frozen: RegexOptions = Object.freeze({ ...opts });
  return Object.freeze({
    sqlRegex: (pattern: string) => compileRegex(pattern, frozen).sql,
    matchesValue: (value: string, m: LabelMatcher) => matchesValue(value, m, frozen),
    matchesAll: (labels: readonly Label[], ms: readonly LabelMatcher[]) => matchesAll(labels, ms, frozen),
  });
}

/** Prometheus 2.x's semantics (`.` does not match `\n`), the default. */
export const PROMETHEUS_MATCHING: Matching = prometheusMatching(PROMETHEUS_2_REGEX);

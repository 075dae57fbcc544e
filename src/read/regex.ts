/**
 * Prometheus's regular expressions: RE2 syntax and semantics, evaluated by re2js (a port of Go's
 * regexp, the engine Prometheus uses: linear in the length of the value, whatever the pattern),
 * and translated to PostgreSQL's ARE where both engines are known to agree.
 *
 * Prometheus anchors a matcher's pattern: 2.x matches `^(?:re)$` (`.` excludes `\n`), 3.x
 * `^(?s:re)$` (`.` matches `\n`); `dotMatchesNewline` picks the second. The SQL form is parsed
 * over a whitelisted RE2 subset (regex-translator.ts, regex-atoms.ts), with every construct
 * whose meaning could differ rewritten to an explicit form (`.` → `[^\n]`, `\d` → `[0-9]`, POSIX
 * classes → ASCII ranges). What PostgreSQL would read differently (word boundaries, Unicode
 * classes, `(?i)`, flag groups, non-ASCII ranges, NUL, bounds above 255) or what the subset
 * does not cover gets no SQL form: callers select a superset in SQL and filter with `matches`.
 */
import { RE2JS, RE2JSException } from 're2js';
import { PromfleetError } from '../errors.js';
import { Translator } from './regex-translator.js';
import { invalid } from './regex-atoms.js';

export interface RegexOptions {
  /** Prometheus 3's semantics: `.` matches `\n` (the pattern is anchored as `^(?s:re)$`). */
  readonly dotMatchesNewline: boolean;
}

/** Prometheus 2.x: `.` does not match `\n`. */
export const PROMETHEUS_2_REGEX: RegexOptions = Object.freeze({ dotMatchesNewline: false });

export interface CompiledRegex {
  /** Whether the whole value matches, as Prometheus decides it (linear time in the value's length). */
  matches(value: string): boolean;
  /** Fully anchored PostgreSQL ARE with the same meaning, or null when none is known to be safe. */
  readonly sql: string | null;
}

const cache = new Map<string, CompiledRegex>();
const CACHE_MAX = 1000;

/** Compiles with re2js; its syntax errors become BAD_REQUEST naming the pattern. */
function re2(pattern: string, source: string): RE2JS {
  try {
    return RE2JS.compile(source);
  } catch (err) {
    if (err instanceof RE2JSException) throw invalid(pattern, err.message);
    throw err;
  }
}

/** The PostgreSQL form, or null where it is not known to mean the same. */
function translate(pattern: string, dotMatchesNewline: boolean): string | null {
  let body = pattern;
  let ignoreCase = false;
  let dotAll = dotMatchesNewline;
  // A leading flag group of i and s only; any other flag leaves the pattern to re2js.
  const flags = /^\(\?([a-zA-Z]+)\)/.exec(body);
  if (flags) {
    for (const f of flags[1]) {
      if (f === 'i') ignoreCase = true;
      else if (f === 's') dotAll = true;
      else return null;
    }
    body = body.slice(flags[0].length);
  }
  if (ignoreCase) return null;
  const inner = new Translator(pattern, body, dotAll);
  try {
    inner.run();
  } catch (err) {
    // Valid RE2 (re2js took it) outside the translated subset.
    if (err instanceof PromfleetError) return null;
    throw err;
  }
  return inner.sqlSafe ? `^(?:${inner.sql})$` : null;
}

/** Parses a Prometheus (RE2) regex; throws PromfleetError BAD_REQUEST when RE2 refuses it. */
export function compileRegex(pattern: string, opts: RegexOptions = PROMETHEUS_2_REGEX): CompiledRegex {
  const key = `${opts.dotMatchesNewline ? 's' : '-'}${pattern}`;
  const hit = cache.get(key);
  if (hit) return hit;
  // The pattern alone must be valid (as Prometheus parses it alone too): `a)|(b` is refused,
  // not read as two halves of the anchoring group.
  re2(pattern, pattern);
  const anchored = re2(pattern, opts.dotMatchesNewline ? `^(?s:${pattern})$` : `^(?:${pattern})$`);
  const compiled: CompiledRegex = {
    matches: (value) => anchored.test(value),
    sql: translate(pattern, opts.dotMatchesNewline),
  };
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(key, compiled);
  return compiled;
}

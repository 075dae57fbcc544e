/**
 * Translation of Prometheus's RE2 regular expressions to PostgreSQL's ARE where both engines
 * agree, and to fully anchored JS RegExps for evaluation in promfleet.
 *
 * The pattern is parsed (a whitelisted RE2 subset; regex-translator.ts, regex-atoms.ts) and
 * re-emitted twice, once for JS (`u` flag) and once for PostgreSQL, with every construct whose meaning could differ rewritten to an
 * explicit form (`.` → `[^\n]`, `\d` → `[0-9]`, POSIX classes → ASCII ranges). Constructs
 * PostgreSQL would read differently (word boundaries, Unicode classes, `(?i)`, non-ASCII ranges,
 * NUL, bounds above 255) give no SQL form: callers select a superset in SQL and filter with the
 * JS form. Syntax RE2 rejects, or that is not supported here, throws.
 */
import { Translator } from './regex-translator.js';
import { invalid } from './regex-atoms.js';

export interface CompiledRegex {
  /** Fully anchored, for JS evaluation. */
  readonly js: RegExp;
  /** Fully anchored PostgreSQL ARE with the same meaning, or null when none is known to be safe. */
  readonly sql: string | null;
}

/** Unbounded repetitions allowed in a pattern evaluated by V8: two keep a hostile value's cost at O(n²). */
const MAX_UNBOUNDED_IN_JS = 2;

const cache = new Map<string, CompiledRegex>();
const CACHE_MAX = 1000;

/** Parses a Prometheus (RE2) regex; throws PromfleetError BAD_REQUEST for what is not supported. */
export function compileRegex(pattern: string): CompiledRegex {
  const hit = cache.get(pattern);
  if (hit) return hit;
  let body = pattern;
  let ignoreCase = false;
  let dotAll = false;
  // Leading flag group: i and s only.
  const flags = /^\(\?([a-zA-Z]+)\)/.exec(body);
  if (flags) {
    for (const f of flags[1]) {
      if (f === 'i') ignoreCase = true;
      else if (f === 's') dotAll = true;
      else throw invalid(pattern, `unsupported flag ${f}`);
    }
    body = body.slice(flags[0].length);
  }
  const inner = new Translator(pattern, body, dotAll);
  inner.run();
  let js: RegExp;
  try {
    js = new RegExp(`^(?:${inner.js})$`, ignoreCase ? 'ui' : 'u');
  } catch (err) {
    throw invalid(pattern, err instanceof Error ? err.message : String(err));
  }
  const sqlSafe = inner.sqlSafe && !ignoreCase;
  if (!sqlSafe && (inner.repeatsAmbiguousGroup || inner.unbounded > MAX_UNBOUNDED_IN_JS)) {
    // Evaluated here, not in PostgreSQL: V8 backtracks, and one label value could hold the
    // event loop for minutes (RE2, which Prometheus uses, is linear; so is PostgreSQL here).
    throw invalid(pattern, inner.repeatsAmbiguousGroup
      ? 'a repeated group holding a repetition or an alternation is evaluated only where PostgreSQL can take it; rewrite without the nesting, \\b, \\p{..}, (?i) or non-ASCII ranges'
      : `more than ${MAX_UNBOUNDED_IN_JS} unbounded repetitions are evaluated only where PostgreSQL can take them; rewrite without \\b, \\p{..}, (?i) or non-ASCII ranges`);
  }
  const compiled: CompiledRegex = { js, sql: sqlSafe ? `^(?:${inner.sql})$` : null };
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(pattern, compiled);
  return compiled;
}

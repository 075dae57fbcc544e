/**
 * Translation of Prometheus's RE2 regular expressions to PostgreSQL's ARE where both engines
 * agree, and to fully anchored JS RegExps for evaluation in promfleet.
 *
 * The pattern is parsed here (a whitelisted RE2 subset) and re-emitted twice, once for JS (`u`
 * flag) and once for PostgreSQL, with every construct whose meaning could differ rewritten to an
 * explicit form (`.` → `[^\n]`, `\d` → `[0-9]`, POSIX classes → ASCII ranges). Constructs
 * PostgreSQL would read differently (word boundaries, Unicode classes, `(?i)`, non-ASCII ranges,
 * NUL, bounds above 255) give no SQL form: callers select a superset in SQL and filter with the
 * JS form. Syntax RE2 rejects, or that is not supported here, throws.
 */
import { PromfleetError } from '../errors.js';

export interface CompiledRegex {
  /** Fully anchored, for JS evaluation. */
  readonly js: RegExp;
  /** Fully anchored PostgreSQL ARE with the same meaning, or null when none is known to be safe. */
  readonly sql: string | null;
}

function invalid(pattern: string, why: string): PromfleetError {
  return new PromfleetError('BAD_REQUEST', `unsupported or invalid regular expression ${JSON.stringify(pattern)}: ${why}`);
}

/** Characters escaped outside a class (both engines read `\` + punctuation as that character). */
const META_OUT = new Set(['\\', '^', '$', '.', '*', '+', '?', '(', ')', '[', ']', '{', '}', '|', '/']);
/** Characters escaped inside a class. */
const META_IN = new Set(['\\', ']', '[', '^', '-']);

const POSIX: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

/** RE2's Perl classes, ASCII only. */
const PERL: Record<string, string> = { d: '0-9', w: '0-9A-Za-z_', s: '\\t\\n\\f\\r ' };

type ClassItem = { kind: 'range'; lo: number; hi: number } | { kind: 'set'; body: string; sqlSafe: boolean; jsBody: string };

class Translator {
  private i = 0;
  private readonly cps: number[];
  js = '';
  sql = '';
  sqlSafe = true;
  /** True when the last emitted item can take a quantifier. */
  private canRepeat = false;
  /**
   * Open groups, each true once it holds a repetition or an alternation. Repeating such a group
   * (`(a+)+`, `(a|aa)*`) costs exponential time in a backtracking engine such as V8's (RE2 and
   * PostgreSQL stay linear), so it is recorded in `repeatsAmbiguousGroup`.
   */
  private readonly groups: boolean[] = [];
  private closedGroupAmbiguous = false;
  private closedGroupEnd = -1;
  repeatsAmbiguousGroup = false;
  /** Unbounded repetitions (`*`, `+`, `{n,}`): k of them in sequence cost O(n^k) when backtracking. */
  unbounded = 0;

  /** Called before a repetition (not `?`) is emitted. */
  private repeating(unbounded: boolean): void {
    if (unbounded) this.unbounded++;
    if (this.js.length === this.closedGroupEnd && this.closedGroupAmbiguous) this.repeatsAmbiguousGroup = true;
    if (this.groups.length > 0) this.groups[this.groups.length - 1] = true;
  }

  /** `pattern` for error messages, `body` the part to translate (without a leading flag group). */
  constructor(private readonly pattern: string, body: string, private readonly dotAll: boolean) {
    this.cps = Array.from(body, (c) => c.codePointAt(0) ?? 0);
  }

  private peek(k = 0): number | undefined {
    return this.cps[this.i + k];
  }

  private ch(k = 0): string {
    const c = this.peek(k);
    return c === undefined ? '' : String.fromCodePoint(c);
  }

  private both(s: string, repeatable: boolean): void {
    this.js += s;
    this.sql += s;
    this.canRepeat = repeatable;
  }

  private literal(cp: number): void {
    if (cp === 0) this.sqlSafe = false; // PostgreSQL text holds no NUL
    const c = String.fromCodePoint(cp);
    this.both(META_OUT.has(c) ? `\\${c}` : c, true);
  }

  private classChar(cp: number): string {
    if (cp === 0) this.sqlSafe = false;
    const c = String.fromCodePoint(cp);
    return META_IN.has(c) ? `\\${c}` : c;
  }

  run(): void {
    let depth = 0;
    while (this.i < this.cps.length) {
      const c = this.ch();
      switch (c) {
        case '(': {
          this.i++;
          if (this.ch() === '?') {
            if (this.ch(1) === ':') {
              this.i += 2;
            } else if (this.ch(1) === 'P' && this.ch(2) === '<') {
              const close = this.cps.indexOf(0x3e, this.i);
              const name = close < 0 ? '' : String.fromCodePoint(...this.cps.slice(this.i + 3, close));
              if (!/^[A-Za-z0-9_]+$/.test(name)) throw invalid(this.pattern, 'bad named group');
              this.i = close + 1;
            } else {
              throw invalid(this.pattern, 'group flags and look-around are not supported');
            }
          }
          depth++;
          this.groups.push(false);
          this.both('(?:', false);
          break;
        }
        case ')': {
          if (depth === 0) throw invalid(this.pattern, 'unexpected )');
          depth--;
          this.i++;
          const ambiguous = this.groups.pop() ?? false;
          if (ambiguous && this.groups.length > 0) this.groups[this.groups.length - 1] = true;
          this.both(')', true);
          this.closedGroupAmbiguous = ambiguous;
          this.closedGroupEnd = this.js.length;
          break;
        }
        case '|':
          this.i++;
          if (this.groups.length > 0) this.groups[this.groups.length - 1] = true;
          this.both('|', false);
          break;
        case '^':
          this.i++;
          this.both('^', false);
          break;
        case '$':
          this.i++;
          this.both('$', false);
          break;
        case '.':
          this.i++;
          if (this.dotAll) {
            this.js += '[^]';
            this.sql += '.';
            this.canRepeat = true;
          } else {
            this.both('[^\\n]', true);
          }
          break;
        case '*': case '+': case '?':
          this.quantifier(c);
          break;
        case '{':
          if (!this.bound()) {
            this.i++;
            this.literal(0x7b);
          }
          break;
        case '[':
          this.charClass();
          break;
        case '\\':
          this.escape();
          break;
        default:
          this.literal(this.peek() ?? 0);
          this.i++;
      }
    }
    if (depth !== 0) throw invalid(this.pattern, 'missing )');
  }

  private afterQuantifier(): void {
    if (this.ch() === '?') this.i++; // lazy: same match/no-match answer as greedy
    const n = this.ch();
    if (n === '*' || n === '+' || n === '?' || (n === '{' && this.looksLikeBound())) {
      throw invalid(this.pattern, 'nested repetition operator');
    }
    this.canRepeat = false;
  }

  private quantifier(q: string): void {
    if (!this.canRepeat) throw invalid(this.pattern, `missing argument to repetition operator ${q}`);
    if (q !== '?') this.repeating(true);
    this.i++;
    this.js += q;
    this.sql += q;
    this.afterQuantifier();
  }

  private looksLikeBound(): boolean {
    const rest = String.fromCodePoint(...this.cps.slice(this.i, this.i + 24));
    return /^\{\d+(,\d*)?\}/.test(rest);
  }

  /** `{n}`, `{n,}`, `{n,m}`; anything else is a literal `{` (as in RE2). */
  private bound(): boolean {
    const rest = String.fromCodePoint(...this.cps.slice(this.i, this.i + 24));
    const m = /^\{(\d+)(,(\d*))?\}/.exec(rest);
    if (!m) return false;
    if (!this.canRepeat) throw invalid(this.pattern, 'missing argument to repetition operator {');
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : m[3] === '' ? undefined : Number(m[3]);
    if (lo > 1000 || (hi !== undefined && (hi > 1000 || hi < lo))) throw invalid(this.pattern, 'bad repetition count');
    if (lo > 255 || (hi !== undefined && hi > 255)) this.sqlSafe = false; // PostgreSQL's RE_DUP_MAX
    if (hi === undefined || hi > 1) this.repeating(hi === undefined);
    const text = `{${lo}${m[2] === undefined ? '' : `,${hi ?? ''}`}}`;
    this.js += text;
    this.sql += text;
    this.i += m[0].length;
    this.afterQuantifier();
    return true;
  }

  /** A code point written as an escape (`\n`, `\x41`, `\x{263a}`, `\101`), or undefined. */
  private escapedCodePoint(): number | undefined {
    const e = this.ch(1);
    const simple: Record<string, number> = { a: 7, f: 12, t: 9, n: 10, r: 13, v: 11 };
    if (e in simple) {
      this.i += 2;
      return simple[e];
    }
    if (e === 'x') {
      const rest = String.fromCodePoint(...this.cps.slice(this.i + 2, this.i + 14));
      const m = /^\{([0-9A-Fa-f]{1,8})\}/.exec(rest) ?? /^([0-9A-Fa-f]{2})/.exec(rest);
      if (!m) throw invalid(this.pattern, 'bad \\x escape');
      const cp = parseInt(m[1], 16);
      if (cp > 0x10ffff) throw invalid(this.pattern, 'bad \\x escape');
      this.i += 2 + m[0].length;
      return cp;
    }
    if (/^[0-7]$/.test(e)) {
      const rest = String.fromCodePoint(...this.cps.slice(this.i + 1, this.i + 4));
      const m = /^[0-7]{1,3}/.exec(rest);
      // RE2: \1-\7 alone are backreferences (refused); \0 and three-digit forms are octal.
      if (!m || (e !== '0' && m[0].length < 3)) throw invalid(this.pattern, 'backreferences are not supported');
      this.i += 1 + m[0].length;
      return parseInt(m[0], 8);
    }
    if (e !== '' && !/^[A-Za-z0-9]$/.test(e)) {
      this.i += 2;
      return e.codePointAt(0);
    }
    return undefined;
  }

  private escape(): void {
    const e = this.ch(1);
    if (e === '') throw invalid(this.pattern, 'trailing backslash');
    const cp = this.escapedCodePoint();
    if (cp !== undefined) {
      this.literal(cp);
      return;
    }
    const lower = e.toLowerCase();
    if (lower in PERL) {
      this.i += 2;
      const neg = e !== lower ? '^' : '';
      this.both(`[${neg}${PERL[lower]}]`, true);
      return;
    }
    switch (e) {
      case 'A': this.i += 2; this.both('^', false); return;
      case 'z': this.i += 2; this.both('$', false); return;
      case 'b': case 'B':
        this.i += 2;
        this.js += `\\${e}`; // ASCII word boundary in both JS (without the i flag) and RE2
        this.sqlSafe = false; // PostgreSQL's \y uses the locale's word characters
        this.canRepeat = false;
        return;
      case 'Q': {
        this.i += 2;
        while (this.i < this.cps.length) {
          if (this.ch() === '\\' && this.ch(1) === 'E') {
            this.i += 2;
            return;
          }
          this.literal(this.peek() ?? 0);
          this.i++;
        }
        return;
      }
      case 'E': this.i += 2; return;
      case 'p': case 'P': {
        const cls = this.unicodeClass();
        this.js += cls;
        this.sqlSafe = false;
        this.canRepeat = true;
        return;
      }
      default:
        throw invalid(this.pattern, `unsupported escape \\${e}`);
    }
  }

  /** `\pL`, `\p{Greek}`, `\P{Lu}` as a JS `u`-mode class. */
  private unicodeClass(): string {
    const neg = this.ch(1) === 'P';
    this.i += 2;
    let name: string;
    if (this.ch() === '{') {
      const close = this.cps.indexOf(0x7d, this.i);
      if (close < 0) throw invalid(this.pattern, 'bad \\p class');
      name = String.fromCodePoint(...this.cps.slice(this.i + 1, close));
      this.i = close + 1;
    } else {
      name = this.ch();
      this.i++;
    }
    let negate = neg;
    if (name.startsWith('^')) {
      negate = !negate;
      name = name.slice(1);
    }
    if (!/^[A-Za-z_]+$/.test(name)) throw invalid(this.pattern, 'bad \\p class');
    const prop = name === 'Any' ? null : /^[A-Z][a-z]?$/.test(name) ? name : `Script=${name}`;
    const body = prop === null ? '[^]' : `\\p{${prop}}`;
    if (prop === null) return negate ? '[]' : body;
    try {
      new RegExp(body, 'u');
    } catch {
      throw invalid(this.pattern, `unknown Unicode class ${name}`);
    }
    return negate ? `\\P{${prop}}` : body;
  }

  private classAtom(): ClassItem | number {
    if (this.ch() === '[' && this.ch(1) === ':') {
      const rest = String.fromCodePoint(...this.cps.slice(this.i, this.i + 16));
      const m = /^\[:(\^?)([a-z]+):\]/.exec(rest);
      if (m) {
        const body = POSIX[m[2]];
        if (body === undefined || m[1] === '^') throw invalid(this.pattern, `unsupported class [:${m[1]}${m[2]}:]`);
        this.i += m[0].length;
        // Stored values hold no NUL, so PostgreSQL's class may start at \x01.
        return { kind: 'set', body: body.replace('\\x00', '\\x01'), jsBody: body, sqlSafe: true };
      }
    }
    if (this.ch() === '\\') {
      const e = this.ch(1);
      if (e === '') throw invalid(this.pattern, 'trailing backslash');
      const cp = this.escapedCodePoint();
      if (cp !== undefined) return cp;
      if (e in PERL) {
        this.i += 2;
        return { kind: 'set', body: PERL[e], jsBody: PERL[e], sqlSafe: true };
      }
      if (e === 'p' || e === 'P') {
        const cls = this.unicodeClass();
        if (cls.startsWith('[')) throw invalid(this.pattern, '\\p{Any} in a character class is not supported');
        return { kind: 'set', body: '', jsBody: cls, sqlSafe: false };
      }
      throw invalid(this.pattern, `unsupported escape \\${e} in a character class`);
    }
    const cp = this.peek();
    if (cp === undefined) throw invalid(this.pattern, 'missing ]');
    this.i++;
    return cp;
  }

  private charClass(): void {
    this.i++; // [
    let neg = '';
    if (this.ch() === '^') {
      neg = '^';
      this.i++;
    }
    const items: ClassItem[] = [];
    let first = true;
    for (;;) {
      if (this.i >= this.cps.length) throw invalid(this.pattern, 'missing ]');
      if (this.ch() === ']' && !first) {
        this.i++;
        break;
      }
      first = false;
      const a = this.classAtom();
      if (typeof a !== 'number') {
        items.push(a);
        continue;
      }
      if (this.ch() === '-' && this.ch(1) !== ']' && this.ch(1) !== '') {
        this.i++;
        const b = this.classAtom();
        if (typeof b !== 'number') throw invalid(this.pattern, 'bad character class range');
        if (b < a) throw invalid(this.pattern, 'bad character class range');
        items.push({ kind: 'range', lo: a, hi: b });
      } else {
        items.push({ kind: 'range', lo: a, hi: a });
      }
    }
    let js = '';
    let sql = '';
    for (const it of items) {
      if (it.kind === 'set') {
        js += it.jsBody;
        sql += it.body;
        if (!it.sqlSafe) this.sqlSafe = false;
        continue;
      }
      // Ranges past ASCII: PostgreSQL's handling depends on the collation; leave those to JS.
      if (it.hi > 0x7f && it.hi !== it.lo) this.sqlSafe = false;
      const t = it.lo === it.hi ? this.classChar(it.lo) : `${this.classChar(it.lo)}-${this.classChar(it.hi)}`;
      js += t;
      sql += t;
    }
    this.js += `[${neg}${js}]`;
    this.sql += `[${neg}${sql}]`;
    this.canRepeat = true;
  }
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

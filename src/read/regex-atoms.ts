/**
 * The atoms of an RE2 pattern as the translator emits them for PostgreSQL: literals, escapes
 * (`\n`, `\x{263a}`, `\d`, `\pL`) and bracketed character classes, each rewritten to a form
 * PostgreSQL reads as RE2 does, or marked as having no safe SQL form.
 */
import { PromfleetError } from '../errors.js';

export function invalid(pattern: string, why: string): PromfleetError {
  return new PromfleetError('BAD_REQUEST', `invalid regular expression ${JSON.stringify(pattern)}: ${why}`);
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

type ClassItem = { kind: 'range'; lo: number; hi: number } | { kind: 'set'; body: string; sqlSafe: boolean };

/** Reads a pattern's code points and emits its atoms; regex-translator.ts adds the structure. */
export class RegexAtoms {
  protected i = 0;
  protected readonly cps: number[];
  sql = '';
  sqlSafe = true;
  /** True when the last emitted item can take a quantifier. */
  protected canRepeat = false;

  /** `pattern` for error messages, `body` the part to scan (without a leading flag group). */
  constructor(protected readonly pattern: string, body: string) {
    this.cps = Array.from(body, (c) => c.codePointAt(0) ?? 0);
  }

  protected peek(k = 0): number | undefined {
    return this.cps[this.i + k];
  }

  protected ch(k = 0): string {
    const c = this.peek(k);
    return c === undefined ? '' : String.fromCodePoint(c);
  }

  protected emit(s: string, repeatable: boolean): void {
    this.sql += s;
    this.canRepeat = repeatable;
  }

  protected literal(cp: number): void {
    if (cp === 0) this.sqlSafe = false; // PostgreSQL text holds no NUL
    const c = String.fromCodePoint(cp);
    this.emit(META_OUT.has(c) ? `\\${c}` : c, true);
  }

  protected classChar(cp: number): string {
    if (cp === 0) this.sqlSafe = false;
    const c = String.fromCodePoint(cp);
    return META_IN.has(c) ? `\\${c}` : c;
  }

  /** A code point written as an escape (`\n`, `\x41`, `\x{263a}`, `\101`), or undefined. */
  protected escapedCodePoint(): number | undefined {
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

  protected escape(): void {
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
      this.emit(`[${neg}${PERL[lower]}]`, true);
      return;
    }
    switch (e) {
      case 'A': this.i += 2; this.emit('^', false); return;
      case 'z': this.i += 2; this.emit('$', false); return;
      case 'b': case 'B':
        this.i += 2;
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
      case 'p': case 'P':
        this.unicodeClass();
        this.sqlSafe = false; // PostgreSQL has no Unicode property classes
        this.canRepeat = true;
        return;
      default:
        throw invalid(this.pattern, `unsupported escape \\${e}`);
    }
  }

  /** Skips `\pL`, `\p{Greek}`, `\P{Lu}` (re2js has checked the name). */
  protected unicodeClass(): void {
    this.i += 2;
    if (this.ch() !== '{') {
      this.i++;
      return;
    }
    const close = this.cps.indexOf(0x7d, this.i);
    if (close < 0) throw invalid(this.pattern, 'bad \\p class');
    this.i = close + 1;
  }

  protected classAtom(): ClassItem | number {
    if (this.ch() === '[' && this.ch(1) === ':') {
      const rest = String.fromCodePoint(...this.cps.slice(this.i, this.i + 16));
      const m = /^\[:(\^?)([a-z]+):\]/.exec(rest);
      if (m) {
        const body = POSIX[m[2]];
        if (body === undefined || m[1] === '^') throw invalid(this.pattern, `unsupported class [:${m[1]}${m[2]}:]`);
        this.i += m[0].length;
        // Stored values hold no NUL, so PostgreSQL's class may start at \x01.
        return { kind: 'set', body: body.replace('\\x00', '\\x01'), sqlSafe: true };
      }
    }
    if (this.ch() === '\\') {
      const e = this.ch(1);
      if (e === '') throw invalid(this.pattern, 'trailing backslash');
      const cp = this.escapedCodePoint();
      if (cp !== undefined) return cp;
      if (e in PERL) {
        this.i += 2;
        return { kind: 'set', body: PERL[e], sqlSafe: true };
      }
      if (e === 'p' || e === 'P') {
        this.unicodeClass();
        return { kind: 'set', body: '', sqlSafe: false };
      }
      throw invalid(this.pattern, `unsupported escape \\${e} in a character class`);
    }
    const cp = this.peek();
    if (cp === undefined) throw invalid(this.pattern, 'missing ]');
    this.i++;
    return cp;
  }

  protected charClass(): void {
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
    let sql = '';
    for (const it of items) {
      if (it.kind === 'set') {
        sql += it.body;
        if (!it.sqlSafe) this.sqlSafe = false;
        continue;
      }
      // Ranges past ASCII: PostgreSQL's handling depends on the collation; leave those to re2js.
      if (it.hi > 0x7f && it.hi !== it.lo) this.sqlSafe = false;
      sql += it.lo === it.hi ? this.classChar(it.lo) : `${this.classChar(it.lo)}-${this.classChar(it.hi)}`;
    }
    this.sql += `[${neg}${sql}]`;
    this.canRepeat = true;
  }
}

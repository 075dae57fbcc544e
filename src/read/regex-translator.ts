/**
 * The structure of an RE2 pattern (groups, alternation, anchors, repetition), translated for
 * PostgreSQL over the atoms of regex-atoms.ts. It throws on what it does not cover (flag groups,
 * look-around): compileRegex then leaves the pattern to re2js alone.
 */
import { RegexAtoms, invalid } from './regex-atoms.js';

export class Translator extends RegexAtoms {
  /** `pattern` for error messages, `body` the part to translate (without a leading flag group). */
  constructor(pattern: string, body: string, private readonly dotAll: boolean) {
    super(pattern, body);
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
          this.emit('(?:', false);
          break;
        }
        case ')': {
          if (depth === 0) throw invalid(this.pattern, 'unexpected )');
          depth--;
          this.i++;
          this.emit(')', true);
          break;
        }
        case '|':
          this.i++;
          this.emit('|', false);
          break;
        case '^':
          this.i++;
          this.emit('^', false);
          break;
        case '$':
          this.i++;
          this.emit('$', false);
          break;
        case '.':
          this.i++;
          // PostgreSQL's `.` matches \n (its regexes are not newline-sensitive by default).
          this.emit(this.dotAll ? '.' : '[^\\n]', true);
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
    this.i++;
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
    this.sql += `{${lo}${m[2] === undefined ? '' : `,${hi ?? ''}`}}`;
    this.i += m[0].length;
    this.afterQuantifier();
    return true;
  }
}

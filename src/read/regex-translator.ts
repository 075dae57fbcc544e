/**
 * The structure of an RE2 pattern (groups, alternation, anchors, repetition), translated for JS
 * and PostgreSQL over the atoms of regex-atoms.ts, with what makes a pattern costly for a
 * backtracking engine counted on the way (see compileRegex).
 */
import { RegexAtoms, invalid } from './regex-atoms.js';

export class Translator extends RegexAtoms {
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

}

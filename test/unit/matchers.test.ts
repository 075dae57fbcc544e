import { describe, expect, it } from 'vitest';
import { matches, matchesAll } from '../../src/read/matchers.js';
import { compileRegex } from '../../src/read/regex.js';
import type { LabelMatcher, MatcherType } from '../../src/protocol/index.js';
import type { Label } from '../../src/protocol/write/types.js';

function ls(o: Record<string, string>): Label[] {
  return Object.entries(o).map(([name, value]) => ({ name, value })).sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** A small corpus; expected results name series by key. */
const CORPUS: Record<string, Label[]> = {
  a: ls({ __name__: 'up', job: 'api', env: 'prod' }),
  b: ls({ __name__: 'up', job: 'db' }),
  c: ls({ __name__: 'http_total', job: 'api', path: '/a%b_c', env: '' }),
  d: ls({ __name__: 'weird', q: `it's "quoted"`, bs: 'back\\slash', dollar: '$$x$$', semi: 'a;b' }),
  e: ls({ __name__: 'ba', job: 'a\nb' }),
  f: ls({ __name__: 'abc', job: 'ABC', uni: 'héllo' }),
};

const m = (type: MatcherType, name: string, value: string): LabelMatcher => ({ type, name, value });

/** [matcher, keys of the series it matches]. */
const TABLE: [LabelMatcher, string[]][] = [
  [m('EQ', 'job', 'api'), ['a', 'c']],
  [m('EQ', '__name__', 'up'), ['a', 'b']],
  [m('EQ', 'env', ''), ['b', 'c', 'd', 'e', 'f']],
  [m('EQ', 'missing', ''), ['a', 'b', 'c', 'd', 'e', 'f']],
  [m('EQ', 'missing', 'x'), []],
  [m('NEQ', 'env', 'prod'), ['b', 'c', 'd', 'e', 'f']],
  [m('NEQ', 'env', ''), ['a']],
  [m('NEQ', 'missing', ''), []],
  [m('RE', 'job', '.*'), ['a', 'b', 'c', 'd', 'f']], // RE2 (Prometheus 2.x): `.` excludes \n
  [m('RE', 'env', '.*'), ['a', 'b', 'c', 'd', 'e', 'f']],
  [m('RE', 'job', '(?s).*'), ['a', 'b', 'c', 'd', 'e', 'f']],
  [m('RE', 'job', '.+'), ['a', 'b', 'c', 'f']], // `.` does not match \n
  [m('RE', 'job', '(?s).+'), ['a', 'b', 'c', 'e', 'f']],
  [m('RE', 'job', 'api|db'), ['a', 'b', 'c']],
  [m('RE', 'job', 'ap|d'), []], // alternation anchored as a whole
  [m('RE', '__name__', 'a.*'), ['f']],
  [m('RE', '__name__', 'b.*'), ['e']],
  [m('RE', '__name__', 'u'), []],
  [m('RE', 'job', ''), ['d']],
  [m('NRE', 'job', 'api|db'), ['d', 'e', 'f']],
  [m('NRE', 'missing', '.*'), []],
  [m('NRE', 'missing', 'x'), ['a', 'b', 'c', 'd', 'e', 'f']],
  [m('RE', 'path', '/a%b_c'), ['c']],
  [m('RE', 'path', '/a.b.c'), ['c']],
  [m('EQ', 'path', '/a_b%c'), []],
  [m('RE', 'path', '/a_b%c'), []],
  [m('EQ', 'q', `it's "quoted"`), ['d']],
  [m('RE', 'q', `it's ".*"`), ['d']],
  [m('EQ', 'bs', 'back\\slash'), ['d']],
  [m('RE', 'bs', 'back\\\\slash'), ['d']],
  [m('RE', 'bs', 'back\\\\\\\\slash'), []],
  [m('EQ', 'dollar', '$$x$$'), ['d']],
  [m('RE', 'dollar', '\\$\\$x\\$\\$'), ['d']],
  [m('RE', 'dollar', '$$x$$'), []],
  [m('EQ', 'semi', 'a;b'), ['d']],
  [m('EQ', 'semi', "a;b'; DROP TABLE series; --"), []],
  [m('NEQ', 'semi', "'; DROP TABLE series; --"), ['a', 'b', 'c', 'd', 'e', 'f']],
  [m('EQ', "x'); DROP TABLE series; --", ''), ['a', 'b', 'c', 'd', 'e', 'f']],
  [m('EQ', 'job', 'a\0b'), []],
  [m('NEQ', 'job', 'a\0b'), ['a', 'b', 'c', 'd', 'e', 'f']],
  [m('EQ', 'j\0ob', ''), ['a', 'b', 'c', 'd', 'e', 'f']],
  [m('RE', 'job', 'a\\x00b|db'), ['b']],
  [m('RE', 'job', '[a-c][^a-c]+'), ['a', 'c']],
  [m('RE', 'job', '[^x]+'), ['a', 'b', 'c', 'e', 'f']], // a negated class matches \n
  [m('RE', 'job', '[]a-]pi'), ['a', 'c']],
  [m('RE', 'job', '[[:upper:]]+'), ['f']],
  [m('RE', 'job', '\\w{2,3}'), ['a', 'b', 'c', 'f']],
  [m('RE', 'job', '\\d*'), ['d']],
  [m('RE', 'job', '(?i)abc'), ['f']],
  [m('RE', 'job', 'a\\nb'), ['e']],
  [m('RE', 'job', 'a\\sb'), ['e']],
  [m('RE', 'job', '\\bapi\\b'), ['a', 'c']],
  [m('RE', 'uni', 'h.llo'), ['f']],
  [m('RE', 'uni', 'h\\pLllo'), ['f']],
  [m('RE', 'uni', 'h[à-ï]llo'), ['f']],
  [m('RE', 'job', '(?P<x>a)pi'), ['a', 'c']],
  [m('RE', 'job', 'a{'), []],
  [m('RE', 'job', '\\Qa.i\\E|api'), ['a', 'c']],
  [m('RE', 'job', '^api$'), ['a', 'c']],
  [m('RE', 'job', 'api$|^db'), ['a', 'b', 'c']],
];

describe('matches: Prometheus matcher semantics', () => {
  const keys = Object.keys(CORPUS);
  for (const [matcher, expected] of TABLE) {
    it(`${matcher.name} ${matcher.type} ${JSON.stringify(matcher.value)}`, () => {
      const got = keys.filter((k) => matches(CORPUS[k], matcher));
      expect(got).toEqual(expected);
    });
  }
});

describe('matchesAll', () => {
  it('matches every series with no matchers, and ANDs the rest', () => {
    expect(Object.keys(CORPUS).filter((k) => matchesAll(CORPUS[k], []))).toEqual(Object.keys(CORPUS));
    const both = [m('EQ', 'job', 'api'), m('NEQ', 'env', 'prod')];
    expect(Object.keys(CORPUS).filter((k) => matchesAll(CORPUS[k], both))).toEqual(['c']);
  });
});

describe('compileRegex', () => {
  it.each([
    ['a(?=b)'], ['a\\1'], ['(a'], ['a)'], ['a)|(b'], ['*a'], ['a**'], ['a{1001}'], ['[b-a]'], ['\\'], ['\\k'], ['[[:foo:]]'], ['\\C'],
  ])('refuses %s, as RE2 does', (re) => {
    expect(() => compileRegex(re)).toThrow(/^invalid regular expression/);
  });

  it.each([
    ['api|db', '^(?:api|db)$'],
    ['a.*', '^(?:a[^\\n]*)$'],
    ['\\d+', '^(?:[0-9]+)$'],
    ['[]a-]', '^(?:[\\]a\\-])$'],
    ["'; DROP", "^(?:'; DROP)$"],
    ['(?s)a.', '^(?:a.)$'],
    ['(a|aa)+b', '^(?:(?:a|aa)+b)$'],
    ['a{2,300}', null],
    ['\\bx', null],
    ['(?i)x', null],
    ['\\pL', null],
    ['[à-ï]', null],
    ['a\\x00', null],
    ['(?m)a', null],
    ['a(?i:b)', null],
    ['(?U)a+', null],
    ['[[:^alpha:]]', null],
  ])('translates %s for PostgreSQL as %s', (re, sql) => {
    expect(compileRegex(re).sql).toBe(sql);
  });

  it('takes every RE2 pattern, whatever a backtracking engine would make of it', () => {
    for (const re of ['(?i)(a+)+b', '\\b(a|aa)+\\b', '((a+)+)+\\pL', '(?i)(x(a*))*', '(?i)(a+){2,5}', '(?i)[a-z]*[a-z]*[a-z]*\\d', '(?m)^a$', '(?U)a+?']) {
      expect(() => compileRegex(re), re).not.toThrow();
    }
    expect(compileRegex('(?m)a').matches('a')).toBe(true);
    expect(compileRegex('(?m)^a$').matches('a\nb')).toBe(false); // the outer anchors still hold the whole value
  });

  it('answers a value a backtracking engine takes exponential time on, in linear time', () => {
    const hostile = 'a'.repeat(10_000);
    // [pattern, matches the hostile value, matches it with a final "b"]
    const table: [string, boolean, boolean][] = [
      ['(a|aa)+b', false, true], ['(?i)(a|aa)+b', false, true], ['\\b(a|aa)+b', false, true], ['(?i)(a+)+b', false, true],
      ['((a+)+)+\\pN', false, false], ['(?i)[a-z]*[a-z]*[a-z]*\\d', false, false], ['\\b.*.*x', false, false], ['(?i)(a|aa)+', true, false],
    ];
    for (const [re, plain, withB] of table) {
      const c = compileRegex(re);
      const started = performance.now();
      expect(c.matches(hostile), re).toBe(plain);
      expect(c.matches(`${hostile}b`), re).toBe(withB);
      expect(performance.now() - started, re).toBeLessThan(250);
    }
  });

  it("reads `.` as Prometheus 3 does with dotMatchesNewline, in re2js and in SQL", () => {
    const p3 = { dotMatchesNewline: true };
    expect(compileRegex('a.b').matches('a\nb')).toBe(false);
    expect(compileRegex('a.b', p3).matches('a\nb')).toBe(true);
    expect(compileRegex('a.b', p3).sql).toBe('^(?:a.b)$');
    expect(compileRegex('.*', p3).sql).toBe('^(?:.*)$');
    expect(compileRegex('(?-s)a.b', p3).matches('a\nb')).toBe(false); // a pattern may still turn it off
    expect(compileRegex('(?-s)a.b', p3).sql).toBeNull();
    expect(compileRegex('(?i)a.b', p3).matches('A\nB')).toBe(true);
  });
});

describe('matches with dotMatchesNewline (Prometheus 3)', () => {
  const p3 = { dotMatchesNewline: true };
  it.each([
    [m('RE', 'job', '.*'), ['a', 'b', 'c', 'd', 'e', 'f']],
    [m('RE', 'job', '.+'), ['a', 'b', 'c', 'e', 'f']],
    [m('RE', 'job', 'a.b'), ['e']],
    [m('NRE', 'job', 'a.b'), ['a', 'b', 'c', 'd', 'f']],
    [m('RE', 'job', 'api|db'), ['a', 'b', 'c']],
  ])('%o', (matcher, expected) => {
    expect(Object.keys(CORPUS).filter((k) => matches(CORPUS[k], matcher, p3))).toEqual(expected);
  });
});

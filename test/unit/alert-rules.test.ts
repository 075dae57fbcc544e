/**
 * infra/prometheus/promfleet-alerts.yml: promtool accepts it and its unit tests pass
 * (promfleet-alerts.test.yml); every promfleet_* metric it reads is one promfleet registers, and
 * every alert's runbook_url names a section of docs/alerts.md.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/observability/metrics.js';
import { readRepoFile, repoFile } from '../helpers/deploy.js';
import { arr, obj, readYaml, str } from '../helpers/yaml-access.js';

const run = promisify(execFile);
const PROMTOOL = process.env.PROMTOOL ?? '/usr/bin/promtool';
const RULES = 'infra/prometheus/promfleet-alerts.yml';
const TESTS = 'infra/prometheus/promfleet-alerts.test.yml';

const rules = arr(obj(readYaml(RULES), RULES).groups, 'groups').flatMap((g, i) => arr(obj(g, `group ${i}`).rules, `group ${i} rules`).map((r, j) => obj(r, `rule ${j}`)));

/** GitHub's anchor of a Markdown heading. */
const anchor = (heading: string): string => heading.trim().toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-');

async function promtool(ctx: { skip: (note?: string) => void }, args: string[]): Promise<string> {
  if (!existsSync(PROMTOOL)) {
    // CI installs Debian's prometheus package: there, a missing promtool is a failure.
    if (process.env.CI === 'true') throw new Error(`${PROMTOOL} not found (CI=true): install Debian's prometheus package`);
    ctx.skip(`${PROMTOOL} not found: the alert rules were NOT checked by promtool`);
  }
  const { stdout, stderr } = await run(PROMTOOL, args, { cwd: fileURLToPath(repoFile('.')), timeout: 60_000 });
  return stdout + stderr;
}

describe('alerting rules', () => {
  it('pass promtool check rules', async (ctx) => {
    expect(await promtool(ctx, ['check', 'rules', RULES])).toMatch(/SUCCESS: 7 rules found/);
  });

  it('pass their promtool unit tests, one test group per alert', async (ctx) => {
    const tested = new Set(arr(obj(readYaml(TESTS), TESTS).tests, 'tests').flatMap((t, i) =>
      arr(obj(t, `test ${i}`).alert_rule_test, `test ${i} alert_rule_test`).map((a) => str(obj(a, 'alert_rule_test').alertname, 'alertname'))));
    expect([...tested].sort()).toEqual(rules.map((r) => str(r.alert, 'alert')).sort());
    expect(await promtool(ctx, ['test', 'rules', TESTS])).toMatch(/SUCCESS/);
  });

  it('read only metrics promfleet registers', async () => {
    const names = new Set((await new Metrics().registry.getMetricsAsJSON()).map((m) => m.name));
    for (const r of rules) {
      const expr = str(r.expr, 'expr');
      const used = [...expr.matchAll(/\bpromfleet_\w+/g)].map((m) => m[0].replace(/_bucket$/, ''));
      expect(used.length, expr).toBeGreaterThan(0);
      for (const n of used) expect(names.has(n), `${String(r.alert)}: ${n}`).toBe(true);
    }
  });

  it('point each alert at its runbook section in docs/alerts.md', () => {
    const doc = readRepoFile('docs/alerts.md');
    const sections = new Set([...doc.matchAll(/^## (.+)$/gm)].map((m) => anchor(m[1])));
    for (const r of rules) {
      const url = str(obj(r.annotations, 'annotations').runbook_url, `${String(r.alert)} runbook_url`);
      expect(url).toBe(`docs/alerts.md#${anchor(str(r.alert, 'alert'))}`);
      expect(sections.has(url.split('#')[1]), url).toBe(true);
    }
  });
});

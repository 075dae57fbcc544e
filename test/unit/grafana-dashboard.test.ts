/**
 * infra/grafana/promfleet.json against the metrics promfleet registers: every promfleet_*,
 * process_* and nodejs_* name a query uses exists, with the labels the query uses.
 */
import { describe, expect, it } from 'vitest';
import { Histogram } from 'prom-client';
import { Metrics } from '../../src/observability/metrics.js';
import { readRepoFile } from '../helpers/deploy.js';
import { arr, obj, optArr, str, type Node } from '../helpers/yaml-access.js';

const dashboard = obj(JSON.parse(readRepoFile('infra/grafana/promfleet.json')), 'promfleet.json');

/** Registered metric names with their label names (histograms also as _bucket, _sum, _count). */
async function registered(): Promise<Map<string, Set<string>>> {
  const metrics = new Metrics();
  const out = new Map<string, Set<string>>();
  for (const m of await metrics.registry.getMetricsAsJSON()) {
    const single = metrics.registry.getSingleMetric(m.name);
    // prom-client keeps the declared label names on the metric object.
    const declared = (single as unknown as { labelNames?: unknown }).labelNames;
    const labels = new Set(Array.isArray(declared) ? declared.map(String) : []);
    out.set(m.name, labels);
    if (single instanceof Histogram) {
      out.set(`${m.name}_bucket`, new Set([...labels, 'le']));
      out.set(`${m.name}_sum`, labels);
      out.set(`${m.name}_count`, labels);
    }
  }
  return out;
}

function allPanels(panels: unknown[]): Node[] {
  return panels.flatMap((p, i) => {
    const panel = obj(p, `panel ${i}`);
    return [panel, ...allPanels(optArr(panel.panels, `panel ${i} panels`))];
  });
}

const panels = allPanels(arr(dashboard.panels, 'panels'));
const queries = panels.flatMap((p) => optArr(p.targets, `panel ${String(p.title)} targets`).map((t) => ({
  panel: str(p.title, 'title'),
  expr: str(obj(t, `panel ${String(p.title)} target`).expr, `panel ${String(p.title)} expr`),
})));

/** Labels a query groups by or matches on: `by (...)`, `without (...)`, and `{name=...}` selectors. */
function labelsUsed(expr: string): string[] {
  const grouped = [...expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)].flatMap((m) => m[1].split(',').map((l) => l.trim()).filter(Boolean));
  const matched = [...expr.matchAll(/\{([^}]*)\}/g)].flatMap((m) => [...m[1].matchAll(/([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)/g)].map((x) => x[1]));
  return [...grouped, ...matched];
}

describe('Grafana dashboard', () => {
  it('queries only metrics promfleet registers, with their labels', async () => {
    const names = await registered();
    expect(queries.length).toBeGreaterThan(0);
    for (const { panel, expr } of queries) {
      const used = [...expr.matchAll(/\b(?:promfleet|process|nodejs)_\w+/g)].map((m) => m[0]);
      expect(used.filter((n) => n.startsWith('promfleet_')).length, `${panel}: ${expr} selects no promfleet_* metric`).toBeGreaterThan(0);
      const allowed = new Set(['instance', 'job']);
      for (const name of used) {
        const labels = names.get(name);
        expect(labels, `${panel}: ${name} is not registered in src/observability/metrics.ts`).toBeDefined();
        for (const l of labels ?? []) allowed.add(l);
      }
      for (const label of labelsUsed(expr)) expect([...allowed], `${panel}: label "${label}" in ${expr}`).toContain(label);
    }
  });

  it('shows throughput, backlog per queue, leader per group, handoffs and errors', () => {
    const uses = (metric: string): boolean => queries.some((q) => new RegExp(`\\b${metric}\\b`).test(q.expr));
    for (const m of [
      'promfleet_written_samples_total', 'promfleet_received_samples_total', 'promfleet_queue_depth_batches',
      'promfleet_ha_follower_backlog_batches', 'promfleet_ha_leader', 'promfleet_ha_leadership_changes_total',
      'promfleet_rejected_requests_total', 'promfleet_database_errors_total', 'promfleet_dead_letter_batches_total',
    ]) expect(uses(m), m).toBe(true);
    expect(queries.some((q) => /by \(queue\b[^)]*\) \(promfleet_queue_depth_batches/.test(q.expr)), 'backlog per queue').toBe(true);
    expect(queries.some((q) => /by \(group, replica\) \(promfleet_ha_leader\)/.test(q.expr)), 'leader per group').toBe(true);
  });

  it('uses the standard process and Node.js metric names, and rates over $__rate_interval', () => {
    const exprs = queries.map((q) => q.expr);
    expect(exprs.some((e) => /\bprocess_resident_memory_bytes\b/.test(e))).toBe(true);
    expect(exprs.some((e) => /\bnodejs_heap_size_used_bytes\b/.test(e))).toBe(true);
    for (const e of exprs) {
      expect(e).not.toContain('promfleet_process_');
      expect(e, 'a rate over the whole range hides when things happened').not.toContain('$__range');
    }
  });

  it('shows the remote-read path and the PostgreSQL pools', () => {
    for (const m of ['promfleet_read_requests_total', 'promfleet_read_request_seconds_bucket', 'promfleet_read_samples_total', 'promfleet_pg_pool_connections_in_use', 'promfleet_pg_pool_waiting_clients']) {
      expect(queries.some((q) => q.expr.includes(m)), m).toBe(true);
    }
  });

  it('takes its data source from a variable, so it imports into any Grafana', () => {
    const templating = obj(dashboard.templating, 'templating');
    const ds = arr(templating.list, 'templating.list').map((v) => obj(v, 'variable')).find((v) => v.type === 'datasource');
    expect(ds?.query).toBe('prometheus');
    for (const p of panels.filter((x) => x.type !== 'row')) {
      expect(obj(p.datasource, `${String(p.title)} datasource`).uid, String(p.title)).toBe(`\${${String(ds?.name)}}`);
    }
  });
});

import type pg from 'pg';
import { PromfleetError } from '../errors.js';
import type { Exemplar, Histogram, Label, LabelMatcher, Sample, TimeSeries } from '../protocol/index.js';
import { assertSchemaName, quoteIdent } from './ident.js';
import type { SampleColumns } from './packed-samples.js';
import { readExtras, type SeriesExtras } from './read-histograms-exemplars.js';
import { streamSamples, type StreamedColumns } from './read-stream.js';

/**
 * Prometheus's matcher semantics as the series selection needs them (src/read holds them):
 * what PostgreSQL can evaluate exactly, and the reference evaluation for the rest.
 */
export interface Matching {
  /** A RE2 pattern as a fully anchored PostgreSQL ARE, null when only `matchesValue` is exact; throws BAD_REQUEST when invalid. */
  sqlRegex(pattern: string): string | null;
  /** One matcher against one value ("" for an absent label). */
  matchesValue(value: string, m: LabelMatcher): boolean;
  /** Every matcher matches the label set. */
  matchesAll(labels: readonly Label[], ms: readonly LabelMatcher[]): boolean;
}

export interface SampleReaderOptions {
  readonly pool: pg.Pool;
  readonly schema: string;
  readonly matching: Matching;
}

export interface ReadQuery {
  /** Inclusive bounds, milliseconds since the epoch. */
  readonly startMs: number;
  readonly endMs: number;
  readonly matchers: readonly LabelMatcher[];
  /** Labels never stored (the HA replica label): matchers on them are dropped. */
  readonly ignoreLabels?: readonly string[];
  /** Also read native histograms and exemplars (SAMPLES responses carry them). Default false. */
  readonly extras?: boolean;
  /** Most series the database may select for the query (before promfleet's own regex filter); more is LIMIT_READ_SERIES. */
  readonly maxSeries?: number;
  /** Most samples the query may return; more is LIMIT_READ_SAMPLES. */
  readonly maxSamples?: number;
}

/** The SQL for the series selection, with every user string as a bind parameter. */
export interface SeriesSelection {
  readonly where: string;
  readonly params: string[];
  /** Matchers SQL could not evaluate exactly: apply to the selected rows with `matchesAll`. */
  readonly jsFilter: LabelMatcher[];
  /** Some matcher can match no series at all: nothing to ask the database. */
  readonly none: boolean;
}

/** The ARE that `(?s).*` becomes (and `.*` where `.` matches \n): it matches every value. */
const MATCHES_EVERY_VALUE = '^(?:.*)$';

/**
 * Builds the WHERE clause for the series table. Strings containing NUL can never be stored
 * (PostgreSQL text and jsonb refuse them), so matchers naming or comparing such strings are
 * decided here as constants instead of being sent.
 */
export function selectSeries(matchers: readonly LabelMatcher[], matching: Matching): SeriesSelection {
  const params: string[] = [];
  const conds: string[] = [];
  const jsFilter: LabelMatcher[] = [];
  const param = (v: string): string => {
    params.push(v);
    return `$${params.length}`;
  };
  for (const m of matchers) {
    if (m.name.includes('\0')) {
      // No stored label has this name: its value is "" for every series.
      if (!matching.matchesValue('', m)) conds.push('FALSE');
      continue;
    }
    const isName = m.name === '__name__';
    const col = (): string => (isName ? 'metric' : `coalesce(labels->>${param(m.name)}, '')`);
    switch (m.type) {
      case 'EQ':
        if (m.value.includes('\0')) conds.push('FALSE');
        else if (isName) conds.push(`metric = ${param(m.value)}`);
        else if (m.value === '') conds.push(`${col()} = ''`);
        else conds.push(`labels @> jsonb_build_object(${param(m.name)}::text, ${param(m.value)}::text)`);
        break;
      case 'NEQ':
        if (!m.value.includes('\0')) conds.push(`${col()} <> ${param(m.value)}`);
        break;
      case 'RE':
      case 'NRE': {
        const sql = matching.sqlRegex(m.value); // throws on what cannot be evaluated at all
        if (sql === null) {
          jsFilter.push(m);
          break;
        }
        // Cheap and exact for the one regex that matches every value.
        if (sql === MATCHES_EVERY_VALUE) {
          if (m.type === 'NRE') conds.push('FALSE');
          break;
        }
        conds.push(`${col()} ${m.type === 'RE' ? '~' : '!~'} ${param(sql)}`);
        break;
      }
      default:
        throw new PromfleetError('BAD_REQUEST', `unknown matcher type ${String(m.type)}`);
    }
  }
  return { where: conds.length === 0 ? 'TRUE' : conds.join(' AND '), params, jsFilter, none: conds.includes('FALSE') };
}

function byName(a: Label, b: Label): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Prometheus's labels.Compare: pairwise by name then value, then the shorter set first. */
export function compareLabelSets(a: readonly Label[], b: readonly Label[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i].name !== b[i].name) return a[i].name < b[i].name ? -1 : 1;
    if (a[i].value !== b[i].value) return a[i].value < b[i].value ? -1 : 1;
  }
  return a.length - b.length;
}

interface SeriesRow {
  id: string;
  metric: string;
  labels: Record<string, string>;
}

/** One series of a read: its labels (sorted) and its samples as columns. */
export interface ReadSeries extends SampleColumns {
  readonly labels: Label[];
}

/** A series as a read streams it: with its id, and its native histograms and exemplars when asked for. */
export interface StreamedSeries extends ReadSeries {
  readonly id: number;
  readonly histograms: readonly Histogram[];
  readonly exemplars: readonly Exemplar[];
}

const NO_SAMPLES = new Float64Array(0);
/** Fewest series a read gives each of its two COPYs: below twice this, one COPY. */
const MIN_SERIES_PER_PART = 32;

/**
 * Reads series and samples for a remote_read query. Values are read as their 8 big-endian bytes
 * (float8's binary form) so NaN payloads, the stale marker included, keep their exact bits.
 */
export class SampleReader {
  private readonly pool: pg.Pool;
  private readonly seriesTable: string;
  private readonly samplesTable: string;
  private readonly schema: string;
  private readonly matching: Matching;

  constructor(opts: SampleReaderOptions) {
    assertSchemaName(opts.schema);
    this.pool = opts.pool;
    this.matching = opts.matching;
    this.seriesTable = `${quoteIdent(opts.schema)}.series`;
    this.samplesTable = `${quoteIdent(opts.schema)}.samples`;
    this.schema = quoteIdent(opts.schema);
  }

  /** The selected series' labels by id; undefined when the query can select nothing. */
  private async selectIds(q: ReadQuery): Promise<Map<number, Label[]> | undefined> {
    if (!Number.isFinite(q.startMs) || !Number.isFinite(q.endMs)) {
      throw new PromfleetError('BAD_REQUEST', 'read time bounds must be finite');
    }
    if (q.startMs > q.endMs) return undefined;
    const ignore = new Set(q.ignoreLabels ?? []);
    const matchers = q.matchers.filter((m) => !ignore.has(m.name));
    const sel = selectSeries(matchers, this.matching);
    if (sel.none) return undefined;

    // One row past each limit tells "over" from "exactly at" without counting everything.
    const maxSeries = q.maxSeries ?? Number.MAX_SAFE_INTEGER;
    const seriesRes = await this.pool.query<SeriesRow>(
      `SELECT id::text AS id, metric, labels FROM ${this.seriesTable} WHERE ${sel.where} LIMIT $${sel.params.length + 1}::bigint`,
      [...sel.params, maxSeries + 1]);
    if (seriesRes.rows.length > maxSeries) {
      throw new PromfleetError('LIMIT_READ_SERIES', `the query selects more than ${maxSeries} series (--web.read-series-limit)`);
    }
    const byId = new Map<number, Label[]>();
    for (const row of seriesRes.rows) {
      const labels: Label[] = [{ name: '__name__', value: row.metric }];
      for (const [name, value] of Object.entries(row.labels)) labels.push({ name, value });
      labels.sort(byName);
      if (sel.jsFilter.length > 0 && !this.matching.matchesAll(labels, sel.jsFilter)) continue;
      byId.set(Number(row.id), labels);
    }
    return byId.size === 0 ? undefined : byId;
  }

  /** Whether any series the query selects has a native histogram in its time range. */
  async hasHistograms(q: ReadQuery): Promise<boolean> {
    const byId = await this.selectIds(q);
    if (byId === undefined) return false;
    const r = await this.pool.query<{ found: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM ${this.schema}.histograms WHERE series_id = ANY($1::bigint[])
         AND time >= to_timestamp($2::float8 / 1000.0) AND time <= to_timestamp($3::float8 / 1000.0)) AS found`,
      [[...byId.keys()], q.startMs, q.endMs]);
    return r.rows[0]?.found === true;
  }

  /** The float samples of a query, series in Prometheus's order (by label set). */
  async readColumns(q: ReadQuery): Promise<ReadSeries[]> {
    const out: ReadSeries[] = [];
    await this.eachSeries({ ...q, extras: false }, (s) => out.push({ labels: s.labels, times: s.times.slice(), values: s.values.slice() }));
    return out.sort((a, b) => compareLabelSets(a.labels, b.labels));
  }

  /**
   * Calls `each` once per selected series that has float samples in range (and, when
   * `q.extras`, once per series with only native histograms or exemplars in range), in no
   * particular order, as the samples arrive from PostgreSQL, so an answer can be encoded while
   * the rest is still read; its columns are valid only during the call (copy them to keep them).
   * Sort by `compareLabelSets` for Prometheus's order. On a rejection
   * (LIMIT_READ_SAMPLES included) the series already given are not the whole answer.
   */
  async eachSeries(q: ReadQuery, each: (s: StreamedSeries) => void): Promise<void> {
    const byId = await this.selectIds(q);
    if (byId === undefined) return;
    const ids = [...byId.keys()];
    const extras = q.extras
      ? await readExtras(this.pool, this.schema, ids.map(String), q.startMs, q.endMs)
      : new Map<string, SeriesExtras>();
    // The rows are taken one past the sample limit at most, and the read stops as soon as the
    // count passes it, so memory stays bounded by it.
    const maxSamples = q.maxSamples ?? Number.MAX_SAFE_INTEGER;
    const limit = Math.min(maxSamples + 1, Number.MAX_SAFE_INTEGER);
    let total = 0;
    let failed: { error: unknown } | undefined;
    const onColumns = (c: StreamedColumns): void => {
      if (failed !== undefined) throw new Error('read: stopped, another part of the read failed');
      total += c.times.length;
      if (total > maxSamples) {
        throw new PromfleetError('LIMIT_READ_SAMPLES', `the query selects more than ${maxSamples} samples (--web.read-sample-limit)`);
      }
      const labels = byId.get(c.id);
      if (labels === undefined || c.times.length === 0) return;
      const e = extras.get(String(c.id));
      extras.delete(String(c.id));
      each({ id: c.id, labels, times: c.times, values: c.values, histograms: e?.histograms ?? [], exemplars: e?.exemplars ?? [] });
    };
    // Many series are read as two COPYs on two connections, so PostgreSQL reads and sends with
    // two backends while this process encodes (a 1 h × 1,000-series read, 2 cores: about 20 %
    // faster). Both parts are waited for, so no connection is still in use when this returns;
    // once one fails, the other stops at its next series.
    const parts = ids.length >= 2 * MIN_SERIES_PER_PART ? [ids.filter((_, i) => i % 2 === 0), ids.filter((_, i) => i % 2 === 1)] : [ids];
    await Promise.all(parts.map((part) => streamSamples(
      this.pool, this.samplesTable, { ids: part, startMs: q.startMs, endMs: q.endMs, limit }, onColumns,
    ).catch((error: unknown) => {
      // The first error is the read's; the other part's only says it was stopped.
      failed ??= { error };
    })));
    if (failed !== undefined) throw failed.error;
    // Series with histograms or exemplars but no float sample in range are results too.
    for (const [idText, e] of extras) {
      const labels = byId.get(Number(idText));
      if (labels === undefined) continue;
      each({ id: Number(idText), labels, times: NO_SAMPLES, values: NO_SAMPLES, histograms: e.histograms, exemplars: e.exemplars });
    }
  }

  /**
   * The same as remote-write time series (one object per sample), with native histograms and
   * exemplars when `q.extras`, series in Prometheus's order.
   */
  async read(q: ReadQuery): Promise<TimeSeries[]> {
    const out: TimeSeries[] = [];
    await this.eachSeries(q, (s) => {
      const samples: Sample[] = new Array<Sample>(s.times.length);
      for (let i = 0; i < s.times.length; i++) samples[i] = { timestamp: s.times[i], value: s.values[i] };
      out.push({ labels: s.labels, samples, exemplars: [...s.exemplars], histograms: [...s.histograms] });
    });
    return out.sort((a, b) => compareLabelSets(a.labels, b.labels));
  }
}

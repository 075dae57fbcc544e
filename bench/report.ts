/** Figures, their ceilings, and how they are printed and saved. */

export interface Ceiling {
  readonly name: string;
  readonly value: number;
}

export interface Figure {
  /** Short name, e.g. `decode`. */
  readonly name: string;
  readonly value: number;
  /** e.g. `samples/s`, `rows/s`. */
  readonly unit: string;
  /** What bounds this figure on this machine, measured in the same run. */
  readonly ceiling?: Ceiling;
  /** Other figures worth printing beside it (peers, baselines). */
  readonly peers?: readonly Ceiling[];
  /** What the figure is the sum of, printed without a ratio. */
  readonly parts?: readonly Ceiling[];
  /** One line on what was measured. */
  readonly note?: string;
}

/** 1.93M, 420k, 12.3: three significant digits, SI suffix. */
export function human(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  if (abs >= 1e9) return `${(n / 1e9).toPrecision(3)}G`;
  if (abs >= 1e6) return `${(n / 1e6).toPrecision(3)}M`;
  if (abs >= 1e3) return `${(n / 1e3).toPrecision(3)}k`;
  return n.toPrecision(3);
}

export function ratio(value: number, ceiling: number): number {
  return ceiling > 0 ? value / ceiling : NaN;
}

/** `write  420k samples/s = 0.76 x raw COPY 550k rows/s` */
export function formatFigure(f: Figure, nameWidth = 18): string {
  // A figure that could not be measured (a peer not installed) says why instead of a number.
  if (!Number.isFinite(f.value)) return `${f.name.padEnd(nameWidth)} ${f.unit}${f.note ? ` (${f.note})` : ''}`;
  let line = `${f.name.padEnd(nameWidth)} ${human(f.value).padStart(6)} ${f.unit}`;
  if (f.ceiling) line += ` = ${ratio(f.value, f.ceiling.value).toFixed(2)} x ${f.ceiling.name} ${human(f.ceiling.value)}`;
  for (const p of f.peers ?? []) line += `; ${ratio(f.value, p.value).toFixed(2)} x ${p.name} ${human(p.value)}`;
  if (f.parts) line += `; of which ${f.parts.map((p) => `${p.name} ${human(p.value)}`).join(', ')}`;
  return line;
}

/** Rate of `count` things done in `ms` milliseconds, per second. */
export function perSecond(count: number, ms: number): number {
  return ms > 0 ? (count * 1000) / ms : NaN;
}

/** Milliseconds since `start` (process.hrtime.bigint()). */
export function elapsedMs(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Parsers for flag values. Each throws a plain Error naming what it expected; the caller adds the setting's name. */

const BYTE_UNITS: Record<string, number> = {
  '': 1, B: 1, KB: 1e3, MB: 1e6, GB: 1e9, KIB: 1024, MIB: 1024 ** 2, GIB: 1024 ** 3,
};

export function parseBytes(raw: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(raw.trim());
  const unit = m ? BYTE_UNITS[m[2].toUpperCase()] : undefined;
  if (!m || unit === undefined) throw new Error('expected a size such as 1048576, 32MiB or 64MB');
  const n = Math.floor(Number(m[1]) * unit);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error('expected a positive size');
  return n;
}

const DURATION_UNITS: Record<string, number> = {
  ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000,
};

/** Prometheus-style durations ("500ms", "30s", "1h30m", "2d"); "0" means zero. Returns milliseconds. */
export function parseDuration(raw: string): number {
  const s = raw.trim();
  if (s === '0') return 0;
  const re = /(\d+)(ms|s|m|h|d|w)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * DURATION_UNITS[m[2]];
    consumed = re.lastIndex;
  }
  if (s.length === 0 || consumed !== s.length) throw new Error('expected a duration such as 500ms, 30s, 5m or 1d');
  return total;
}

export function parseInteger(raw: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(raw.trim())) throw new Error('expected an integer');
  const n = Number(raw.trim());
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new Error(`expected an integer from ${min} to ${max}`);
  return n;
}

export function parseBoolean(raw: string): boolean {
  const s = raw.trim().toLowerCase();
  if (s === 'true' || s === '1' || s === 'yes') return true;
  if (s === 'false' || s === '0' || s === 'no') return false;
  throw new Error('expected true or false');
}

export interface ListenAddress {
  host: string;
  port: number;
}

/** "host:port", ":port" (all interfaces) or "[::1]:port". */
export function parseListenAddress(raw: string): ListenAddress {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(raw.trim());
  if (!m) throw new Error('expected host:port or :port');
  const port = Number(m[3]);
  if (port > 65535) throw new Error('port must be at most 65535');
  return { host: m[1] ?? (m[2] === '' ? '0.0.0.0' : m[2]), port };
}

export function parseUrl(raw: string, protocols: readonly string[]): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`expected a URL (${protocols.join(', ')})`);
  }
  if (!protocols.includes(url.protocol)) throw new Error(`expected a URL with scheme ${protocols.join(' or ')}`);
  return raw;
}

/** SQL identifiers we interpolate (schema names) are restricted to a safe, unquoted form. */
export function parseIdentifier(raw: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(raw)) throw new Error('expected a lower-case SQL identifier ([a-z_][a-z0-9_]*)');
  return raw;
}

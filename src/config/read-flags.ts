import type { FlagTable, FlagValuesOf } from './flag-spec.js';

/** Why a command line or a variable was refused; each command words it for its own output. */
export type FlagProblem =
  | { readonly kind: 'unexpected'; readonly arg: string }
  | { readonly kind: 'unknown'; readonly name: string }
  | { readonly kind: 'missing-value'; readonly name: string }
  /** `source` is `--name`, the environment variable or `default of --name`. */
  | { readonly kind: 'invalid'; readonly name: string; readonly source: string; readonly text: string; readonly reason: string };

export class FlagError extends Error {
  override name = 'FlagError';
  constructor(readonly problem: FlagProblem) {
    super(describe(problem));
  }
}

function describe(p: FlagProblem): string {
  switch (p.kind) {
    case 'unexpected': return `unexpected argument "${p.arg}"`;
    case 'unknown': return `unknown flag --${p.name}`;
    case 'missing-value': return `flag --${p.name} needs a value`;
    case 'invalid': return `invalid value ${JSON.stringify(p.text)} for ${p.source}: ${p.reason}`;
  }
}

/** Each accepted name (flag names and aliases) → its flag. */
function namesOf<T extends FlagTable>(table: T): Map<string, keyof T & string> {
  const byName = new Map<string, keyof T & string>();
  for (const name of Object.keys(table) as (keyof T & string)[]) {
    byName.set(name, name);
    for (const alias of table[name].aliases ?? []) byName.set(alias, name);
  }
  return byName;
}

/** `--name[=value]` or `-name[=value]`: the name and the value (undefined without "="); undefined for anything else. */
function flagParts(arg: string): { name: string; value: string | undefined } | undefined {
  const m = /^--?([A-Za-z0-9._-]+)(?:=(.*))?$/s.exec(arg);
  return m ? { name: m[1], value: m[2] } : undefined;
}

/** Splits "--a=b", "--a b", "-a b" and bare boolean "--a" into raw name/value pairs. */
export function readArgs<T extends FlagTable>(table: T, argv: readonly string[]): Map<keyof T & string, string> {
  const byName = namesOf(table);
  const out = new Map<keyof T & string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const parts = flagParts(arg);
    if (!parts) throw new FlagError({ kind: 'unexpected', arg });
    const name = byName.get(parts.name);
    if (!name) throw new FlagError({ kind: 'unknown', name: parts.name });
    let value = parts.value;
    if (value === undefined) {
      if (table[name].kind === 'bool' && (i + 1 >= argv.length || argv[i + 1].startsWith('-'))) value = 'true';
      else if (i + 1 < argv.length) value = argv[++i];
      else throw new FlagError({ kind: 'missing-value', name });
    }
    out.set(name, value);
  }
  return out;
}

/**
 * Flags win over environment variables (when the command reads any: `envName` gives each
 * flag's), which win over defaults. Every value is parsed here, once.
 */
export function readFlagValues<T extends FlagTable>(
  table: T, argv: readonly string[], env?: { readonly vars: NodeJS.ProcessEnv; readonly name: (flag: string) => string },
): FlagValuesOf<T> {
  const raw = readArgs(table, argv);
  const values: Record<string, unknown> = {};
  for (const name of Object.keys(table) as (keyof T & string)[]) {
    const spec = table[name];
    const fromEnv = env?.vars[env.name(name)];
    const text = raw.get(name) ?? fromEnv ?? spec.default;
    if (text === undefined) {
      values[name] = undefined;
      continue;
    }
    try {
      values[name] = spec.parse(text);
    } catch (err) {
      const source = raw.has(name) ? `--${name}` : fromEnv !== undefined && env ? env.name(name) : `default of --${name}`;
      throw new FlagError({ kind: 'invalid', name, source, text, reason: (err as Error).message });
    }
  }
  return values as FlagValuesOf<T>;
}

/**
 * Splits a command's leading operands from its flags: operands come first and run until the
 * first argument that names a flag of the table (or until "--", which is dropped). An operand
 * may itself start with "-": a base64url batch id does, one time in 64.
 */
export function splitOperands<T extends FlagTable>(table: T, argv: readonly string[]): { operands: string[]; flags: string[] } {
  const byName = namesOf(table);
  const operands: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') return { operands: [...operands, ...argv.slice(i + 1)], flags: [] };
    const parts = flagParts(arg);
    if (parts && byName.has(parts.name)) break;
    operands.push(arg);
  }
  return { operands, flags: argv.slice(i) };
}

/** The flag machinery every command shares: one table of specs per command, parsed the same way. */

/** One command-line flag: its default (as text, the way a user would type it), its parser and its help. */
export interface FlagSpec<T> {
  readonly help: string;
  /** Default as typed on the command line; undefined means "unset". */
  readonly default: string | undefined;
  readonly parse: (raw: string) => T;
  /** Names accepted as well (the original prometheus-postgresql-adapter's flags). */
  readonly aliases?: readonly string[];
  /** What kind of value it takes, for --help and the generated references. */
  readonly kind: 'string' | 'int' | 'bytes' | 'duration' | 'bool' | 'address' | 'url' | 'enum' | 'identifier' | 'number';
}

export function flag<T>(kind: FlagSpec<T>['kind'], def: string | undefined, parse: (raw: string) => T, help: string, aliases?: string[]): FlagSpec<T> {
  return { kind, default: def, parse, help, aliases };
}

/** A command's flags by name. */
export type FlagTable = { readonly [name: string]: FlagSpec<unknown> };

type ValueOf<F> = F extends FlagSpec<infer T> ? T : never;

/** The parsed values of a flag table, by flag name. */
export type FlagValuesOf<T extends FlagTable> = { readonly [K in keyof T]: ValueOf<T[K]> };

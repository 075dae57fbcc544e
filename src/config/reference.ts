import { ERRORS, type ErrorCode } from '../errors.js';
import { FLAGS, envName } from './flags.js';
import { LOADGEN_FLAGS } from './loadgen-flags.js';
import type { FlagTable } from './flag-spec.js';
import { adapterFlagReference } from './adapter-flags.js';

/** The configuration reference in docs/configuration.md, generated from the flag table (a test keeps it current). */
export function flagReference(): string {
  return flagRows(FLAGS, envName);
}

/** The `promfleet loadgen` flags in docs/configuration.md (they have no environment variables). */
export function loadgenFlagReference(): string {
  return flagRows(LOADGEN_FLAGS);
}

function flagRows(table: FlagTable, env?: (name: string) => string): string {
  const rows = env ? ['| flag | env | default | meaning |', '| --- | --- | --- | --- |'] : ['| flag | default | meaning |', '| --- | --- | --- |'];
  for (const [name, spec] of Object.entries(table)) {
    const aliases = spec.aliases?.length ? ` (alias ${spec.aliases.map((a) => `\`--${a}\``).join(', ')})` : '';
    const def = spec.default === undefined ? 'unset' : `\`${spec.default}\``;
    rows.push(`| \`--${name}\`${aliases} |${env ? ` \`${env(name)}\` |` : ''} ${def} | ${spec.help.replace(/\|/g, '\\|')} |`);
  }
  return rows.join('\n');
}

/** The error table in docs/errors.md, generated from the error catalogue. */
export function errorReference(): string {
  const rows = ['| code | HTTP | retry | meaning |', '| --- | --- | --- | --- |'];
  for (const code of Object.keys(ERRORS) as ErrorCode[]) {
    const e = ERRORS[code];
    rows.push(`| \`${code}\` | ${e.status} | ${e.retryable ? 'yes' : 'no'} | ${e.summary} |`);
  }
  return rows.join('\n');
}

const SECTIONS = { flags: flagReference, 'loadgen-flags': loadgenFlagReference, errors: errorReference, 'adapter-flags': adapterFlagReference } as const;

/** The documentation file (from the repository root) that holds each generated section. */
export const GENERATED_DOCS: Readonly<Record<keyof typeof SECTIONS, string>> = {
  flags: 'docs/configuration.md',
  'loadgen-flags': 'docs/configuration.md',
  errors: 'docs/errors.md',
  'adapter-flags': 'docs/migrating-from-prometheus-postgresql-adapter.md',
};

/** Replaces the text between `<!-- generated:NAME -->` and `<!-- /generated:NAME -->` markers. */
export function renderGenerated(text: string): string {
  let out = text;
  for (const [name, render] of Object.entries(SECTIONS)) {
    const re = new RegExp(`(<!-- generated:${name} -->)[\\s\\S]*?(<!-- /generated:${name} -->)`);
    out = out.replace(re, (_m, open: string, close: string) => `${open}\n${render()}\n${close}`);
  }
  return out;
}

/** Typed access to parsed YAML/JSON: each accessor throws, naming the place, when the shape is not what a test expects. */
import { parse, parseAllDocuments } from 'yaml';
import { readRepoFile } from './deploy.js';

export type Node = Record<string, unknown>;

export function obj(v: unknown, where: string): Node {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${where}: expected a mapping`);
  return v as Node;
}

export function arr(v: unknown, where: string): unknown[] {
  if (!Array.isArray(v)) throw new Error(`${where}: expected a list`);
  return v;
}

export function str(v: unknown, where: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new Error(`${where}: expected a scalar`);
}

export const optObj = (v: unknown, where: string): Node => (v === undefined ? {} : obj(v, where));
export const optArr = (v: unknown, where: string): unknown[] => (v === undefined ? [] : arr(v, where));

/** A list of strings, or one string split on blanks (compose's string form of command). */
export function words(v: unknown, where: string): string[] {
  if (typeof v === 'string') return v.split(/\s+/).filter(Boolean);
  return arr(v, where).map((x, i) => str(x, `${where}[${i}]`));
}

/** One YAML file of the repository, with merge keys (<<) resolved as compose resolves them. */
export function readYaml(path: string): unknown {
  return parse(readRepoFile(path), { merge: true });
}

/** Every document of a multi-document YAML file, failing on the first error. */
export function readYamlDocuments(path: string): Node[] {
  return parseAllDocuments(readRepoFile(path), { merge: true }).flatMap((doc, i) => {
    if (doc.errors.length > 0) throw new Error(`${path} document ${i}: ${doc.errors[0].message}`);
    const v: unknown = doc.toJS();
    return v === null ? [] : [obj(v, `${path} document ${i}`)];
  });
}

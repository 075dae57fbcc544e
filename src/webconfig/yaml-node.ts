/** The values a YAML document parses to, and the small checks the web config's parts share. */

export type Node = null | undefined | boolean | number | string | Node[] | { [key: string]: Node };

/** A problem in the file; its message names the key and never quotes a secret. */
export class WebConfigError extends Error {}

export function isMap(v: Node): v is { [key: string]: Node } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Refuses keys outside `keys`, naming the first unknown one and where it is. */
export function only(o: { [key: string]: Node }, keys: readonly string[], where: string): void {
  for (const k of Object.keys(o)) {
    if (!keys.includes(k)) throw new WebConfigError(`${where} has unknown key ${JSON.stringify(k)} (known: ${keys.join(', ')})`);
  }
}

/** An optional string; empty counts as absent, as in the exporter toolkit. */
export function optionalString(v: Node | undefined, where: string): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new WebConfigError(`${where} must be a string`);
  return v;
}

export function stringList(v: Node | undefined, where: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw new WebConfigError(`${where} must be a list of names`);
  return v as string[];
}

/**
 * SQL identifiers that promfleet interpolates (never user data): the schema name from the
 * configuration and names it derives itself (partition tables). Everything else is a bind
 * parameter.
 */
import pg from 'pg';

const SCHEMA_RE = /^[a-z_][a-z0-9_]*$/;

/** PostgreSQL truncates identifiers at 63 bytes; a longer schema name would silently alias. */
const MAX_IDENT_BYTES = 63;

export function assertSchemaName(schema: string): void {
  if (!SCHEMA_RE.test(schema) || schema.length > MAX_IDENT_BYTES) {
    throw new TypeError(`invalid schema name ${JSON.stringify(schema)}: must match ${String(SCHEMA_RE)} and be at most ${MAX_IDENT_BYTES} characters`);
  }
}

/** Double-quotes an identifier (pg's own quoting). Callers pass only validated or self-generated names. */
export function quoteIdent(name: string): string {
  return pg.escapeIdentifier(name);
}

/** `"schema"."table"` for a validated schema and a constant or generated table name. */
export function qualified(schema: string, table: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(table)}`;
}

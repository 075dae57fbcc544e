/**
 * The binary array parameters new series are inserted with: what PostgreSQL reads back is
 * exactly what was given, for the strings the text form would have had to escape.
 */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { byteaArrayOfLatin1, jsonbArray, textArray } from '../../src/storage/binary-array.js';
import { useTestDatabase } from '../helpers/database.js';

const db = useTestDatabase('storage_binary_array', { max: 2, applicationName: 'storage-binary-array-test', log: pino({ level: 'silent' }) });

const AWKWARD = ['', 'plain', 'with "quotes" and \\backslashes\\', '{braces},commas', 'NULL', ' spaced ', 'Zürich', 'température', '🌡️ emoji', '\u0001\u001f controls', 'a'.repeat(5000)];

describe('binary array parameters', () => {
  it('text[] comes back as given, in order', async () => {
    const r = await db.pool.query<{ v: string }>('SELECT v FROM unnest($1::text[]) WITH ORDINALITY AS t(v, i) ORDER BY i', [textArray(AWKWARD)]);
    expect(r.rows.map((x) => x.v)).toEqual(AWKWARD);
  });

  it('jsonb[] holds the JSON documents given', async () => {
    const docs = AWKWARD.map((v, i) => JSON.stringify({ [`k${i}`]: v, __proto__x: v }));
    const r = await db.pool.query<{ v: string }>('SELECT v::text AS v FROM unnest($1::jsonb[]) WITH ORDINALITY AS t(v, i) ORDER BY i', [jsonbArray(docs)]);
    expect(r.rows.map((x) => JSON.parse(x.v) as unknown)).toEqual(docs.map((d) => JSON.parse(d) as unknown));
  });

  it('bytea[] of latin1 strings holds every byte value', async () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const values = [all.toString('latin1'), '', Buffer.alloc(32, 0xff).toString('latin1')];
    const r = await db.pool.query<{ v: Buffer }>('SELECT v FROM unnest($1::bytea[]) WITH ORDINALITY AS t(v, i) ORDER BY i', [byteaArrayOfLatin1(values)]);
    expect(r.rows.map((x) => x.v.toString('latin1'))).toEqual(values);
  });

  it('empty arrays', async () => {
    const r = await db.pool.query<{ n: number }>('SELECT cardinality($1::text[]) + cardinality($2::jsonb[]) + cardinality($3::bytea[]) AS n',
      [textArray([]), jsonbArray([]), byteaArrayOfLatin1([])]);
    expect(r.rows[0].n).toBe(0);
  });
});

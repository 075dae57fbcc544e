/** The captured Prometheus 2.42 requests in test/fixtures (read-only; see its README.md). */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const FIXTURES = path.resolve(ROOT, 'test/fixtures/prometheus-2.42');

export interface CapturedRequest {
  readonly replica: string;
  readonly file: string;
  readonly body: Buffer;
  /** Headers as recorded, original case, minus hop-by-hop ones a client sets itself. */
  readonly headers: Record<string, string>;
  readonly url: string;
}

export function capturedRequests(kind: 'write' | 'read'): CapturedRequest[] {
  const out: CapturedRequest[] = [];
  for (const replica of ['replica-a', 'replica-b']) {
    const dir = path.join(FIXTURES, replica);
    for (const f of readdirSync(dir).filter((n) => n.startsWith(`${kind}-`) && n.endsWith('.bin') && !n.includes('response')).sort()) {
      const meta = JSON.parse(readFileSync(path.join(dir, f.replace(/\.bin$/, '.json')), 'utf8')) as { url: string; raw_headers: string[] };
      const headers: Record<string, string> = {};
      for (let i = 0; i < meta.raw_headers.length; i += 2) {
        const name = meta.raw_headers[i];
        if (!/^(host|content-length|connection)$/i.test(name)) headers[name] = meta.raw_headers[i + 1];
      }
      out.push({ replica, file: f, body: readFileSync(path.join(dir, f)), headers, url: meta.url });
    }
  }
  // A missing or emptied fixture folder fails the test that asked, never skips it.
  if (out.length === 0) throw new Error(`no ${kind}-*.bin fixtures under ${FIXTURES}`);
  return out;
}

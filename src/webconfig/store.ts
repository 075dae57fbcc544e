/**
 * The web config file in force. Read at construction (a bad file stops the process before it
 * listens, naming the file and the problem) and again on reload() (SIGHUP): new basic_auth_users,
 * headers, certificates, CAs, versions and ciphers take effect; a file that no longer parses, or
 * that turns TLS on or off or changes client_auth_type (which need a restart), is logged and the
 * settings in force stay.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createSecureContext } from 'node:tls';
import { PromfleetError } from '../errors.js';
import type { TlsSetup } from '../http/tls.js';
import type { Logger } from '../observability/log.js';
import { parseWebConfig, type WebConfig } from './parse.js';
import { tlsContextOptions, type TlsServerConfig } from './tls-config.js';
import { WebConfigError } from './yaml-node.js';

/** Builds a secure context from the files: a missing or mismatched key stops the start, not the first handshake. */
function checkLoads(tls: TlsServerConfig): void {
  const options = tlsContextOptions(tls);
  try {
    createSecureContext(options);
  } catch (err) {
    throw new WebConfigError(`tls_server_config: cert_file ${tls.certFile}, key_file ${tls.keyFile}${tls.clientCaFile === undefined ? '' : ` or client_ca_file ${tls.clientCaFile}`} do not load: ${(err as Error).message}`);
  }
}

export class WebConfigStore {
  private current: WebConfig;

  constructor(private readonly file: string, private readonly log: Logger) {
    try {
      this.current = this.read();
      if (this.current.tls) checkLoads(this.current.tls);
    } catch (err) {
      throw new PromfleetError('CONFIG_INVALID', `--web.config.file ${file}: ${(err as Error).message}`);
    }
    this.report('loaded');
  }

  get config(): WebConfig {
    return this.current;
  }

  /** The listener's TLS when tls_server_config has a certificate; its context follows reloads. */
  tlsSetup(): TlsSetup | undefined {
    const first = this.current.tls;
    if (!first) return undefined;
    return {
      certFile: first.certFile,
      clientAuth: first.clientAuth,
      context: () => {
        const tls = this.current.tls;
        if (!tls) throw new PromfleetError('CONFIG_INVALID', `--web.config.file ${this.file} has no tls_server_config`);
        return tlsContextOptions(tls);
      },
    };
  }

  /** Re-reads the file; on error the settings in force stay. Returns whether it loaded. */
  reload(): boolean {
    try {
      const next = this.read();
      const before = this.current.tls;
      if ((next.tls === undefined) !== (before === undefined)) throw new WebConfigError('turning TLS on or off needs a restart');
      if (next.tls && before && next.tls.clientAuth !== before.clientAuth) throw new WebConfigError('a new client_auth_type needs a restart');
      if (next.tls) checkLoads(next.tls);
      this.current = next;
      this.report('reloaded');
      return true;
    } catch (err) {
      this.log.error({ file: this.file, err }, 'web config file not reloaded; the settings in force stay');
      return false;
    }
  }

  private read(): WebConfig {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      throw new WebConfigError(`cannot read the file: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    return parseWebConfig(text, path.dirname(path.resolve(this.file)));
  }

  private report(what: 'loaded' | 'reloaded'): void {
    const c = this.current;
    this.log.info({ file: this.file, tls: c.tls !== undefined, basicAuthUsers: [...c.basicAuthUsers.keys()], headers: Object.keys(c.headers) }, `web config file ${what}`);
  }
}

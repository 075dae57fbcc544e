/**
 * How the listener serves HTTPS: the secure context (certificate, key, client CAs, versions,
 * ciphers), re-read on SIGHUP, and the client-certificate policy fixed at start. It comes from
 * --web.tls-cert/--web.tls-key or from tls_server_config of --web.config.file.
 */
import { readFileSync } from 'node:fs';
import type https from 'node:https';
import type tls from 'node:tls';
import { PromfleetError } from '../errors.js';

/** The exporter toolkit's client_auth_type values (Go's tls.ClientAuthType names). */
export const CLIENT_AUTH_TYPES = [
  'NoClientCert', 'RequestClientCert', 'RequireAnyClientCert', 'VerifyClientCertIfGiven', 'RequireAndVerifyClientCert',
] as const;
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];

export interface TlsSetup {
  /** The certificate file, as logs name it. */
  readonly certFile: string;
  readonly clientAuth: ClientAuthType;
  /**
   * Reads the files now and returns the secure context's options.
   * @throws PromfleetError CONFIG_INVALID naming the file that could not be read.
   */
  context(): tls.SecureContextOptions;
}

/** Reads a PEM file; the error names the setting and the file, not the content. */
export function readPem(file: string, setting: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new PromfleetError('CONFIG_INVALID', `cannot read ${setting} ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

/** --web.tls-cert and --web.tls-key: a certificate and its key, no client certificates. */
export function pemFilesTls(certFile: string, keyFile: string): TlsSetup {
  return {
    certFile,
    clientAuth: 'NoClientCert',
    context: () => ({ cert: readPem(certFile, '--web.tls-cert'), key: readPem(keyFile, '--web.tls-key') }),
  };
}

/** The server options of an HTTPS listener: the context now, and whether to ask for client certificates. */
export function httpsOptions(setup: TlsSetup): https.ServerOptions {
  const ask = setup.clientAuth !== 'NoClientCert';
  // Node verifies a presented certificate only when it also refuses unverified ones; the two
  // policies in between are checked per connection by clientCertAcceptable.
  return { ...setup.context(), requestCert: ask, rejectUnauthorized: setup.clientAuth === 'RequireAndVerifyClientCert' };
}

/** Whether a connection meets the client-certificate policy (called once its handshake is done). */
export function clientCertAcceptable(clientAuth: ClientAuthType, socket: tls.TLSSocket): boolean {
  if (clientAuth === 'NoClientCert' || clientAuth === 'RequestClientCert') return true;
  const presented = Object.keys(socket.getPeerCertificate()).length > 0;
  switch (clientAuth) {
    case 'RequireAnyClientCert': return presented;
    case 'VerifyClientCertIfGiven': return !presented || socket.authorized;
    case 'RequireAndVerifyClientCert': return presented && socket.authorized;
  }
}

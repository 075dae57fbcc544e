/**
 * tls_server_config of the web config file, mapped onto Node's TLS: Go's version and cipher
 * suite names become OpenSSL's. Go's cipher_suites restrict TLS 1.2 and below only, so the
 * TLS 1.3 suites stay enabled beside them here too.
 */
import tls from 'node:tls';
import { CLIENT_AUTH_TYPES, readPem, type ClientAuthType } from '../http/tls.js';
import { WebConfigError, isMap, only, optionalString, stringList, type Node } from './yaml-node.js';

export interface TlsServerConfig {
  readonly certFile: string;
  readonly keyFile: string;
  readonly clientAuth: ClientAuthType;
  readonly clientCaFile: string | undefined;
  readonly minVersion: tls.SecureVersion;
  readonly maxVersion: tls.SecureVersion | undefined;
  /** OpenSSL names of the TLS 1.2 suites; undefined: Node's defaults. */
  readonly ciphers: readonly string[] | undefined;
  readonly preferServerCipherSuites: boolean;
  /** Node's names (P-256, X25519); undefined: Node's defaults. */
  readonly curves: readonly string[] | undefined;
}

const VERSIONS: Readonly<Record<string, tls.SecureVersion>> = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' };

/** Go's names of the TLS 1.0–1.2 suites OpenSSL also has, and OpenSSL's names for them. */
const CIPHER_SUITES: Readonly<Record<string, string>> = {
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA256: 'AES128-SHA256',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: 'ECDHE-ECDSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: 'ECDHE-RSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305: 'ECDHE-ECDSA-CHACHA20-POLY1305',
};

/** TLS 1.3 suites, which Go (and so the exporter toolkit) does not let a configuration choose. */
const TLS13_SUITES = 'TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256';

const CURVES: Readonly<Record<string, string>> = { CurveP256: 'P-256', CurveP384: 'P-384', CurveP521: 'P-521', X25519: 'X25519' };

const KEYS = [
  'cert_file', 'key_file', 'client_auth_type', 'client_ca_file', 'min_version', 'max_version',
  'cipher_suites', 'prefer_server_cipher_suites', 'curve_preferences',
] as const;

function version(v: Node | undefined, key: string): tls.SecureVersion | undefined {
  const s = optionalString(v, `tls_server_config.${key}`);
  if (s === undefined) return undefined;
  const mapped = VERSIONS[s];
  if (mapped === undefined) throw new WebConfigError(`tls_server_config.${key} must be one of ${Object.keys(VERSIONS).join(', ')} (got ${JSON.stringify(s)})`);
  return mapped;
}

function ciphers(v: Node | undefined): string[] | undefined {
  const names = stringList(v, 'tls_server_config.cipher_suites');
  if (names === undefined || names.length === 0) return undefined;
  const available = new Set(tls.getCiphers());
  return names.map((name) => {
    const openssl = CIPHER_SUITES[name];
    if (openssl === undefined || !available.has(openssl.toLowerCase())) {
      throw new WebConfigError(`tls_server_config.cipher_suites: ${JSON.stringify(name)} is not a suite promfleet can offer (Go names of TLS 1.2 AES-GCM, AES-CBC or ChaCha20 suites; TLS 1.3 suites are not configurable)`);
    }
    return openssl;
  });
}

function curves(v: Node | undefined): string[] | undefined {
  const names = stringList(v, 'tls_server_config.curve_preferences');
  if (names === undefined || names.length === 0) return undefined;
  return names.map((name) => {
    const mapped = CURVES[name];
    if (mapped === undefined) throw new WebConfigError(`tls_server_config.curve_preferences: unknown curve ${JSON.stringify(name)} (known: ${Object.keys(CURVES).join(', ')})`);
    return mapped;
  });
}

/**
 * Parses tls_server_config; `resolve` makes a relative file name absolute. Undefined when TLS
 * is off (no section, or neither cert_file nor key_file).
 */
export function parseTlsServerConfig(v: Node | undefined, resolve: (file: string) => string): TlsServerConfig | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isMap(v)) throw new WebConfigError('tls_server_config must be a map');
  if (v.client_allowed_sans !== undefined) throw new WebConfigError('tls_server_config.client_allowed_sans is not supported by promfleet; restrict clients with client_ca_file');
  only(v, KEYS, 'tls_server_config');
  const cert = optionalString(v.cert_file, 'tls_server_config.cert_file');
  const key = optionalString(v.key_file, 'tls_server_config.key_file');
  const clientCa = optionalString(v.client_ca_file, 'tls_server_config.client_ca_file');
  const authName = optionalString(v.client_auth_type, 'tls_server_config.client_auth_type') ?? 'NoClientCert';
  if (!(CLIENT_AUTH_TYPES as readonly string[]).includes(authName)) {
    throw new WebConfigError(`tls_server_config.client_auth_type must be one of ${CLIENT_AUTH_TYPES.join(', ')} (got ${JSON.stringify(authName)})`);
  }
  const clientAuth = authName as ClientAuthType;
  const minVersion = version(v.min_version, 'min_version') ?? 'TLSv1.2';
  const maxVersion = version(v.max_version, 'max_version');
  const prefer = v.prefer_server_cipher_suites ?? true;
  if (typeof prefer !== 'boolean') throw new WebConfigError('tls_server_config.prefer_server_cipher_suites must be true or false');
  const suites = ciphers(v.cipher_suites);
  const curveList = curves(v.curve_preferences);
  if (cert === undefined && key === undefined) {
    if (clientCa !== undefined || authName !== 'NoClientCert') throw new WebConfigError('tls_server_config sets client certificates but no cert_file and key_file');
    return undefined;
  }
  if (cert === undefined) throw new WebConfigError('tls_server_config.key_file is set but cert_file is missing');
  if (key === undefined) throw new WebConfigError('tls_server_config.cert_file is set but key_file is missing');
  if (clientCa !== undefined && clientAuth === 'NoClientCert') {
    throw new WebConfigError('tls_server_config.client_ca_file is set but client_auth_type is NoClientCert (set VerifyClientCertIfGiven or RequireAndVerifyClientCert)');
  }
  if (clientCa === undefined && (clientAuth === 'VerifyClientCertIfGiven' || clientAuth === 'RequireAndVerifyClientCert')) {
    throw new WebConfigError(`tls_server_config.client_auth_type ${clientAuth} needs client_ca_file`);
  }
  if (maxVersion !== undefined && Object.values(VERSIONS).indexOf(maxVersion) < Object.values(VERSIONS).indexOf(minVersion)) {
    throw new WebConfigError('tls_server_config.max_version is below min_version');
  }
  return {
    certFile: resolve(cert), keyFile: resolve(key), clientAuth, clientCaFile: clientCa === undefined ? undefined : resolve(clientCa),
    minVersion, maxVersion, ciphers: suites, preferServerCipherSuites: prefer, curves: curveList,
  };
}

/** Reads the files of `c` and returns the secure context's options. */
export function tlsContextOptions(c: TlsServerConfig): tls.SecureContextOptions {
  return {
    cert: readPem(c.certFile, 'tls_server_config.cert_file'),
    key: readPem(c.keyFile, 'tls_server_config.key_file'),
    ca: c.clientCaFile === undefined ? undefined : readPem(c.clientCaFile, 'tls_server_config.client_ca_file'),
    minVersion: c.minVersion,
    maxVersion: c.maxVersion,
    ciphers: c.ciphers === undefined ? undefined : `${TLS13_SUITES}:${c.ciphers.join(':')}`,
    honorCipherOrder: c.preferServerCipherSuites,
    ecdhCurve: c.curves?.join(':'),
  };
}

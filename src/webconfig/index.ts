/** --web.config.file: Prometheus's web configuration file (TLS, basic_auth_users, response headers). */
export { WebConfigStore } from './store.js';
export { parseWebConfig, type WebConfig } from './parse.js';
export { tlsContextOptions, type TlsServerConfig } from './tls-config.js';
export { WebConfigError } from './yaml-node.js';

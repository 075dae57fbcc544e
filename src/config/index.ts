export { parseConfig, maskUrl, ROLES, type Role } from './parse.js';
export type {
  Config, HttpConfig, AuthConfig, IngressConfig, ReadConfig, QueueConfig, WorkerConfig, ElectionConfig, StorageConfig,
} from './slices.js';
export { FLAGS, envName, type FlagName, type LogLevel } from './flags.js';
export { helpText } from './help.js';
export type { ListenAddress } from './values.js';
export { LOADGEN_FLAGS } from './loadgen-flags.js';
export { FlagError, readFlagValues } from './read-flags.js';

export { parseConfig, maskUrl, ROLES, type Role } from './parse.js';
export type { Config, StorageConfig } from './slices.js';
export { FLAGS, envName, type FlagName, type LogLevel } from './flags.js';
export { helpText } from './help.js';
export { LOADGEN_FLAGS } from './loadgen-flags.js';
export { FlagError, readFlagValues, splitOperands } from './read-flags.js';

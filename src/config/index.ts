export { parseConfig, maskUrl, ROLES, type Config, type Role } from './parse.js';
export { FLAGS, envName, type FlagName, type LogLevel } from './flags.js';
export { helpText } from './help.js';
export type { ListenAddress } from './value-parsers.js';

export { chooseDatabase, HOW_TO_CONFIGURE, type DatabaseChoice } from './choice.js';
export { EmbeddedServer, freeLoopbackPort, type EmbeddedServerOptions, type EmbeddedStarted } from './server.js';
export { hydrateSymlinks, platformPackage, prepareBinaries } from './binaries.js';

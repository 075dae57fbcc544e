export { createListener } from './http.js';
export { schemaGate, migrateOptions } from './schema.js';
export { createElection, queueStore, type Election } from './election.js';

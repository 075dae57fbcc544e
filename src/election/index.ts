export type { Elector } from './elector.js';
export { LockElector, type LockElectorOptions } from './lock-elector.js';
export { electionTimings, sessionSettings, type ElectionTimings } from './session.js';
export { RestElector, type RestElectorOptions } from './rest.js';
export { electionAdminGuarded, registerElectionAdmin, type ElectionAdminOptions } from './admin.js';

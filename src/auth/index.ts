/** Authentication of remote-write/read and admin callers: the auth file, the check, the server's guard. */
export { CredentialStore, type CredentialStoreOptions } from './store.js';
export { createGuard, type Guard, type GuardOptions } from './guard.js';
export { authorizeGroup, principalOf, type Principal } from './check.js';
export { SCOPES, type Scope } from './file.js';
export { BcryptUsers, DEFAULT_BCRYPT_CACHE_ENTRIES, type BcryptUsersOptions } from './bcrypt-users.js';

import type { Migration } from './types.js';
import { v001Initial } from './v001-initial.js';

export type { Migration, MigrationOptions } from './types.js';

/** Every migration, ascending by version. Append only: never edit an applied migration. */
export const MIGRATIONS: readonly Migration[] = [v001Initial];

import type { Migration } from './types.js';
import { v001Initial } from './v001-initial.js';
import { v002Ha } from './v002-ha.js';
import { v003DataModel } from './v003-data-model.js';
import { v004HaOwnership } from './v004-ha-ownership.js';

export type { Migration, MigrationOptions } from './types.js';

/** Every migration, ascending by version. Append only: never edit an applied migration. */
export const MIGRATIONS: readonly Migration[] = [v001Initial, v002Ha, v003DataModel, v004HaOwnership];

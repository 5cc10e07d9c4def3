/**
 * The list of migrations, in order. Kept as static imports (not a folder scan) so the compiled
 * build and the test runner see exactly the same set.
 */
import type { Migration, MigrationProvider } from 'kysely/migration';
import * as initial from './001_initial.js';

const MIGRATIONS: Record<string, Migration> = {
  '001_initial': initial,
};

export const migrationProvider: MigrationProvider = {
  async getMigrations() {
    return MIGRATIONS;
  },
};

export const MIGRATION_NAMES = Object.keys(MIGRATIONS).sort();

/**
 * Schema migrations. Kysely's Migrator takes a session-level `pg_advisory_lock` on PostgreSQL
 * around the whole run (PostgresAdapter.acquireMigrationLock), so two nodes starting together never
 * migrate twice: the second waits, then finds nothing left to do. PGlite has one connection, which
 * the migrator holds for the run, so it needs no lock.
 */
import { Migrator } from 'kysely/migration';
import type { Db } from './database.js';
import { MIGRATION_NAMES, migrationProvider } from './migrations/index.js';

export interface MigrationState {
  name: string;
  executedAt: Date | null;
}

export interface MigrationStatus {
  migrations: MigrationState[];
  pending: string[];
  upToDate: boolean;
}

export class SchemaBehindError extends Error {
  constructor(readonly pending: string[]) {
    super(
      `database schema is behind: ${pending.length} migration(s) pending (${pending.join(', ')}); ` +
        'run `kici-admin db migrate` or start with KICI_AUTO_MIGRATE=true',
    );
    this.name = 'SchemaBehindError';
  }
}

/** `store.migrations`: apply, inspect, or check the schema against this build. */
export class Migrations {
  constructor(private readonly db: Db) {}

  /** Apply every pending migration; returns the names applied by this call. */
  async migrate(): Promise<string[]> {
    const { error, results } = await this.migrator().migrateToLatest();
    if (error) {
      const failed = results?.find((r) => r.status === 'Error')?.migrationName;
      const message = error instanceof Error ? error.message : String(error);
      throw new Error(`migration ${failed ?? '(setup)'} failed: ${message}`, { cause: error });
    }
    return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  }

  async status(): Promise<MigrationStatus> {
    const infos = await this.migrator().getMigrations();
    const migrations = infos.map((m) => ({ name: m.name, executedAt: m.executedAt ?? null }));
    const pending = migrations.filter((m) => m.executedAt === null).map((m) => m.name);
    return { migrations, pending, upToDate: pending.length === 0 };
  }

  /**
   * Start-up check: migrate when allowed (KICI_AUTO_MIGRATE, default true), otherwise refuse to run
   * against a schema that is behind this build.
   */
  async prepare(options: { autoMigrate: boolean }): Promise<string[]> {
    if (options.autoMigrate) return this.migrate();
    const status = await this.status();
    if (!status.upToDate) throw new SchemaBehindError(status.pending);
    return [];
  }

  private migrator(): Migrator {
    return new Migrator({ db: this.db, provider: migrationProvider });
  }
}

export { MIGRATION_NAMES };

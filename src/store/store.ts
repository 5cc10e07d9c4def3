/**
 * What other rooms hold: `openStore()` gives one object with a repository per table group, the
 * migrations, a liveness probe and close. The query builder stays inside; a query that spans
 * groups in one transaction is a repository method, not something a caller assembles.
 */
import { sql } from 'kysely';
import { type DatabaseDriver, type Db, openDatabase, type OpenDatabaseOptions, type OpenedDatabase } from './database.js';
import { Migrations } from './migrate.js';
import { type Repositories, repositoriesOver } from './repositories.js';
import type { StatementCounts, StatementWatcher } from './statement-counter.js';

export type StoreOptions = OpenDatabaseOptions;

/**
 * The query builder behind each open store, for the test-only door (`testing.ts`) and the database
 * object storage (`openDatabaseStorage`), and nothing else.
 */
const builders = new WeakMap<Store, Db>();

export class Store implements Repositories {
  readonly driver: DatabaseDriver;
  readonly migrations: Migrations;
  readonly runs: Repositories['runs'];
  readonly jobs: Repositories['jobs'];
  readonly steps: Repositories['steps'];
  readonly sources: Repositories['sources'];
  readonly sealedSecrets: Repositories['sealedSecrets'];
  readonly sourceChanges: Repositories['sourceChanges'];
  readonly adminTokens: Repositories['adminTokens'];
  readonly audit: Repositories['audit'];
  readonly agents: Repositories['agents'];
  readonly deliveries: Repositories['deliveries'];
  readonly registrations: Repositories['registrations'];
  readonly shards: Repositories['shards'];
  readonly refTips: Repositories['refTips'];
  readonly cluster: Repositories['cluster'];
  readonly clockSource: Repositories['clockSource'];
  readonly coordinatorTerm: Repositories['coordinatorTerm'];
  readonly environments: Repositories['environments'];
  readonly environmentBindings: Repositories['environmentBindings'];
  readonly environmentVariables: Repositories['environmentVariables'];
  readonly holds: Repositories['holds'];
  readonly secretBackends: Repositories['secretBackends'];
  readonly keyRotation: Repositories['keyRotation'];
  readonly uiSessions: Repositories['uiSessions'];
  private readonly database: OpenedDatabase;

  constructor(database: OpenedDatabase) {
    this.database = database;
    this.driver = database.driver;
    this.migrations = new Migrations(database.db);
    const repositories = repositoriesOver(database.db, database.listen, database.driver);
    this.runs = repositories.runs;
    this.jobs = repositories.jobs;
    this.steps = repositories.steps;
    this.sources = repositories.sources;
    this.sealedSecrets = repositories.sealedSecrets;
    this.sourceChanges = repositories.sourceChanges;
    this.adminTokens = repositories.adminTokens;
    this.audit = repositories.audit;
    this.agents = repositories.agents;
    this.deliveries = repositories.deliveries;
    this.registrations = repositories.registrations;
    this.shards = repositories.shards;
    this.refTips = repositories.refTips;
    this.cluster = repositories.cluster;
    this.clockSource = repositories.clockSource;
    this.coordinatorTerm = repositories.coordinatorTerm;
    this.environments = repositories.environments;
    this.environmentBindings = repositories.environmentBindings;
    this.environmentVariables = repositories.environmentVariables;
    this.holds = repositories.holds;
    this.secretBackends = repositories.secretBackends;
    this.keyRotation = repositories.keyRotation;
    this.uiSessions = repositories.uiSessions;
    builders.set(this, database.db);
  }

  /** One round trip to the database (the health endpoint's probe); rejects when it is unreachable. */
  async ping(): Promise<void> {
    await sql`select 1`.execute(this.database.db);
  }

  /**
   * Statements and round trips sent to the database since the store opened, counted at the driver
   * (BEGIN and COMMIT included); diff two readings to cost a piece of work. Cheap to read.
   */
  statements(): StatementCounts {
    return this.database.statements.counts();
  }

  /** Diagnostics (benches): `fn` sees the SQL text of each statement until the returned function is called. */
  watchStatements(fn: StatementWatcher): () => void {
    return this.database.statements.watch(fn);
  }

  close(): Promise<void> {
    return this.database.close();
  }
}

/** PostgreSQL when `url` is given, else the embedded PGlite under `dataDir` (locked to this process). */
export async function openStore(options: StoreOptions): Promise<Store> {
  return new Store(await openDatabase(options));
}

/** The query builder of an open store. Only `testing.ts` and `openDatabaseStorage` call this. */
export function builderOf(store: Store): Db {
  const db = builders.get(store);
  if (!db) throw new Error('not a store opened by openStore()');
  return db;
}

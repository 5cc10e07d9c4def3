/**
 * Runs one suite against both drivers: a real PostgreSQL (the throw-away server from
 * test/support/postgres.ts, a fresh database per suite) and PGlite in a temp directory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
import { type DatabaseDriver, openStore, type Store } from '../../src/store/index.js';
import { freshDatabaseUrl } from './postgres.js';

export const DRIVERS: readonly DatabaseDriver[] = ['postgres', 'pglite'];

/**
 * Open a migrated store on `driver`; the caller closes it and removes `dataDir`. `url` (PostgreSQL
 * only) lets a test open a second store on the same database, as a second node would.
 */
export async function openTestStore(driver: DatabaseDriver): Promise<{ store: Store; dataDir: string; url?: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kici-store-'));
  const url = driver === 'postgres' ? await freshDatabaseUrl() : undefined;
  const store = await openStore({ url, dataDir });
  await store.migrations.migrate();
  return { store, dataDir, url };
}

/** One migrated store per driver per test file, opened on first use, closed after the file. */
const shared = new Map<DatabaseDriver, Promise<{ store: Store; dataDir: string }>>();
afterAll(async () => {
  for (const opening of shared.values()) {
    const { store, dataDir } = await opening;
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  shared.clear();
});

function sharedStore(driver: DatabaseDriver): Promise<{ store: Store; dataDir: string }> {
  let opening = shared.get(driver);
  if (!opening) {
    opening = openTestStore(driver);
    shared.set(driver, opening);
  }
  return opening;
}

/**
 * Declare `suite` once per driver. Suites in one file share that file's store, so tests must keep
 * to their own rows (see `uniqueOrg`).
 */
export function describeOnBothDrivers(title: string, suite: (store: () => Store, driver: DatabaseDriver) => void): void {
  for (const driver of DRIVERS) {
    describe(`${title} [${driver}]`, () => {
      let store: Store | undefined;
      beforeAll(async () => {
        store = (await sharedStore(driver)).store;
      });
      suite(() => {
        if (!store) throw new Error('store not open');
        return store;
      }, driver);
    });
  }
}

let counter = 0;
/** A unique org id per test, so tests sharing a database never see each other's rows. */
export function uniqueOrg(): string {
  counter += 1;
  return `org_${process.pid}_${counter}`;
}

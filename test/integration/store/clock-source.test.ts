/**
 * The database's time (`store.clockSource`) and the DatabaseClock over it, on both drivers. The
 * database runs on this machine, so its time is this machine's: a sample far from Date.now() means
 * the conversion is wrong (a time zone or unit error is hours or a factor of 1000 off).
 */
import { rmSync } from 'node:fs';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { DatabaseClock, systemClock } from '../../../src/clock/index.js';
import { openStore, type Store } from '../../../src/store/index.js';
import { queryBuilderOf } from '../../../src/store/testing.js';
import { describeOnBothDrivers, DRIVERS, openTestStore } from '../../support/store-drivers.js';

const CLOSE_ENOUGH_MS = 5_000;

describeOnBothDrivers('store.clockSource', (store) => {
  it('samples the database time in epoch milliseconds, within a few seconds of this machine', async () => {
    const before = Date.now();
    const sampled = await store().clockSource.sample();
    const after = Date.now();
    expect(typeof sampled).toBe('number');
    expect(Number.isFinite(sampled)).toBe(true);
    expect(Math.abs(sampled - (before + after) / 2)).toBeLessThan(CLOSE_ENOUGH_MS);
  });

  it('moves with the time, not with the transaction (clock_timestamp, not now)', async () => {
    const first = await store().clockSource.sample();
    await new Promise((resolve) => setTimeout(resolve, 30));
    const second = await store().clockSource.sample();
    expect(second - first).toBeGreaterThanOrEqual(20);
    expect(second - first).toBeLessThan(CLOSE_ENOUGH_MS);
  });

  it('starts a DatabaseClock whose offset from this machine is under a few seconds', async () => {
    const errors: Error[] = [];
    const clock = await DatabaseClock.start(store().clockSource, systemClock, { resampleMs: 50, onError: (e) => errors.push(e) });
    try {
      expect(Math.abs(clock.skewMs())).toBeLessThan(CLOSE_ENOUGH_MS);
      expect(clock.roundTripMs()).toBeGreaterThanOrEqual(0);
      expect(Math.abs(clock.now() - Date.now())).toBeLessThan(CLOSE_ENOUGH_MS);
      // A few scheduled measurements on the real timer, none failing.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await clock.resample()).toBe(true);
      expect(errors).toEqual([]);
      expect(Math.abs(clock.skewMs())).toBeLessThan(CLOSE_ENOUGH_MS);
    } finally {
      clock.stop();
    }
  });
});

describe('store.clockSource under a session time zone far from UTC', () => {
  const opened: { store: Store; dataDir: string }[] = [];
  afterEach(async () => {
    for (const { store, dataDir } of opened.splice(0)) {
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  for (const driver of DRIVERS) {
    it(`is still this machine's time [${driver}]`, async () => {
      const first = await openTestStore(driver);
      let store = first.store;
      opened.push(first);
      // UTC+14: a conversion that read the wall time as UTC would be 14 hours off.
      if (driver === 'pglite') {
        // One connection, so a session setting holds for every query after it.
        await sql`set timezone = 'Pacific/Kiritimati'`.execute(queryBuilderOf(store));
      } else {
        // A pool: set it on the database, and reopen so every connection starts with it.
        const name = (await sql<{ name: string }>`select current_database() as name`.execute(queryBuilderOf(store))).rows[0]!.name;
        await sql.raw(`alter database "${name}" set timezone = 'Pacific/Kiritimati'`).execute(queryBuilderOf(store));
        opened.pop();
        await store.close();
        store = await openStore({ url: first.url, dataDir: first.dataDir });
        opened.push({ store, dataDir: first.dataDir });
      }
      const zone = (await sql<{ zone: string }>`select current_setting('TimeZone') as zone`.execute(queryBuilderOf(store))).rows[0]!.zone;
      expect(zone).toBe('Pacific/Kiritimati');
      const sampled = await store.clockSource.sample();
      expect(Math.abs(sampled - Date.now())).toBeLessThan(CLOSE_ENOUGH_MS);
    });
  }
});

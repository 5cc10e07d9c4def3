/**
 * What only the database backend of object storage has to say; its behaviour is the object storage
 * contract's (test/contract/object-storage.*.test.ts).
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabaseStorage, type Store, truncationNotice } from '../../../src/store/index.js';
import { openTestStore } from '../../support/store-drivers.js';

let opened: { store: Store; dataDir: string } | undefined;
beforeAll(async () => {
  opened = await openTestStore('pglite');
});
afterAll(async () => {
  await opened?.store.close();
  if (opened) rmSync(opened.dataDir, { recursive: true, force: true });
});

describe('database object storage', () => {
  it('refuses a step log cap whose log (cap and notice) would not fit its integer columns', () => {
    const store = opened!.store;
    const largest = 2 ** 31 - 1 - Buffer.byteLength(truncationNotice(2 ** 31 - 1));
    expect(largest + Buffer.byteLength(truncationNotice(largest))).toBe(2 ** 31 - 1);
    expect(() => openDatabaseStorage(store, { stepLogCapBytes: largest })).not.toThrow();
    for (const cap of [largest + 1, -1, 1.5, Number.NaN]) {
      expect(() => openDatabaseStorage(store, { stepLogCapBytes: cap }), String(cap)).toThrow(/step log cap/);
    }
  });
});

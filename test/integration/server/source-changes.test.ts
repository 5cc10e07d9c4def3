/**
 * `watchSourceChanges`: node B's source catalog follows changes made through node A (two stores,
 * two pools, one PostgreSQL database). B's clock never moves, so the catalog's TTL never expires:
 * only the notification can make B see the change. Waits are for the catalog's invalidation.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/index.js';
import { SourceCatalog } from '../../../src/deliveries/index.js';
import { createDatabaseSecretStore, type MasterKey, sourceSecretScope } from '../../../src/secrets/index.js';
import { watchSourceChanges } from '../../../src/server/wiring/source-changes.js';
import { openStore, type Store } from '../../../src/store/index.js';
import { queryBuilderOf } from '../../../src/store/testing.js';
import { openTestStore, uniqueOrg } from '../../support/store-drivers.js';

const key: MasterKey = { bytes: randomBytes(32), version: 1 };

describe('watchSourceChanges [postgres]: B follows A', () => {
  let a: Store;
  let b: Store;
  const dirs: string[] = [];
  let stop: (() => Promise<void>) | undefined;
  const logged: { level: string; fields: object; message: string }[] = [];
  const log = {
    info: (fields: object, message: string) => void logged.push({ level: 'info', fields, message }),
    warn: (fields: object, message: string) => void logged.push({ level: 'warn', fields, message }),
  };
  /** Each invalidation of B's catalog, in order; `next()` waits for the next one. */
  const invalidations: (string | undefined)[] = [];
  let wake: (() => void) | undefined;
  async function nextInvalidation(): Promise<string | undefined> {
    if (invalidations.length === 0) {
      await new Promise<void>((resolve, reject) => {
        const deadline = setTimeout(() => reject(new Error('B was never told')), 10_000);
        wake = () => {
          clearTimeout(deadline);
          resolve();
        };
      });
    }
    return invalidations.shift();
  }
  let catalog: SourceCatalog;

  beforeAll(async () => {
    const first = await openTestStore('postgres');
    a = first.store;
    dirs.push(first.dataDir);
    const dataDir = mkdtempSync(join(tmpdir(), 'kici-store-'));
    dirs.push(dataDir);
    b = await openStore({ url: first.url, dataDir });
    catalog = new SourceCatalog(b.sources, createDatabaseSecretStore(b.sealedSecrets, { current: key }, new ManualClock()), new ManualClock(1_000));
    const spy = {
      invalidate: (sourceId?: string) => {
        catalog.invalidate(sourceId);
        invalidations.push(sourceId);
        wake?.();
        wake = undefined;
      },
    };
    stop = await watchSourceChanges(b, spy, log);
  });

  afterAll(async () => {
    await stop?.();
    await b?.close();
    await a?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('a disabled source and a rotated webhook secret on A are what B serves next', async () => {
    const vaultA = createDatabaseSecretStore(a.sealedSecrets, { current: key }, new ManualClock());
    const source = await a.sources.create({ orgId: uniqueOrg(), kind: 'generic', name: 'hook', verification: 'hmac_sha256' });
    expect(await nextInvalidation()).toBe(source.id);
    await vaultA.put(source.orgId, sourceSecretScope(source.id), 'webhookSecret', 'old-secret');
    expect(await nextInvalidation()).toBe(source.id);

    // B reads both into its catalog.
    expect((await catalog.source(source.id))?.enabled).toBe(true);
    expect(await catalog.secret(source, 'webhookSecret')).toBe('old-secret');

    await vaultA.put(source.orgId, sourceSecretScope(source.id), 'webhookSecret', 'new-secret');
    expect(await nextInvalidation()).toBe(source.id);
    expect(await catalog.secret(source, 'webhookSecret')).toBe('new-secret');

    await a.sources.update(source.id, { enabled: false }, new Date());
    expect(await nextInvalidation()).toBe(source.id);
    expect((await catalog.source(source.id))?.enabled).toBe(false);

    await a.sources.delete(source.id, new Date());
    expect(await nextInvalidation()).toBe(source.id);
    expect(await catalog.source(source.id)).toBeNull();
  });

  it('a payload it cannot read drops the whole catalog and says so', async () => {
    await sql`select pg_notify('sources_change', ${'?'})`.execute(queryBuilderOf(a));
    expect(await nextInvalidation()).toBeUndefined();
    expect(logged).toContainEqual({ level: 'info', fields: { reason: 'unrecognised' }, message: 'source caches dropped' });
    expect(logged.some((l) => l.level === 'warn' && String((l.fields as { err?: string }).err).includes('unrecognised payload'))).toBe(true);
  });
});

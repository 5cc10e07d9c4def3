/**
 * `sources_change`: a source or credential write committed through one store reaches the
 * listeners of every store on the same database. On PostgreSQL two stores (two pools, as two
 * nodes) share one database; on PGlite the one store hears its own writes in-process. Every wait
 * here is for an event (the listener's callback), never for time passing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type SealedValue, type SourceChange, sourceSecretScope, type Store } from '../../../src/store/index.js';
import { inOneTransaction, queryBuilderOf } from '../../../src/store/testing.js';
import { openTestStore, uniqueOrg } from '../../support/store-drivers.js';

const NOW = new Date('2026-01-01T00:00:00Z');
const SEALED: SealedValue = { ciphertext: Buffer.from('c'), iv: Buffer.alloc(12), tag: Buffer.alloc(16), keyVersion: 1 };

/** Items as they arrive; `next()` waits for the next one (already arrived or still to come). */
class Queue<T> {
  private readonly arrived: T[] = [];
  private readonly waiting: ((item: T) => void)[] = [];

  readonly push = (item: T): void => {
    const waiter = this.waiting.shift();
    if (waiter) waiter(item);
    else this.arrived.push(item);
  };

  /** A deadline, not a pause: it only turns an event that never comes into a readable failure. */
  next(deadlineMs = 10_000): Promise<T> {
    if (this.arrived.length > 0) return Promise.resolve(this.arrived.shift()!);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.splice(this.waiting.indexOf(waiter), 1);
        reject(new Error(`nothing arrived within ${deadlineMs} ms`));
      }, deadlineMs);
      const waiter = (item: T) => {
        clearTimeout(timer);
        resolve(item);
      };
      this.waiting.push(waiter);
    });
  }

  /** Arrived and not taken yet. */
  get pending(): number {
    return this.arrived.length;
  }
}

/** One listener's changes and errors. */
class Changes extends Queue<SourceChange> {
  readonly errors: string[] = [];
  readonly errorQueue = new Queue<string>();
  readonly onChange = this.push;
  readonly onError = (error: Error): void => {
    this.errors.push(error.message);
    this.errorQueue.push(error.message);
  };
}

const source = (sourceId: string): SourceChange => ({ kind: 'source', sourceId });

async function newSource(store: Store, orgId = uniqueOrg()) {
  return store.sources.create({ orgId, kind: 'generic', name: `hook-${orgId}`, verification: 'hmac_sha256' });
}

describe('sources_change [postgres]: two stores on one database', () => {
  let a: Store;
  let b: Store;
  let url: string;
  const dirs: string[] = [];
  const stops: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    const first = await openTestStore('postgres');
    a = first.store;
    dirs.push(first.dataDir);
    url = first.url!;
    const dataDir = mkdtempSync(join(tmpdir(), 'kici-store-'));
    dirs.push(dataDir);
    b = await openStore({ url, dataDir });
  });

  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop();
  });

  afterAll(async () => {
    await b?.close();
    await a?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  async function listenOnB(changes: Changes, onChange: (c: SourceChange) => void = changes.onChange) {
    const stop = await b.sourceChanges.listen(onChange, { onError: changes.onError, reconnectMinMs: 10, reconnectMaxMs: 200 });
    stops.push(stop);
    return stop;
  }

  /**
   * Backend pids of this database's listening connections, newest first (a connection an earlier
   * test closed may linger in pg_stat_activity for a moment; it is older than any opened since).
   */
  async function listeningPids(): Promise<number[]> {
    const { rows } = await sql<{ pid: number }>`
      select pid from pg_stat_activity
      where application_name = 'kici-listen' and datname = current_database()
      order by backend_start desc`.execute(queryBuilderOf(a));
    return rows.map((r) => r.pid);
  }

  it('a source created, changed, its secret rotated, disabled, removed through A reaches B with its id', async () => {
    const changes = new Changes();
    await listenOnB(changes);

    const created = await newSource(a);
    expect(await changes.next()).toEqual(source(created.id));

    await a.sealedSecrets.put({ orgId: created.orgId, scope: sourceSecretScope(created.id), key: 'webhookSecret' }, SEALED, NOW);
    expect(await changes.next()).toEqual(source(created.id));

    await a.sources.update(created.id, { enabled: false }, NOW);
    expect(await changes.next()).toEqual(source(created.id));

    // A secret outside a source's scope announces nothing: the next change B hears is the delete's
    // (one session's notifications arrive in commit order).
    await a.sealedSecrets.put({ orgId: created.orgId, scope: 'customer/app', key: 'API_KEY' }, SEALED, NOW);
    expect(await a.sealedSecrets.delete({ orgId: created.orgId, scope: sourceSecretScope(created.id), key: 'webhookSecret' })).toBe(true);
    expect(await changes.next()).toEqual(source(created.id));

    expect(await a.sources.delete(created.id, NOW)).toBe(true);
    expect(await changes.next()).toEqual(source(created.id));
    expect(await a.sources.purge(created.id, sourceSecretScope(created.id))).not.toBeNull();
    expect(await changes.next()).toEqual(source(created.id));

    // Writes that changed nothing announce nothing either.
    expect(await a.sources.update('src_missing', { enabled: true }, NOW)).toBeNull();
    expect(await a.sources.delete('src_missing', NOW)).toBe(false);
    expect(await a.sealedSecrets.deleteScope(created.orgId, sourceSecretScope('src_missing'))).toBe(0);
    const marker = await newSource(a);
    expect(await changes.next()).toEqual(source(marker.id));
    expect(changes.pending).toBe(0);
    expect(changes.errors).toEqual([]);
  });

  it('a rolled-back write announces nothing; a committed one announces on commit', async () => {
    const changes = new Changes();
    await listenOnB(changes);
    const rolledBack = await newSource(a);
    const committed = await newSource(a);
    expect(await changes.next()).toEqual(source(rolledBack.id));
    expect(await changes.next()).toEqual(source(committed.id));

    await expect(
      inOneTransaction(a, async (tx) => {
        await tx.sources.update(rolledBack.id, { enabled: false }, NOW);
        await tx.sealedSecrets.put({ orgId: rolledBack.orgId, scope: sourceSecretScope(rolledBack.id), key: 'token' }, SEALED, NOW);
        throw new Error('abandon');
      }),
    ).rejects.toThrow('abandon');
    expect((await a.sources.get(rolledBack.id))?.enabled).toBe(true);

    await inOneTransaction(a, async (tx) => {
      await tx.sources.update(committed.id, { name: 'renamed' }, NOW);
      await tx.sourceChanges.notify(committed.id);
    });
    // PostgreSQL folds identical notifications of one transaction into one.
    expect(await changes.next()).toEqual(source(committed.id));
    const marker = await newSource(a);
    expect(await changes.next()).toEqual(source(marker.id));
    expect(changes.pending).toBe(0);
  });

  it('B resyncs after its listening connection is killed, and hears later changes', async () => {
    const changes = new Changes();
    await listenOnB(changes);
    const [before] = await listeningPids();
    expect(before).toBeTypeOf('number');

    const { rows } = await sql<{ killed: boolean }>`select pg_terminate_backend(${before}::int) as killed`.execute(queryBuilderOf(a));
    expect(rows).toEqual([{ killed: true }]);

    expect(await changes.next()).toEqual({ kind: 'all', reason: 'resync' });
    expect(changes.errors.some((e) => e.includes('connection lost'))).toBe(true);
    const [after] = await listeningPids();
    expect(after).toBeTypeOf('number');
    expect(after).not.toBe(before);

    const later = await newSource(a);
    expect(await changes.next()).toEqual(source(later.id));
    await a.sources.update(later.id, { enabled: false }, NOW);
    expect(await changes.next()).toEqual(source(later.id));
  });

  it('survives payloads that are not source ids, and callbacks that throw', async () => {
    const changes = new Changes();
    await listenOnB(changes);
    const thrower = new Changes();
    let calls = 0;
    await listenOnB(thrower, (change) => {
      thrower.onChange(change);
      calls += 1;
      throw new Error(`callback ${calls} failed`);
    });
    const rejecter = new Changes();
    await listenOnB(rejecter, async () => {
      throw new Error('async callback failed');
    });

    const db = queryBuilderOf(a);
    await sql`select pg_notify('sources_change', ${'{"sourceId": "src_x", "oops'})`.execute(db);
    await sql`notify sources_change`.execute(db);
    await sql`select pg_notify('sources_change', ${'x'.repeat(5000)})`.execute(db);
    const unrecognised = { kind: 'all', reason: 'unrecognised' };
    expect([await changes.next(), await changes.next(), await changes.next()]).toEqual([unrecognised, unrecognised, unrecognised]);
    expect(changes.errors).toHaveLength(3);
    expect(changes.errors[0]).toContain('unrecognised payload');

    const after = await newSource(a);
    expect(await changes.next()).toEqual(source(after.id));
    // The listeners whose callbacks throw or reject were called for every change and still listen.
    expect([await thrower.next(), await thrower.next(), await thrower.next(), await thrower.next()]).toEqual([unrecognised, unrecognised, unrecognised, source(after.id)]);
    const rejections: string[] = [];
    while (rejections.length < 4) {
      const message = await rejecter.errorQueue.next();
      if (message === 'async callback failed') rejections.push(message);
    }
    // A synchronous throw is reported before the callback's next change can arrive.
    expect(thrower.errors.filter((e) => e.startsWith('callback'))).toEqual(['callback 1 failed', 'callback 2 failed', 'callback 3 failed', 'callback 4 failed']);
    expect(thrower.pending).toBe(0);
  });

  it('a stopped listener hears nothing more; closing a store stops a listener left running', async () => {
    const stopped = new Changes();
    const stop = await listenOnB(stopped);
    const running = new Changes();
    await listenOnB(running);

    await stop();
    await stop();
    const after = await newSource(a);
    expect(await running.next()).toEqual(source(after.id));
    expect(stopped.pending).toBe(0);

    // A store closed with a listener still running takes it down rather than leaking it.
    const dataDir = mkdtempSync(join(tmpdir(), 'kici-store-'));
    dirs.push(dataDir);
    const c = await openStore({ url, dataDir });
    const forgotten = new Changes();
    await c.sourceChanges.listen(forgotten.onChange, { onError: forgotten.onError });
    await c.close();
    expect(forgotten.errors).toEqual([]);
  });

  it('listen is refused on repositories bound to a transaction', async () => {
    await inOneTransaction(a, async (tx) => {
      await expect(tx.sourceChanges.listen(() => undefined)).rejects.toThrow('not on repositories bound to a transaction');
    });
  });
});

describe('sources_change [pglite]: one process, in-process delivery', () => {
  let store: Store;
  let dataDir: string;

  beforeAll(async () => {
    ({ store, dataDir } = await openTestStore('pglite'));
  });

  afterAll(async () => {
    await store?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('the store hears its own source and credential writes, on commit only', async () => {
    const changes = new Changes();
    const stop = await store.sourceChanges.listen(changes.onChange, { onError: changes.onError });

    const created = await newSource(store);
    expect(await changes.next()).toEqual(source(created.id));
    await store.sources.update(created.id, { enabled: false }, NOW);
    expect(await changes.next()).toEqual(source(created.id));
    await store.sealedSecrets.put({ orgId: created.orgId, scope: sourceSecretScope(created.id), key: 'webhookSecret' }, SEALED, NOW);
    expect(await changes.next()).toEqual(source(created.id));

    await expect(
      inOneTransaction(store, async (tx) => {
        await tx.sources.update(created.id, { enabled: true }, NOW);
        throw new Error('abandon');
      }),
    ).rejects.toThrow('abandon');
    await sql`select pg_notify('sources_change', ${'not an id'})`.execute(queryBuilderOf(store));
    expect(await changes.next()).toEqual({ kind: 'all', reason: 'unrecognised' });

    expect(await store.sources.delete(created.id, NOW)).toBe(true);
    expect(await changes.next()).toEqual(source(created.id));
    expect(changes.pending).toBe(0);

    await stop();
    const quiet = new Changes();
    const stopQuiet = await store.sourceChanges.listen(quiet.onChange);
    const after = await newSource(store);
    expect(await quiet.next()).toEqual(source(after.id));
    expect(changes.pending).toBe(0);
    await stopQuiet();
  });
});

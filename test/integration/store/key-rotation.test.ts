/**
 * Master-key rotation over the store on both drivers: values of the old key are re-sealed with
 * the new one in batches, a run stopped part-way continues where it stopped when run again (and a
 * run with nothing left moves nothing), a value written meanwhile is never overwritten with an
 * older one, and the start check names each table and key version no configured key opens.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { beforeEach, expect, it } from 'vitest';
import { ManualClock } from '../../../src/clock/index.js';
import {
  backendConfigBinding,
  createDatabaseSecretStore,
  createSecretBackends,
  type MasterKey,
  missingKeyProblems,
  open,
  parseSecretKey,
  rotateMasterKey,
  seal,
} from '../../../src/secrets/index.js';
import type { KeyRotationRepository } from '../../../src/store/index.js';
import { queryBuilderOf } from '../../../src/store/testing.js';
import { describeOnBothDrivers } from '../../support/store-drivers.js';

const key = (): MasterKey => parseSecretKey(randomBytes(32).toString('hex'));
const A = key();
const B = key();
const C = key();
const T0 = new Date('2026-03-01T10:00:00.000Z');
const BY = { name: 'rotation-test', tokenId: 'adm_rotation' };
const clock = new ManualClock(T0.getTime());
const options = { by: BY, now: () => T0 };
const valueOf = (i: number) => `secret-value-${i}-${'x'.repeat(i % 7)}`;
const vaultConfig = (token: string) => ({ url: 'https://vault.example.com', auth: { method: 'token' as const, token }, mountPath: 'secret', basePath: 'kici/secrets' });

describeOnBothDrivers('master-key rotation', (store) => {
  // Rotation sweeps whole tables: each test starts from empty ones (the file's store is shared).
  beforeEach(async () => {
    const db = queryBuilderOf(store());
    await db.deleteFrom('sealed_secrets').execute();
    await db.deleteFrom('audit_events').where('action', '=', 'key.rotate').execute();
    await sql`DELETE FROM secret_backends`.execute(db);
  });

  const secrets = (keys: { current: MasterKey; old?: MasterKey }) => createDatabaseSecretStore(store().sealedSecrets, keys, clock);
  const backends = (keys: { current: MasterKey; old?: MasterKey }) => createSecretBackends({ repository: store().secretBackends, keys, clock });

  /** `n` values over a few orgs and scopes, sealed with `with`. */
  async function fill(n: number, withKey: MasterKey): Promise<void> {
    for (let i = 0; i < n; i++) await secrets({ current: withKey }).put(`org_${i % 3}`, `scope/${i % 5}`, `NAME_${i}`, valueOf(i));
  }

  async function expectAllOpenWith(k: MasterKey, n: number): Promise<void> {
    for (let i = 0; i < n; i++) expect(await secrets({ current: k }).get(`org_${i % 3}`, `scope/${i % 5}`, `NAME_${i}`)).toBe(valueOf(i));
  }

  it('re-seals every value of the old key with the new one, 100 per batch, in both tables', async () => {
    await fill(250, A);
    await backends({ current: A }).add({ name: 'vault-a', config: vaultConfig('hvs.token-under-a') }, BY);
    await backends({ current: B }).add({ name: 'vault-b', config: vaultConfig('hvs.token-under-b') }, BY);
    const batches: number[] = [];
    const counting: KeyRotationRepository = Object.assign(Object.create(store().keyRotation), {
      reseal: (changes: Parameters<KeyRotationRepository['reseal']>[0], audit?: Parameters<KeyRotationRepository['reseal']>[1]) => {
        if (changes.length) batches.push(changes.length);
        return store().keyRotation.reseal(changes, audit);
      },
    });

    const report = await rotateMasterKey(counting, { current: B, old: A }, options);

    expect(batches).toEqual([100, 100, 50, 1]);
    expect(report).toEqual({
      keyVersion: B.version,
      tables: [
        { table: 'sealed_secrets', moved: 250, skipped: 0, left: 0 },
        { table: 'secret_backends', moved: 1, skipped: 0, left: 0 },
      ],
      moved: 251,
      left: 0,
      complete: true,
    });
    expect(await store().keyRotation.countsByKeyVersion()).toEqual([
      { table: 'sealed_secrets', keyVersion: B.version, count: 250 },
      { table: 'secret_backends', keyVersion: B.version, count: 2 },
    ]);
    await expectAllOpenWith(B, 250);
    const record = (await store().secretBackends.get('vault-a'))!;
    expect(JSON.parse(open(B, backendConfigBinding('vault-a'), record.config!))).toMatchObject({ token: 'hvs.token-under-a' });
    // Audited with counts only.
    const audit = await queryBuilderOf(store()).selectFrom('audit_events').selectAll().where('action', '=', 'key.rotate').execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: BY.name, actor_token_id: BY.tokenId, subject_id: String(B.version) });
    const everything = JSON.stringify({ report, audit });
    for (const secret of ['hvs.token-under-a', valueOf(1), A.bytes.toString('hex'), B.bytes.toString('hex')]) expect(everything).not.toContain(secret);
  });

  it('continues where an interrupted run stopped, and moves nothing once done', async () => {
    await fill(230, A);
    const first = await rotateMasterKey(store().keyRotation, { current: B, old: A }, { ...options, maxBatches: 1 });
    expect(first).toMatchObject({ moved: 100, left: 130, complete: false });
    // The node restarted meanwhile: both keys still configured; the new run picks up the rest.
    const second = await rotateMasterKey(store().keyRotation, { current: B, old: A }, options);
    expect(second).toMatchObject({ moved: 130, left: 0, complete: true });
    const third = await rotateMasterKey(store().keyRotation, { current: B, old: A }, options);
    expect(third).toMatchObject({ moved: 0, left: 0, complete: true });
    // Without the old key now: every value still opens.
    await expectAllOpenWith(B, 230);
    expect(await missingKeyProblems(store().keyRotation, { current: B })).toEqual([]);
  });

  it('never overwrites a value written between its read and its re-seal', async () => {
    await fill(10, A);
    const reads = store().keyRotation;
    let raced = false;
    const racing: KeyRotationRepository = Object.assign(Object.create(reads), {
      async sealedOtherThan(...args: Parameters<KeyRotationRepository['sealedOtherThan']>) {
        const rows = await reads.sealedOtherThan(...args);
        if (!raced && rows.length) {
          raced = true;
          // A restarted node writes under the new key; one not yet restarted writes under the old one.
          await secrets({ current: B, old: A }).put('org_0', 'scope/0', 'NAME_0', 'newer-under-b');
          await secrets({ current: A }).put('org_1', 'scope/1', 'NAME_1', 'newer-under-a');
        }
        return rows;
      },
    });

    const report = await rotateMasterKey(racing, { current: B, old: A }, options);

    expect(report.tables[0]).toEqual({ table: 'sealed_secrets', moved: 8, skipped: 2, left: 1 });
    expect(await secrets({ current: B }).get('org_0', 'scope/0', 'NAME_0')).toBe('newer-under-b');
    expect(await secrets({ current: B, old: A }).get('org_1', 'scope/1', 'NAME_1')).toBe('newer-under-a');
    // The next run takes the value the old key sealed meanwhile, as it is now.
    expect(await rotateMasterKey(reads, { current: B, old: A }, options)).toMatchObject({ moved: 1, left: 0, complete: true });
    expect(await secrets({ current: B }).get('org_1', 'scope/1', 'NAME_1')).toBe('newer-under-a');
  });

  it('at start, names each table and key version no configured key opens, with the count', async () => {
    await fill(12, A);
    await backends({ current: B }).add({ name: 'vault-b', config: vaultConfig('hvs.t') }, BY);
    expect(await missingKeyProblems(store().keyRotation, { current: B, old: A })).toEqual([]);
    expect(await missingKeyProblems(store().keyRotation, { current: C, old: A })).toEqual([
      `secret_backends: 1 value sealed with key version ${B.version}, which is neither KICI_SECRET_KEY nor KICI_SECRET_KEY_OLD`,
    ]);
    expect(await missingKeyProblems(store().keyRotation, { current: C })).toEqual([
      `sealed_secrets: 12 values sealed with key version ${A.version}, which is not KICI_SECRET_KEY (and no KICI_SECRET_KEY_OLD is set)`,
      `secret_backends: 1 value sealed with key version ${B.version}, which is not KICI_SECRET_KEY (and no KICI_SECRET_KEY_OLD is set)`,
    ]);
  });

  it('takes values sealed before key versions (version 1) as the key that opens them, and re-seals them', async () => {
    const legacyA: MasterKey = { bytes: A.bytes, version: 1 };
    for (let i = 0; i < 3; i++) await store().sealedSecrets.put({ orgId: 'org_0', scope: 'legacy', key: `K${i}` }, seal(legacyA, { orgId: 'org_0', scope: 'legacy', name: `K${i}` }, `legacy-${i}`), T0);
    expect(await missingKeyProblems(store().keyRotation, { current: A })).toEqual([]);
    expect(await missingKeyProblems(store().keyRotation, { current: B, old: A })).toEqual([]);
    const [problem] = await missingKeyProblems(store().keyRotation, { current: C });
    expect(problem).toBe('sealed_secrets: 3 values sealed with key version 1 (sealed before key versions were derived from the key), which KICI_SECRET_KEY does not open (and no KICI_SECRET_KEY_OLD is set)');
    // Re-sealing with the same key gives them its derived version.
    expect(await rotateMasterKey(store().keyRotation, { current: A }, options)).toMatchObject({ moved: 3, left: 0, complete: true });
    expect(await store().keyRotation.countsByKeyVersion()).toEqual([{ table: 'sealed_secrets', keyVersion: A.version, count: 3 }]);
  });
});

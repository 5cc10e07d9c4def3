/**
 * The master key reaching every coordinator (issue 19) over real peer links (mutual TLS on
 * loopback, certificates from one cluster CA): rotate-key on A hands B the new and the old key
 * sealed to B's node key; B reads what A seals with the new key without a restart, keeps both in
 * its sealed handover, and drops the old one when the rotation finishes. An offer from a node that
 * is not a member, or one whose old key B does not hold, is refused and nothing is re-sealed.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, expect, it } from 'vitest';
import { type ClusterCa, sealFor } from '../../../src/certificates/index.js';
import { openJoinSecrets, writeJoinSecrets } from '../../../src/membership/member-file.js';
import { KeyHandoverRefusedError, LiveSecretKeys, type MasterKey, openersOf, parseSecretKey, type RotationReport } from '../../../src/secrets/index.js';
import { open, seal } from '../../../src/secrets/sealing.js';
import { MasterKeyHandover } from '../../../src/server/wiring/master-key-handover.js';
import { JOIN_SECRETS_PURPOSE, type JoinSecrets, PeerKinds, PeerLinks, registerMasterKeyKinds, type PeerIdentity } from '../../../src/transport/index.js';
import { allUp, cluster, credentials, QUICK } from '../transport/peer-links-fixture.js';

const root = mkdtempSync(join(tmpdir(), 'kici-key-handover-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const running: PeerLinks[] = [];
afterEach(async () => {
  for (const links of running.splice(0)) await links.close();
});

const hexOf = (k: MasterKey) => k.bytes.toString('hex');
const newKey = () => parseSecretKey(Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('hex'));
const at = { orgId: 'org', scope: 'source/s1', name: 'token' };
const report = (keyVersion: number, complete: boolean): RotationReport => ({ keyVersion, tables: [], moved: 0, left: complete ? 0 : 1, complete });

interface Coordinator {
  id: string;
  keys: LiveSecretKeys;
  links: PeerLinks;
  address: string;
  clusterDir: string;
  handover: MasterKeyHandover;
  logs: string[];
  held(): JoinSecrets | undefined;
}

async function coordinator(ca: ClusterCa, id: string, keys: LiveSecretKeys, options: { others: string[]; trusts?: (from: PeerIdentity) => boolean }): Promise<Coordinator> {
  const creds = await credentials(ca, id);
  const registry = new PeerKinds();
  const kinds = registerMasterKeyKinds(registry);
  const links = new PeerLinks({ listen: { host: '127.0.0.1', port: 0 }, ...QUICK, credentials: creds, kinds: registry });
  running.push(links);
  const bound = await links.start();
  const clusterDir = mkdtempSync(join(root, `${id}-`));
  // As a join left it: the cluster's key at the time, sealed to this node's key.
  const handed = { databaseUrl: 'postgresql://kici@db/kici', secretKey: hexOf(keys.current), ...(keys.old ? { oldSecretKey: hexOf(keys.old) } : {}), caKey: 'ca-key' };
  writeJoinSecrets(clusterDir, sealFor(creds.privateKey.publicKeyDer(), Buffer.from(JSON.stringify(handed)), JOIN_SECRETS_PURPOSE));
  const logs: string[] = [];
  const log = { info: (fields: object, msg: string) => void logs.push(`${msg} ${JSON.stringify(fields)}`), warn: (fields: object, msg: string) => void logs.push(`${msg} ${JSON.stringify(fields)}`) };
  const handover = new MasterKeyHandover({ links, kinds, keys, credentials: creds, clusterDir, trusts: options.trusts ?? (() => true), coordinators: () => options.others, log: log as never });
  handover.serve();
  return { id, keys, links, address: `127.0.0.1:${bound!.port}`, clusterDir, handover, logs, held: () => openJoinSecrets(clusterDir, creds) };
}

async function linked(a: Coordinator, b: Coordinator): Promise<void> {
  a.links.addPeer(b.id, b.address);
  await allUp(a.links, [b.id]);
}

it('hands the new key to B before re-sealing, B reads it live and keeps it, then drops the old key when done', async () => {
  const ca = await cluster('alpha');
  const [old, next] = [newKey(), newKey()];
  const a = await coordinator(ca, 'node-a', new LiveSecretKeys(next, old), { others: ['node-b'] });
  const b = await coordinator(ca, 'node-b', new LiveSecretKeys(old), { others: ['node-a'] });
  await linked(a, b);
  const sealedOld = seal(old, at, 'from-before');

  const first = await a.handover.rotate(async () => {
    // By the time anything is re-sealed, B already reads what A seals with the new key.
    expect(open(openersOf(b.keys), at, seal(a.keys.current, at, 'sealed-on-a'))).toBe('sealed-on-a');
    return report(next.version, false);
  });
  expect(first.oldKeyDropped).toBeUndefined();
  expect(b.keys.current.version).toBe(next.version);
  expect(b.keys.old?.version).toBe(old.version);
  expect(open(openersOf(b.keys), at, sealedOld)).toBe('from-before');
  // Compared, never printed: a failing match would quote the keys.
  const kept = b.held();
  expect(kept?.secretKey === hexOf(next) && kept.oldSecretKey === hexOf(old)).toBe(true);
  expect(kept?.databaseUrl === 'postgresql://kici@db/kici' && kept.caKey === 'ca-key').toBe(true);

  const done = await a.handover.rotate(async () => report(next.version, true));
  expect(done.oldKeyDropped).toBe(2);
  expect(b.keys.old).toBeUndefined();
  expect(a.keys.old).toBeUndefined();
  expect(() => open(openersOf(b.keys), at, sealedOld)).toThrow();
  expect(b.held()?.oldSecretKey === undefined).toBe(true);
  expect(b.held()?.secretKey === hexOf(next)).toBe(true);

  // Neither the files nor the logs hold a key in the clear.
  for (const node of [a, b]) {
    const file = readFileSync(join(node.clusterDir, 'join-secrets.sealed'), 'utf8');
    for (const k of [old, next]) {
      expect(file.includes(hexOf(k))).toBe(false);
      expect(node.logs.join('\n').includes(hexOf(k))).toBe(false);
    }
  }
});

it('refuses an old key B does not hold, and re-seals nothing', async () => {
  const ca = await cluster('alpha');
  const [held, stranger, next] = [newKey(), newKey(), newKey()];
  const c = await coordinator(ca, 'node-c', new LiveSecretKeys(next, stranger), { others: ['node-b'] });
  const b = await coordinator(ca, 'node-b', new LiveSecretKeys(held), { others: [] });
  await linked(c, b);
  let resealed = false;
  const refused = await c.handover.rotate(async () => {
    resealed = true;
    return report(next.version, true);
  }).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(KeyHandoverRefusedError);
  expect((refused as KeyHandoverRefusedError).members.map((m) => m.node)).toEqual(['node-b']);
  expect((refused as Error).message).toContain(`key version ${stranger.version}`);
  for (const k of [held, stranger, next]) expect((refused as Error).message.includes(hexOf(k))).toBe(false);
  expect(resealed).toBe(false);
  expect(b.keys.current.version).toBe(held.version);
  expect(b.held()?.secretKey === hexOf(held)).toBe(true);
});

it('refuses keys from a node that is not a member, even one holding the old key', async () => {
  const ca = await cluster('alpha');
  const [old, next] = [newKey(), newKey()];
  const mallory = await coordinator(ca, 'mallory', new LiveSecretKeys(next, old), { others: ['node-b'] });
  const b = await coordinator(ca, 'node-b', new LiveSecretKeys(old), { others: [], trusts: (from) => from.nodeId !== 'mallory' });
  await linked(mallory, b);
  await expect(mallory.handover.rotate(async () => report(next.version, true))).rejects.toThrow(/node-b \(only a coordinator that is a member/);
  expect(b.keys.current.version).toBe(old.version);
  expect(b.keys.old).toBeUndefined();
});

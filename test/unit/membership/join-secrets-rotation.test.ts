/**
 * The join handover during a master-key rotation: a coordinator that holds KICI_SECRET_KEY_OLD
 * hands it over with the current key (`oldSecretKey`), the joiner keeps it sealed to its node key
 * and opens it back, and a handover outside a rotation has no such field.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type NodeCredentials, sealFor } from '../../../src/certificates/index.js';
import { openJoinSecrets, writeJoinSecrets } from '../../../src/membership/member-file.js';
import { JOIN_SECRETS_PURPOSE, joinSecrets, type JoinSecrets } from '../../../src/transport/index.js';
import { cluster, credentials } from '../../integration/transport/peer-links-fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'kici-join-rotation-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let node: NodeCredentials;
beforeAll(async () => {
  node = await credentials(await cluster('alpha'), 'node-b');
});

const during: JoinSecrets = {
  databaseUrl: 'postgresql://kici:pw@db:5432/kici',
  secretKey: 'ab'.repeat(32),
  oldSecretKey: 'cd'.repeat(32),
  caKey: '-----BEGIN PRIVATE KEY-----\nnot-a-real-ca-key\n-----END PRIVATE KEY-----\n',
};

it('keeps the old key of a rotation sealed, and opens it back', () => {
  const clusterDir = join(dir, 'cluster');
  writeJoinSecrets(clusterDir, sealFor(node.privateKey.publicKeyDer(), Buffer.from(JSON.stringify(during)), JOIN_SECRETS_PURPOSE));
  expect(readFileSync(join(clusterDir, 'join-secrets.sealed'), 'utf8')).not.toContain('cd'.repeat(32));
  expect(openJoinSecrets(clusterDir, node)).toEqual(during);
});

it('accepts a handover without an old key, and refuses a malformed one', () => {
  const { oldSecretKey: _, ...outside } = during;
  expect(joinSecrets.parse(outside)).toEqual(outside);
  expect(joinSecrets.safeParse({ ...during, oldSecretKey: 'not-hex' }).success).toBe(false);
});

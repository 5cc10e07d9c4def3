/**
 * What a node keeps of its membership under KICI_DATA_DIR/cluster/: member.json, the sealed join
 * secrets, and the forced-recovery request. Real files in temporary directories, real node keys.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ClusterCa, type NodeCredentials, sealFor, SealedBoxError } from '../../../src/certificates/index.js';
import {
  FORCED_RECOVERY_FILE,
  forcedRecoveryDone,
  JOIN_SECRETS_FILE,
  MEMBER_FILE,
  type Membership,
  MembershipFileError,
  openJoinSecrets,
  pendingForcedRecovery,
  readMembership,
  requestForcedRecovery,
  writeMembership,
} from '../../../src/membership/index.js';
import { writeJoinSecrets } from '../../../src/membership/member-file.js';
import { JOIN_SECRETS_PURPOSE, type JoinSecrets } from '../../../src/transport/index.js';
import { cluster, credentials } from '../../integration/transport/peer-links-fixture.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'kici-member-'));
  dirs.push(d);
  return d;
}

const membership: Membership = {
  clusterId: 'alpha',
  nodeId: 'node-b',
  raftId: 2,
  founder: false,
  members: [
    { node: 'node-a', raftId: 1, address: 'node-a.internal:4001' },
    { node: 'node-b', raftId: 2, address: 'node-b.internal:4001' },
  ],
};

const secrets: JoinSecrets = {
  databaseUrl: 'postgresql://kici:hunter2-db-password@db:5432/kici',
  secretKey: 'ab'.repeat(32),
  caKey: '-----BEGIN PRIVATE KEY-----\nnot-a-real-ca-key\n-----END PRIVATE KEY-----\n',
};

let ca: ClusterCa;
let nodeB: NodeCredentials;
let nodeC: NodeCredentials;
beforeAll(async () => {
  ca = await cluster('alpha');
  [nodeB, nodeC] = await Promise.all([credentials(ca, 'node-b'), credentials(ca, 'node-c')]);
});

function sealedFor(node: NodeCredentials, body: unknown, purpose = JOIN_SECRETS_PURPOSE): unknown {
  return sealFor(node.privateKey.publicKeyDer(), Buffer.from(JSON.stringify(body), 'utf8'), purpose);
}

describe('member.json', () => {
  it('is absent until written', () => {
    expect(readMembership(tempDir())).toBeUndefined();
    expect(readMembership(join(tempDir(), 'no', 'such', 'dir'))).toBeUndefined();
  });

  it('round-trips, creating the cluster directory', () => {
    const dir = join(tempDir(), 'cluster');
    writeMembership(dir, membership);
    expect(existsSync(join(dir, MEMBER_FILE))).toBe(true);
    expect(existsSync(join(dir, `${MEMBER_FILE}.tmp`))).toBe(false);
    expect(readMembership(dir)).toEqual(membership);
    // Readable JSON on disk.
    expect(JSON.parse(readFileSync(join(dir, MEMBER_FILE), 'utf8'))).toEqual(membership);
  });

  it('is replaced whole by a later write', () => {
    const dir = tempDir();
    writeMembership(dir, membership);
    const later = { ...membership, founder: true, members: [membership.members[0]!] };
    writeMembership(dir, later);
    expect(readMembership(dir)).toEqual(later);
  });

  it('refuses to write a record that is not one', () => {
    const dir = tempDir();
    expect(() => writeMembership(dir, { ...membership, raftId: 0 })).toThrow();
    expect(existsSync(join(dir, MEMBER_FILE))).toBe(false);
  });

  it('that is not JSON is a MembershipFileError naming the file', () => {
    const dir = tempDir();
    writeFileSync(join(dir, MEMBER_FILE), '{"clusterId": "alpha", ');
    const read = (): unknown => readMembership(dir);
    expect(read).toThrow(MembershipFileError);
    expect(read).toThrow(join(dir, MEMBER_FILE));
    expect(read).toThrow(/is not JSON/);
  });

  it.each([
    ['a field missing', { ...membership, raftId: undefined }],
    ['a field of the wrong type', { ...membership, founder: 'no' }],
    ['an unknown field', { ...membership, extra: 1 }],
    ['a member with an unknown field', { ...membership, members: [{ ...membership.members[0], role: 'x' }] }],
    ['an array', [membership]],
  ])('with %s is a MembershipFileError naming the file', (_, body) => {
    const dir = tempDir();
    writeFileSync(join(dir, MEMBER_FILE), JSON.stringify(body));
    const read = (): unknown => readMembership(dir);
    expect(read).toThrow(MembershipFileError);
    expect(read).toThrow(`${join(dir, MEMBER_FILE)} is not a membership record`);
  });
});

describe('join-secrets.sealed', () => {
  it('is absent on a founder', () => {
    expect(openJoinSecrets(tempDir(), nodeB)).toBeUndefined();
  });

  it('opens with the node key it was sealed for', () => {
    const dir = tempDir();
    writeFileSync(join(dir, JOIN_SECRETS_FILE), `${JSON.stringify(sealedFor(nodeB, secrets))}\n`);
    expect(openJoinSecrets(dir, nodeB)).toEqual(secrets);
  });

  it('as writeJoinSecrets keeps it: opens, holds no secret in clear, and is private to its owner', () => {
    const dir = join(tempDir(), 'cluster');
    writeJoinSecrets(dir, sealedFor(nodeB, secrets));
    const path = join(dir, JOIN_SECRETS_FILE);
    const text = readFileSync(path, 'utf8');
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain(secrets.secretKey);
    expect(text).not.toContain('not-a-real-ca-key');
    expect(statSync(path).mode & 0o077).toBe(0);
    expect(openJoinSecrets(dir, nodeB)).toEqual(secrets);
  });

  it('does not open with another node\'s credentials', () => {
    const dir = tempDir();
    writeFileSync(join(dir, JOIN_SECRETS_FILE), JSON.stringify(sealedFor(nodeB, secrets)));
    let error: unknown;
    try {
      openJoinSecrets(dir, nodeC);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SealedBoxError);
    expect(String((error as Error).message)).not.toContain('hunter2');
  });

  it('does not open when sealed for another purpose', () => {
    const dir = tempDir();
    writeFileSync(join(dir, JOIN_SECRETS_FILE), JSON.stringify(sealedFor(nodeB, secrets, 'kici-something-else')));
    expect(() => openJoinSecrets(dir, nodeB)).toThrow(SealedBoxError);
  });

  it('that is not JSON is a MembershipFileError naming the file', () => {
    const dir = tempDir();
    writeFileSync(join(dir, JOIN_SECRETS_FILE), 'garbage');
    const open = (): unknown => openJoinSecrets(dir, nodeB);
    expect(open).toThrow(MembershipFileError);
    expect(open).toThrow(`${join(dir, JOIN_SECRETS_FILE)} is not a sealed box`);
  });

  it('that is JSON but no box is a SealedBoxError', () => {
    const dir = tempDir();
    writeFileSync(join(dir, JOIN_SECRETS_FILE), JSON.stringify({ databaseUrl: 'postgresql://x' }));
    expect(() => openJoinSecrets(dir, nodeB)).toThrow(SealedBoxError);
  });

  it('that opens to something other than join secrets is a MembershipFileError, without the contents', () => {
    const dir = tempDir();
    writeFileSync(join(dir, JOIN_SECRETS_FILE), JSON.stringify(sealedFor(nodeB, { ...secrets, secretKey: 'hunter2-short' })));
    let error: unknown;
    try {
      openJoinSecrets(dir, nodeB);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(MembershipFileError);
    expect((error as Error).message).toContain(join(dir, JOIN_SECRETS_FILE));
    expect((error as Error).message).not.toContain('hunter2');
  });
});

describe('the forced-recovery request', () => {
  it('is not pending until asked for', () => {
    expect(pendingForcedRecovery(tempDir())).toBeUndefined();
    expect(pendingForcedRecovery(join(tempDir(), 'missing'))).toBeUndefined();
  });

  it('round-trips when it was asked for, and is gone once done', () => {
    const dir = join(tempDir(), 'data', 'cluster');
    const at = new Date('2025-03-04T05:06:07.089Z');
    const path = requestForcedRecovery(dir, at);
    expect(path).toBe(join(dir, FORCED_RECOVERY_FILE));
    expect(existsSync(path)).toBe(true);
    expect(statSync(path).mode & 0o077).toBe(0);
    expect(pendingForcedRecovery(dir)).toBe('2025-03-04T05:06:07.089Z');
    // Still pending on the next read: reading does not consume it.
    expect(pendingForcedRecovery(dir)).toBe('2025-03-04T05:06:07.089Z');
    forcedRecoveryDone(dir);
    expect(existsSync(path)).toBe(false);
    expect(pendingForcedRecovery(dir)).toBeUndefined();
  });

  it('asked for again keeps the later time; done twice is harmless', () => {
    const dir = tempDir();
    requestForcedRecovery(dir, new Date('2025-01-01T00:00:00.000Z'));
    requestForcedRecovery(dir, new Date('2025-02-01T00:00:00.000Z'));
    expect(pendingForcedRecovery(dir)).toBe('2025-02-01T00:00:00.000Z');
    forcedRecoveryDone(dir);
    expect(() => forcedRecoveryDone(dir)).not.toThrow();
    expect(pendingForcedRecovery(dir)).toBeUndefined();
  });

  it('lives beside the membership files without touching them', () => {
    const dir = tempDir();
    mkdirSync(dir, { recursive: true });
    writeMembership(dir, membership);
    requestForcedRecovery(dir, new Date(0));
    forcedRecoveryDone(dir);
    expect(readMembership(dir)).toEqual(membership);
  });
});

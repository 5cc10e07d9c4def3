/**
 * What a node keeps of its cluster membership, under `KICI_DATA_DIR/cluster/` beside its CA
 * certificate, node certificate and key:
 *
 * - `member.json`: the cluster id, this node's id and Raft id, and the members it knew when it
 *   joined (where to find the cluster after a restart).
 * - `join-secrets.sealed`: what a coordinator must share with the cluster (the database URL, the
 *   master key, the CA key), sealed to this node's key. A copy of the file alone opens nothing.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { openSealed, sealFor, type NodeCredentials } from '../certificates/index.js';
import { JOIN_SECRETS_PURPOSE, joinSecrets, type JoinSecrets } from '../transport/index.js';

export const MEMBER_FILE = 'member.json';
export const JOIN_SECRETS_FILE = 'join-secrets.sealed';

const memberFile = z.strictObject({
  clusterId: z.string(),
  nodeId: z.string(),
  raftId: z.number().int().positive(),
  /** True for the node that made the cluster (its Raft log starts with itself as the only voter). */
  founder: z.boolean(),
  /** The members known at the join; a worker's address is the empty string (it is never dialled). */
  members: z.array(z.strictObject({ node: z.string(), raftId: z.number().int().positive(), address: z.string() })),
});
export type Membership = z.infer<typeof memberFile>;

export class MembershipFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MembershipFileError';
  }
}

export function readMembership(clusterDir: string): Membership | undefined {
  const path = join(clusterDir, MEMBER_FILE);
  if (!existsSync(path)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new MembershipFileError(`${path} is not JSON; restore it from a backup or rejoin the node with a new token`);
  }
  const parsed = memberFile.safeParse(raw);
  if (!parsed.success) throw new MembershipFileError(`${path} is not a membership record (${parsed.error.issues[0]!.message})`);
  return parsed.data;
}

export function writeMembership(clusterDir: string, membership: Membership): void {
  writeAtomically(join(clusterDir, MEMBER_FILE), `${JSON.stringify(memberFile.parse(membership), null, 2)}\n`, 0o644);
}

export function writeJoinSecrets(clusterDir: string, sealed: unknown): void {
  writeAtomically(join(clusterDir, JOIN_SECRETS_FILE), `${JSON.stringify(sealed)}\n`, 0o600);
}

/** The secrets this node was handed when it joined, opened with its key; undefined on the founder. */
export function openJoinSecrets(clusterDir: string, credentials: NodeCredentials): JoinSecrets | undefined {
  const path = join(clusterDir, JOIN_SECRETS_FILE);
  if (!existsSync(path)) return undefined;
  let box: unknown;
  try {
    box = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new MembershipFileError(`${path} is not a sealed box`);
  }
  const opened = openSealed(credentials.privateKey, box, JOIN_SECRETS_PURPOSE);
  // Never let a parser quote what the box held: it is the database URL and the keys.
  let parsed: ReturnType<typeof joinSecrets.safeParse> | undefined;
  try {
    parsed = joinSecrets.safeParse(JSON.parse(opened.toString('utf8')));
  } catch {
    parsed = undefined;
  }
  if (!parsed?.success) throw new MembershipFileError(`${path} opened but does not hold what a join hands over`);
  return parsed.data;
}

/**
 * Keep master keys a rotation handed this node in its handover, so a restart reads with them too:
 * the file is sealed again to the node's own key with everything else as it was. False on a node
 * with no handover (the one that made the cluster: its key comes from its configuration).
 */
export function rewriteJoinSecretKeys(clusterDir: string, credentials: NodeCredentials, keys: { secretKey: string; oldSecretKey?: string }): boolean {
  const held = openJoinSecrets(clusterDir, credentials);
  if (!held) return false;
  const { oldSecretKey: _dropped, ...rest } = held;
  const next: JoinSecrets = { ...rest, secretKey: keys.secretKey, ...(keys.oldSecretKey !== undefined ? { oldSecretKey: keys.oldSecretKey } : {}) };
  writeJoinSecrets(clusterDir, sealFor(credentials.privateKey.publicKeyDer(), Buffer.from(JSON.stringify(joinSecrets.parse(next))), JOIN_SECRETS_PURPOSE));
  return true;
}

function writeAtomically(path: string, text: string, mode: number): void {
  mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
  const temporary = `${path}.tmp`;
  writeFileSync(temporary, text, { mode });
  renameSync(temporary, path);
}

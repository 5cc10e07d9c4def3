/**
 * The join door of a coordinator: what `POST /cluster/join` on the cluster port decides. Only the
 * leader admits (it alone can propose the new member), so any other member answers with the
 * leader's address. Admitting is, in order: the token is read and its role checked, spent (one
 * conditional update in PostgreSQL), the joiner's request signed into a node certificate that is
 * recorded, and the joiner proposed as a member with the next Raft id. The leader's membership
 * steward then adds a coordinator to Raft as a learner and promotes it once it has caught up; a
 * worker is never in the Raft configuration, has no address (it dials out, and is never dialled)
 * and is handed no secrets. Joins are taken one at a time, so two joiners never draw the same Raft id.
 */
import {
  type ClusterCa,
  newCertificateSerial,
  nodeIdentity,
  parseJoinToken,
  readNodeRequest,
  sealFor,
  signNodeCertificate,
  type JoinToken,
} from '../../certificates/index.js';
import type { Clock } from '../../clock/index.js';
import type { ClusterRaft } from '../../cluster/index.js';
import { NodeRevokedError, type ClusterRepository } from '../../store/index.js';
import { JOIN_SECRETS_PURPOSE, joinRequest, type JoinAccepted, type JoinDoor, type JoinRefusalCode, type JoinSecrets } from '../../transport/index.js';
import type { Logger } from '../logger.js';

export interface JoinDoorParts {
  clusterId: string;
  ca: ClusterCa;
  /** The node's Raft, reached late: the door is built before it. */
  raft: { propose: ClusterRaft['propose']; status(): ReturnType<ClusterRaft['status']>; state(): ClusterRaft['state'] };
  tokens: Pick<ClusterRepository, 'getJoinToken' | 'joinSecretMatches' | 'consumeJoinToken' | 'recordNodeCertificate' | 'listNodeCertificates'>;
  /** The address of the leader's cluster port, when known. */
  leaderAddress(): string | undefined;
  /**
   * What a coordinator joiner must share (sealed to it before it leaves this node); undefined: no
   * coordinator can join. Workers are handed none and may join either way.
   */
  secrets(): JoinSecrets | undefined;
  clock: Clock;
  log: Pick<Logger, 'info' | 'warn'>;
}

type Answer = { status: number; body: unknown };

const refused = (status: number, error: JoinRefusalCode, message: string, leader?: string): Answer => ({ status, body: { error, message, ...(leader ? { leader } : {}) } });

export function joinDoor(p: JoinDoorParts): JoinDoor {
  let queue: Promise<unknown> = Promise.resolve();
  return {
    caCertificatePem: p.ca.certificatePem,
    admit: (body, address) => {
      const next = queue.then(() => admit(p, body, address));
      queue = next.catch(() => undefined);
      return next;
    },
  };
}

async function admit(p: JoinDoorParts, body: unknown, address: string): Promise<Answer> {
  const parsed = joinRequest.safeParse(body);
  if (!parsed.success) return refused(400, 'invalid_request', parsed.error.issues.map((i) => `${i.path.join('.') || 'request'}: ${i.message}`).join('; '));
  const request = parsed.data;
  let token: JoinToken;
  try {
    token = parseJoinToken(request.token);
  } catch {
    return refused(403, 'token_refused', 'the join token was refused');
  }
  // The secret first: whoever does not hold it learns nothing (not the leader, members or roles).
  if (!(await p.tokens.joinSecretMatches(token.id, (hash) => token.matchesSecretHash(hash)))) {
    p.log.warn({ address, node: request.nodeId, tokenId: token.id, reason: 'wrong_secret_or_unknown' }, 'join refused');
    return refused(403, 'token_refused', 'the join token was refused');
  }
  if (p.raft.status().role !== 'leader') return refused(409, 'not_leader', 'this member does not coordinate the cluster; ask the coordinator', p.leaderAddress());
  if (p.raft.state().member(request.nodeId)) {
    return refused(409, 'already_member', `node ${request.nodeId} is a member already; revoke it (kici-admin peer revoke --instance-id ${request.nodeId}) and join with another id`);
  }
  // A worker is handed nothing the cluster shares (it keeps no database and no CA key), so it can
  // join any coordinator; a coordinator needs data the other members can reach.
  const secrets = request.role === 'coordinator' ? p.secrets() : undefined;
  if (request.role === 'coordinator' && !secrets) {
    return refused(503, 'unavailable', 'this node keeps its data where no other node can reach it: a cluster needs PostgreSQL (KICI_DATABASE_URL) and shared blobs (KICI_STORAGE_TYPE=database or s3) on every member before coordinators can join');
  }
  const now = new Date(p.clock.now());
  const record = await p.tokens.getJoinToken(token.id);
  if (record && record.role !== request.role) {
    p.log.warn({ address, node: request.nodeId, tokenId: token.id }, 'join refused: the token grants another role');
    return refused(403, 'token_refused', `the join token is for a ${record.role}, not a ${request.role}`);
  }
  const spent = await p.tokens.consumeJoinToken(token.id, (hash) => token.matchesSecretHash(hash), now, { nodeId: request.nodeId });
  // A join that spent its token but failed before the node became a member (the leader lost its
  // quorum mid-way, an answer lost on the wire) may be tried again by the same node until the
  // token expires; whatever certificate the failed attempt made is revoked first.
  const retry = !spent.ok && spent.reason === 'used' && record?.usedBy === request.nodeId && record.expiresAt.getTime() > now.getTime();
  if (!spent.ok && !retry) {
    p.log.warn({ address, node: request.nodeId, tokenId: token.id, reason: spent.reason }, 'join refused');
    return refused(403, 'token_refused', 'the join token was refused');
  }
  let certificate: string;
  try {
    certificate = await signNodeCertificate({ ca: p.ca, csrPem: request.csr, clusterId: p.clusterId, nodeId: request.nodeId, role: request.role, serial: newCertificateSerial(), now });
  } catch (e) {
    return refused(400, 'invalid_request', `the certificate request was refused: ${(e as Error).message}`);
  }
  const identity = nodeIdentity(certificate);
  try {
    await p.tokens.recordNodeCertificate({ serial: identity.serial, nodeId: request.nodeId, role: request.role, notAfter: identity.notAfter, joinTokenId: token.id }, now);
  } catch (e) {
    if (e instanceof NodeRevokedError) return refused(403, 'token_refused', `node ${request.nodeId} was revoked and cannot join again`);
    throw e;
  }
  if (retry) {
    const earlier = (await p.tokens.listNodeCertificates({ nodeId: request.nodeId })).filter((c) => c.serial !== identity.serial);
    for (const c of earlier) await p.raft.propose({ type: 'certificate_revoked', serial: c.serial });
    p.log.info({ node: request.nodeId, tokenId: token.id, revoked: earlier.map((c) => c.serial) }, 'join tried again with a token this node spent on a failed attempt');
  }
  const raftId = p.raft.state().nextRaftId();
  // A worker is never dialled: it has no address, recorded as the empty string.
  const memberAddress = request.role === 'coordinator' ? request.address! : '';
  const added = await p.raft.propose({ type: 'member_added', node: request.nodeId, raftId, address: memberAddress, role: request.role, certificateSerial: identity.serial });
  if (!added.applied) return refused(409, 'already_member', added.reason);
  p.log.info({ node: request.nodeId, raftId, role: request.role, address: memberAddress || undefined, serial: identity.serial }, 'node joined the cluster');
  const accepted: JoinAccepted = {
    clusterId: p.clusterId,
    nodeId: request.nodeId,
    raftId,
    certificate,
    caCertificate: p.ca.certificatePem,
    members: p.raft.state().memberList().map((m) => ({ node: m.node, raftId: m.raftId, address: m.address, role: m.role, standing: m.standing })),
    ...(secrets ? { secrets: sealFor((await readNodeRequest(request.csr)).publicKeyDer, Buffer.from(JSON.stringify(secrets)), JOIN_SECRETS_PURPOSE) } : {}),
  };
  return { status: 200, body: accepted };
}

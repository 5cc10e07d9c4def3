/**
 * The cluster's identity, its join tokens, the node certificates its CA issued, and revocations:
 * one repository, because each of these is judged against the others (a token names the CA, a
 * certificate the token it was issued for, a revocation the node and its certificates).
 *
 * Secrets stay out: a join token is stored as the SHA-256 of its secret and no record this
 * repository hands out carries even that; the CA's private key is never in the database.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Selectable } from 'kysely';
import type { Db } from './database.js';
import { NodeRevokedError } from './errors.js';
import { inTransaction } from './guards.js';
import type { ClusterIdentityTable, ClusterRole, JoinTokensTable, NodeCertificatesTable } from './schema.js';

export interface ClusterIdentityRecord {
  clusterId: string;
  /** `sha256:` and 64 hex digits of the CA certificate's DER. */
  caFingerprint: string;
  caCertificatePem: string;
  /** The node that made the cluster. */
  createdBy: string;
  createdAt: Date;
}

export type NewClusterIdentity = Omit<ClusterIdentityRecord, 'createdAt'>;

/** A join token as anyone may see it: no secret, not even its hash. */
export interface JoinTokenRecord {
  id: string;
  role: ClusterRole;
  caFingerprint: string;
  createdAt: Date;
  expiresAt: Date;
  usedAt: Date | null;
  /** The node that spent it, when it said. */
  usedBy: string | null;
  revokedAt: Date | null;
}

export interface NewJoinToken {
  id: string;
  /** SHA-256 of the secret, 64 lowercase hex digits. */
  secretHash: string;
  role: ClusterRole;
  caFingerprint: string;
  expiresAt: Date;
}

export type JoinTokenState = 'active' | 'used' | 'revoked' | 'expired';

/** What a token is at `now`: spent, withdrawn, past its expiry, or still good for one join. */
export function joinTokenState(token: Pick<JoinTokenRecord, 'usedAt' | 'revokedAt' | 'expiresAt'>, now: Date): JoinTokenState {
  if (token.usedAt) return 'used';
  if (token.revokedAt) return 'revoked';
  return token.expiresAt.getTime() > now.getTime() ? 'active' : 'expired';
}

/**
 * Why a join token was not accepted. Meant for the cluster's own log: a joiner should be told only
 * that its token was refused, so an id alone reveals nothing about the token.
 */
export type JoinTokenRefusal = 'unknown' | 'wrong_secret' | 'used' | 'revoked' | 'expired' | 'node_revoked';

export type ConsumeJoinTokenResult = { ok: true; token: JoinTokenRecord } | { ok: false; reason: JoinTokenRefusal };

/**
 * The proof that the joiner holds the token's secret: the secret's SHA-256 (64 lowercase hex), or
 * a check of the stored hash such as `JoinToken#matchesSecretHash`, which never hands the secret out.
 */
export type JoinSecretProof = string | ((storedHash: string) => boolean);

export type RevokeJoinTokenResult =
  | { outcome: 'revoked' | 'already_revoked'; token: JoinTokenRecord }
  /** A spent token cannot be withdrawn: revoke the node that spent it instead. */
  | { outcome: 'used'; token: JoinTokenRecord }
  | { outcome: 'not_found' };

export interface NodeCertificateRecord {
  /** Lowercase hex without leading zeros, as the certificate room normalises serials. */
  serial: string;
  nodeId: string;
  role: ClusterRole;
  joinTokenId: string | null;
  issuedAt: Date;
  notAfter: Date;
  revokedAt: Date | null;
}

export interface NewNodeCertificate {
  serial: string;
  nodeId: string;
  role: ClusterRole;
  notAfter: Date;
  joinTokenId?: string | null;
}

export interface RevokedNode {
  nodeId: string;
  /** False when the node was already revoked. */
  newlyRevoked: boolean;
  /** The serials of every certificate the node was issued, all revoked now. */
  serials: string[];
}

const HASH = /^[0-9a-f]{64}$/;

function toIdentity(row: Selectable<ClusterIdentityTable>): ClusterIdentityRecord {
  return { clusterId: row.cluster_id, caFingerprint: row.ca_fingerprint, caCertificatePem: row.ca_certificate, createdBy: row.created_by, createdAt: row.created_at };
}

function toToken(row: Selectable<JoinTokensTable>): JoinTokenRecord {
  return {
    id: row.id,
    role: row.role,
    caFingerprint: row.ca_fingerprint,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    usedAt: row.used_at,
    usedBy: row.used_by,
    revokedAt: row.revoked_at,
  };
}

function toCertificate(row: Selectable<NodeCertificatesTable>): NodeCertificateRecord {
  return {
    serial: row.serial,
    nodeId: row.node_id,
    role: row.role,
    joinTokenId: row.join_token_id,
    issuedAt: row.issued_at,
    notAfter: row.not_after,
    revokedAt: row.revoked_at,
  };
}

function hashesEqual(a: string, b: string): boolean {
  return HASH.test(a) && HASH.test(b) && timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));
}

export class ClusterRepository {
  constructor(private readonly db: Db) {}

  /** The cluster this database belongs to, or null before any node made one. */
  async identity(): Promise<ClusterIdentityRecord | null> {
    const row = await this.db.selectFrom('cluster_identity').selectAll().executeTakeFirst();
    return row ? toIdentity(row) : null;
  }

  /**
   * Record the cluster this database belongs to, unless it already belongs to one: returns the
   * identity stored, which is another cluster's when one was recorded first (the caller refuses it).
   */
  async recordIdentity(identity: NewClusterIdentity, now: Date): Promise<ClusterIdentityRecord> {
    await this.db
      .insertInto('cluster_identity')
      .values({
        cluster_id: identity.clusterId,
        ca_fingerprint: identity.caFingerprint,
        ca_certificate: identity.caCertificatePem,
        created_by: identity.createdBy,
        created_at: now,
      })
      .onConflict((oc) => oc.column('singleton').doNothing())
      .execute();
    const stored = await this.identity();
    if (!stored) throw new Error('the cluster identity vanished as it was recorded');
    return stored;
  }

  async insertJoinToken(token: NewJoinToken, now: Date): Promise<JoinTokenRecord> {
    if (!HASH.test(token.secretHash)) throw new TypeError('a join token secret hash is 64 lowercase hex digits');
    const row = await this.db
      .insertInto('join_tokens')
      .values({
        id: token.id,
        secret_hash: token.secretHash,
        role: token.role,
        ca_fingerprint: token.caFingerprint,
        created_at: now,
        expires_at: token.expiresAt,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toToken(row);
  }

  async getJoinToken(id: string): Promise<JoinTokenRecord | null> {
    const row = await this.db.selectFrom('join_tokens').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toToken(row) : null;
  }

  /** Does the joiner hold this token's secret? Spends nothing: a door asks it before anything else. */
  async joinSecretMatches(id: string, proof: JoinSecretProof): Promise<boolean> {
    const stored = await this.db.selectFrom('join_tokens').select('secret_hash').where('id', '=', id).executeTakeFirst();
    if (!stored) return false;
    return typeof proof === 'function' ? proof(stored.secret_hash) === true : hashesEqual(proof, stored.secret_hash);
  }

  async listJoinTokens(): Promise<JoinTokenRecord[]> {
    const rows = await this.db.selectFrom('join_tokens').selectAll().orderBy('created_at').orderBy('id').execute();
    return rows.map(toToken);
  }

  /** Withdraw an unused token. Idempotent; a spent token stays as it is (`used`). */
  async revokeJoinToken(id: string, now: Date): Promise<RevokeJoinTokenResult> {
    const row = await this.db
      .updateTable('join_tokens')
      .set({ revoked_at: now })
      .where('id', '=', id)
      .where('used_at', 'is', null)
      .where('revoked_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
    if (row) return { outcome: 'revoked', token: toToken(row) };
    const existing = await this.getJoinToken(id);
    if (!existing) return { outcome: 'not_found' };
    return { outcome: existing.usedAt ? 'used' : 'already_revoked', token: existing };
  }

  /**
   * Spend a join token: valid only if the secret matches, it is neither used nor revoked, `now` is
   * before its expiry and (when `nodeId` is given) that node was never revoked. Marking it used is
   * one conditional update, so of two joiners racing with the same token exactly one gets it.
   */
  async consumeJoinToken(id: string, proof: JoinSecretProof, now: Date, options: { nodeId?: string } = {}): Promise<ConsumeJoinTokenResult> {
    const stored = await this.db.selectFrom('join_tokens').select('secret_hash').where('id', '=', id).executeTakeFirst();
    if (!stored) return { ok: false, reason: 'unknown' };
    const matches = typeof proof === 'function' ? proof(stored.secret_hash) === true : hashesEqual(proof, stored.secret_hash);
    if (!matches) return { ok: false, reason: 'wrong_secret' };
    const { nodeId } = options;
    let spend = this.db
      .updateTable('join_tokens')
      .set({ used_at: now, used_by: nodeId ?? null })
      .where('id', '=', id)
      .where('secret_hash', '=', stored.secret_hash)
      .where('used_at', 'is', null)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now);
    if (nodeId !== undefined) {
      spend = spend.where((eb) => eb.not(eb.exists(eb.selectFrom('revoked_nodes').select('revoked_nodes.node_id').where('revoked_nodes.node_id', '=', nodeId))));
    }
    const row = await spend.returningAll().executeTakeFirst();
    if (row) return { ok: true, token: toToken(row) };
    // Refused: say why, for the log (the decision above is the one that counts).
    const token = await this.getJoinToken(id);
    if (!token) return { ok: false, reason: 'unknown' };
    const state = joinTokenState(token, now);
    if (state !== 'active') return { ok: false, reason: state };
    return { ok: false, reason: 'node_revoked' };
  }

  /** Keep a certificate the CA issued; refuses (NodeRevokedError) for a node that was revoked. */
  async recordNodeCertificate(certificate: NewNodeCertificate, now: Date): Promise<NodeCertificateRecord> {
    return inTransaction(this.db, async (trx) => {
      const revoked = await trx.selectFrom('revoked_nodes').select('node_id').where('node_id', '=', certificate.nodeId).executeTakeFirst();
      if (revoked) throw new NodeRevokedError(certificate.nodeId);
      const row = await trx
        .insertInto('node_certificates')
        .values({
          serial: certificate.serial,
          node_id: certificate.nodeId,
          role: certificate.role,
          join_token_id: certificate.joinTokenId ?? null,
          issued_at: now,
          not_after: certificate.notAfter,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toCertificate(row);
    });
  }

  async listNodeCertificates(filter: { nodeId?: string } = {}): Promise<NodeCertificateRecord[]> {
    let query = this.db.selectFrom('node_certificates').selectAll();
    if (filter.nodeId !== undefined) query = query.where('node_id', '=', filter.nodeId);
    const rows = await query.orderBy('issued_at').orderBy('serial').execute();
    return rows.map(toCertificate);
  }

  /**
   * Revoke a node for good: its id is barred from joining again and every certificate it was
   * issued is revoked, in one transaction. Revoking it again changes nothing.
   */
  async revokeNode(nodeId: string, now: Date, reason?: string): Promise<RevokedNode> {
    return inTransaction(this.db, async (trx) => {
      const inserted = await trx
        .insertInto('revoked_nodes')
        .values({ node_id: nodeId, revoked_at: now, reason: reason ?? null })
        .onConflict((oc) => oc.column('node_id').doNothing())
        .returning('node_id')
        .executeTakeFirst();
      await trx.updateTable('node_certificates').set({ revoked_at: now }).where('node_id', '=', nodeId).where('revoked_at', 'is', null).execute();
      const serials = await trx.selectFrom('node_certificates').select('serial').where('node_id', '=', nodeId).orderBy('serial').execute();
      return { nodeId, newlyRevoked: inserted !== undefined, serials: serials.map((s) => s.serial) };
    });
  }

  async isNodeRevoked(nodeId: string): Promise<boolean> {
    const row = await this.db.selectFrom('revoked_nodes').select('node_id').where('node_id', '=', nodeId).executeTakeFirst();
    return row !== undefined;
  }

  /**
   * The revoked list a peer checks certificates against (`verifyNodeCertificate`'s
   * `revokedSerials`): every revoked certificate, and every certificate of a revoked node (so one
   * recorded while its node was being revoked is on the list too). Expired ones stay listed; they
   * are refused anyway, and revocations are few.
   */
  async revokedSerials(): Promise<string[]> {
    const rows = await this.db
      .selectFrom('node_certificates')
      .select('serial')
      .where((eb) =>
        eb.or([
          eb('revoked_at', 'is not', null),
          eb.exists(eb.selectFrom('revoked_nodes').select('revoked_nodes.node_id').whereRef('revoked_nodes.node_id', '=', 'node_certificates.node_id')),
        ]),
      )
      .orderBy('serial')
      .execute();
    return rows.map((r) => r.serial);
  }
}

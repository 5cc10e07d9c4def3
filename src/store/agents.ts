/**
 * Agent tokens (hash + display prefix, optional label allowlist, slot cap and expiry) and the
 * agents that registered with them: one repository, because an agent is bound to the token it
 * registered with.
 */
import type { Selectable } from 'kysely';
import type { Db } from './database.js';
import type { AgentsTable, AgentTokensTable } from './schema.js';
import { jsonb } from './sql-values.js';

export interface AgentTokenRecord {
  id: string;
  name: string;
  prefix: string;
  /** null: any labels may be claimed. */
  labels: string[] | null;
  /** The most slots an agent may declare with it; null: the default cap (DEFAULT_AGENT_SLOT_CAP). */
  maxConcurrency: number | null;
  createdAt: Date;
  revokedAt: Date | null;
  expiresAt: Date | null;
}

export interface NewAgentToken {
  id: string;
  name: string;
  tokenHash: string;
  prefix: string;
  labels?: string[] | null;
  maxConcurrency?: number | null;
  expiresAt?: Date | null;
}

export interface AgentRecord {
  id: string;
  tokenId: string;
  labels: string[];
  hostname: string | null;
  lastSeenAt: Date;
  connectedNode: string | null;
}

function toTokenRecord(row: Selectable<AgentTokensTable>): AgentTokenRecord {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    labels: row.labels ?? null,
    maxConcurrency: row.max_concurrency ?? null,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
    expiresAt: row.expires_at,
  };
}

export interface AgentRegistration {
  id: string;
  tokenId: string;
  labels: string[];
  hostname?: string | null;
  connectedNode?: string | null;
}

function toAgent(row: Selectable<AgentsTable>): AgentRecord {
  return {
    id: row.id,
    tokenId: row.token_id,
    labels: row.labels ?? [],
    hostname: row.hostname,
    lastSeenAt: row.last_seen_at,
    connectedNode: row.connected_node,
  };
}

export class AgentRepository {
  constructor(private readonly db: Db) {}

  async insertToken(token: NewAgentToken, now: Date): Promise<AgentTokenRecord> {
    const row = await this.db
      .insertInto('agent_tokens')
      .values({
        id: token.id,
        name: token.name,
        token_hash: token.tokenHash,
        prefix: token.prefix,
        labels: token.labels == null ? null : jsonb(token.labels),
        max_concurrency: token.maxConcurrency ?? null,
        expires_at: token.expiresAt ?? null,
        created_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toTokenRecord(row);
  }

  /** The token with this hash if it is neither revoked nor expired at `now`. */
  async findValidToken(tokenHash: string, now: Date): Promise<AgentTokenRecord | null> {
    const row = await this.db
      .selectFrom('agent_tokens')
      .selectAll()
      .where('token_hash', '=', tokenHash)
      .where('revoked_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
      .executeTakeFirst();
    return row ? toTokenRecord(row) : null;
  }

  /** The tokens that admit agents now, with their hashes: what an edge worker checks its agents against. */
  async validTokenHashes(now: Date): Promise<{ id: string; hash: string; labels: string[] | null; maxConcurrency: number | null; expiresAt: Date | null }[]> {
    const rows = await this.db
      .selectFrom('agent_tokens')
      .select(['id', 'token_hash', 'labels', 'max_concurrency', 'expires_at'])
      .where('revoked_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
      .orderBy('id')
      .execute();
    return rows.map((r) => ({ id: r.id, hash: r.token_hash, labels: r.labels ?? null, maxConcurrency: r.max_concurrency ?? null, expiresAt: r.expires_at }));
  }

  async getToken(id: string): Promise<AgentTokenRecord | null> {
    const row = await this.db.selectFrom('agent_tokens').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toTokenRecord(row) : null;
  }

  async listTokens(): Promise<AgentTokenRecord[]> {
    const rows = await this.db.selectFrom('agent_tokens').selectAll().orderBy('created_at').orderBy('id').execute();
    return rows.map(toTokenRecord);
  }

  /** Returns false when the token is unknown or already revoked. */
  async revokeToken(id: string, now: Date): Promise<boolean> {
    const result = await this.db
      .updateTable('agent_tokens')
      .set({ revoked_at: now })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /**
   * Record a registration. An agent id stays bound to the first token that registered it: a
   * registration under a different token changes nothing and returns the existing binding, so the
   * caller can refuse it (close 4003).
   */
  async register(agent: AgentRegistration, now: Date): Promise<AgentRecord> {
    const changes = {
      labels: jsonb(agent.labels),
      hostname: agent.hostname ?? null,
      connected_node: agent.connectedNode ?? null,
      last_seen_at: now,
    };
    const row = await this.db
      .insertInto('agents')
      .values({ id: agent.id, token_id: agent.tokenId, ...changes })
      .onConflict((oc) =>
        oc
          .column('id')
          .doUpdateSet(changes)
          .where('agents.token_id', '=', agent.tokenId),
      )
      .returningAll()
      .executeTakeFirst();
    if (row) return toAgent(row);
    const existing = await this.get(agent.id);
    if (!existing) throw new Error(`agent ${agent.id} vanished during registration`);
    return existing;
  }

  async get(id: string): Promise<AgentRecord | null> {
    const row = await this.db.selectFrom('agents').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toAgent(row) : null;
  }

  async list(filter: { tokenId?: string; connectedNode?: string } = {}): Promise<AgentRecord[]> {
    let query = this.db.selectFrom('agents').selectAll();
    if (filter.tokenId !== undefined) query = query.where('token_id', '=', filter.tokenId);
    if (filter.connectedNode !== undefined) query = query.where('connected_node', '=', filter.connectedNode);
    const rows = await query.orderBy('id').execute();
    return rows.map(toAgent);
  }

  /** Heartbeat / disconnect bookkeeping: `connectedNode` null means not connected anywhere. */
  async touch(id: string, now: Date, connectedNode?: string | null): Promise<boolean> {
    const result = await this.db
      .updateTable('agents')
      .set({ last_seen_at: now, ...(connectedNode !== undefined && { connected_node: connectedNode }) })
      .where('id', '=', id)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }
}

/**
 * The audit (migration 012): who did what to what, newest first. Rows are written by the
 * repositories whose changes they record, inside the change's own transaction, so a change and
 * its row commit together or not at all; nothing updates or deletes them.
 */
import type { Selectable } from 'kysely';
import { SYSTEM_ACTOR_NAME } from './admin-token-names.js';
import type { Db } from './database.js';
import type { AuditEventsTable } from './schema.js';
import { jsonb } from './sql-values.js';

/** Who acted: an admin token (its name then, and its id), or the orchestrator itself. */
export interface AuditActor {
  name: string;
  tokenId: string | null;
}

export const SYSTEM_ACTOR: AuditActor = Object.freeze({ name: SYSTEM_ACTOR_NAME, tokenId: null });

/**
 * The actions recorded so far; the column takes any `area.verb`. `held_run.*`: a reviewer's vote on
 * a held job, written with the vote (holds.ts), its subject the hold and its job's name.
 * `secret.set|unset`: a value stored or removed in a scope (sealed-secrets.ts), its subject
 * `<scope>/<NAME>` and the name, details the scope and name only (never the value).
 * `environment.bind|unbind`: a scope pattern bound to or unbound from an environment
 * (environment-bindings.ts), its subject the binding and the environment's name.
 * `key.rotate`: an admin's `rotate-key` (src/secrets/key-rotation.ts), written after it with the
 * counts it moved and left per table, its subject the current key's version (never a key or value).
 * `retention.purge`: an admin's `runs purge`, written after it with what it removed (its subject
 * `retention`; a purge is many batches, each its own statement, so there is no one change to commit with).
 */
export type AuditAction =
  | 'admin_token.create'
  | 'admin_token.revoke'
  | 'admin_token.rename'
  | 'held_run.approve'
  | 'held_run.reject'
  | 'secret.set'
  | 'storage.migrate'
  | 'secret.unset'
  | 'environment.bind'
  | 'environment.unbind'
  | 'secret_backend.create'
  | 'secret_backend.remove'
  | 'retention.purge'
  | 'key.rotate';

export interface NewAuditEvent {
  actor: AuditActor;
  action: AuditAction;
  subject: { id: string; name: string | null };
  /** Display prefixes, reasons: never a secret or a token value. */
  details?: Record<string, unknown>;
  orgId?: string | null;
}

export interface AuditEvent {
  id: number;
  at: Date;
  actor: string;
  actorTokenId: string | null;
  action: string;
  subject: { id: string; name: string | null };
  details: Record<string, unknown>;
  orgId: string | null;
}

export interface AuditFilter {
  /** 1–500. */
  limit: number;
  /** Only events older than this id (the previous page's last id). */
  before?: number;
  action?: string;
  actor?: string;
}

function toEvent(row: Selectable<AuditEventsTable>): AuditEvent {
  return {
    id: Number(row.id),
    at: row.at,
    actor: row.actor,
    actorTokenId: row.actor_token_id,
    action: row.action,
    subject: { id: row.subject_id, name: row.subject_name },
    details: row.details,
    orgId: row.org_id,
  };
}

export class AuditRepository {
  constructor(private readonly db: Db) {}

  /** Build it over the change's transaction so the row commits with the change. */
  async record(event: NewAuditEvent, at: Date): Promise<AuditEvent> {
    const row = await this.db
      .insertInto('audit_events')
      .values({
        at,
        actor: event.actor.name,
        actor_token_id: event.actor.tokenId,
        action: event.action,
        subject_id: event.subject.id,
        subject_name: event.subject.name,
        details: jsonb(event.details ?? {}),
        org_id: event.orgId ?? null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toEvent(row);
  }

  /** Newest first (by id: the order rows were written in, whatever the nodes' clocks say). */
  async list(filter: AuditFilter): Promise<AuditEvent[]> {
    let query = this.db.selectFrom('audit_events').selectAll();
    if (filter.before !== undefined) query = query.where('id', '<', filter.before);
    if (filter.action !== undefined) query = query.where('action', '=', filter.action);
    if (filter.actor !== undefined) query = query.where('actor', '=', filter.actor);
    const rows = await query.orderBy('id', 'desc').limit(filter.limit).execute();
    return rows.map(toEvent);
  }
}

/**
 * Sources: where deliveries come from (git repositories, generic webhooks, GitHub). Soft-deleted
 * rows stay for the event log's sake but are invisible to every lookup here. Every write notifies
 * `sources_change` with the source's id in its own transaction (source-changes.ts), so every node
 * drops its cached copy when the write commits.
 */
import { randomBytes } from 'node:crypto';
import type { Selectable } from 'kysely';
import type { Db } from './database.js';
import { inTransaction } from './guards.js';
import type { SourceKind, SourcesTable, SourceVerification } from './schema.js';
import { notifySourceChanged } from './source-changes.js';
import { jsonb } from './sql-values.js';

export interface Source {
  id: string;
  orgId: string;
  kind: SourceKind;
  name: string;
  enabled: boolean;
  url: string | null;
  defaultBranch: string | null;
  verification: SourceVerification;
  config: Record<string, unknown>;
  /** GitHub sources: the App id (decimal digits); null for every other kind. */
  appId: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewSource {
  /** Normally generated (`src_<random>`); tests and imports may fix it. */
  id?: string;
  orgId: string;
  kind: SourceKind;
  name: string;
  enabled?: boolean;
  url?: string | null;
  defaultBranch?: string | null;
  verification: SourceVerification;
  config?: Record<string, unknown>;
  /** Required for GitHub sources, refused for the others (a CHECK). */
  appId?: string | null;
}

export type SourceChanges = Partial<
  Pick<Source, 'name' | 'enabled' | 'url' | 'defaultBranch' | 'verification' | 'config'>
>;

const ID_ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789';

/** Short, readable, unambiguous (no 0/o/1/l): `src_` + 12 characters, 60 bits. */
export function newSourceId(): string {
  const bytes = randomBytes(12);
  let id = 'src_';
  for (const byte of bytes) id += ID_ALPHABET[byte % ID_ALPHABET.length];
  return id;
}

function toSource(row: Selectable<SourcesTable>): Source {
  return {
    id: row.id,
    orgId: row.org_id,
    kind: row.kind,
    name: row.name,
    enabled: row.enabled,
    url: row.url,
    defaultBranch: row.default_branch,
    verification: row.verification,
    config: row.config ?? {},
    appId: row.app_id ?? null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export class SourceRepository {
  constructor(private readonly db: Db) {}

  /** Throws on a duplicate live name in the org (unique violation, code 23505). */
  create(input: NewSource): Promise<Source> {
    return inTransaction(this.db, async (trx) => {
      const row = await trx
        .insertInto('sources')
        .values({
          id: input.id ?? newSourceId(),
          org_id: input.orgId,
          kind: input.kind,
          name: input.name,
          enabled: input.enabled ?? true,
          url: input.url ?? null,
          default_branch: input.defaultBranch ?? null,
          verification: input.verification,
          config: jsonb(input.config ?? {}),
          app_id: input.appId ?? null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      // A node may have cached "no such source" for this id (a webhook that came first).
      await notifySourceChanged(trx, row.id);
      return toSource(row);
    });
  }

  /** A live source by id; pass `orgId` to refuse sources of another org. */
  async get(id: string, orgId?: string): Promise<Source | null> {
    let query = this.db.selectFrom('sources').selectAll().where('id', '=', id).where('deleted_at', 'is', null);
    if (orgId !== undefined) query = query.where('org_id', '=', orgId);
    const row = await query.executeTakeFirst();
    return row ? toSource(row) : null;
  }

  /** The live GitHub source of an App, whatever its organisation (App ids are global). */
  async findGithubApp(appId: string): Promise<Source | null> {
    const row = await this.db
      .selectFrom('sources')
      .selectAll()
      .where('kind', '=', 'github')
      .where('app_id', '=', appId)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return row ? toSource(row) : null;
  }

  async findByName(orgId: string, name: string): Promise<Source | null> {
    const row = await this.db
      .selectFrom('sources')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('name', '=', name)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return row ? toSource(row) : null;
  }

  async list(filter: { orgId?: string; kind?: SourceKind } = {}): Promise<Source[]> {
    let query = this.db.selectFrom('sources').selectAll().where('deleted_at', 'is', null);
    if (filter.orgId !== undefined) query = query.where('org_id', '=', filter.orgId);
    if (filter.kind !== undefined) query = query.where('kind', '=', filter.kind);
    const rows = await query.orderBy('created_at').orderBy('id').execute();
    return rows.map(toSource);
  }

  update(id: string, changes: SourceChanges, now: Date): Promise<Source | null> {
    return inTransaction(this.db, async (trx) => {
      const row = await trx
        .updateTable('sources')
        .set({
          updated_at: now,
          ...(changes.name !== undefined && { name: changes.name }),
          ...(changes.enabled !== undefined && { enabled: changes.enabled }),
          ...(changes.url !== undefined && { url: changes.url }),
          ...(changes.defaultBranch !== undefined && { default_branch: changes.defaultBranch }),
          ...(changes.verification !== undefined && { verification: changes.verification }),
          ...(changes.config !== undefined && { config: jsonb(changes.config) }),
        })
        .where('id', '=', id)
        .where('deleted_at', 'is', null)
        .returningAll()
        .executeTakeFirst();
      if (!row) return null;
      await notifySourceChanged(trx, row.id);
      return toSource(row);
    });
  }

  /** Soft delete; returns false when there was no live source with that id. */
  delete(id: string, now: Date): Promise<boolean> {
    return inTransaction(this.db, async (trx) => {
      const result = await trx
        .updateTable('sources')
        .set({ deleted_at: now, updated_at: now, enabled: false })
        .where('id', '=', id)
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
      if (result.numUpdatedRows === 0n) return false;
      await notifySourceChanged(trx, id);
      return true;
    });
  }

  /**
   * Hard delete: the row (live or soft-deleted), the workflows it registered and its sealed secrets
   * (`secretScope`: `sourceSecretScope(id)`), in one transaction. Runs and deliveries keep the id
   * as history. Null when no row.
   */
  purge(id: string, secretScope: string): Promise<Source | null> {
    return inTransaction(this.db, async (trx) => {
      const row = await trx.selectFrom('sources').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) return null;
      await trx.deleteFrom('workflow_registrations').where('source_id', '=', id).execute();
      await trx.deleteFrom('sealed_secrets').where('org_id', '=', row.org_id).where('scope', '=', secretScope).execute();
      await trx.deleteFrom('sources').where('id', '=', id).execute();
      await notifySourceChanged(trx, id);
      return toSource(row);
    });
  }
}

/**
 * Source changes across the nodes sharing one database: the `sources_change` channel.
 *
 * Contract (the seed's, kept as is): channel `sources_change`, payload the changed source's id as
 * bare text (`src_k3x9…`; the seed's routing key). Every repository write that changes a source
 * row (create, update, soft delete, purge) or a sealed secret in a source's scope
 * (`source/<id>`: its webhook secret, its clone token) runs `pg_notify('sources_change', <id>)` in
 * the write's own transaction, so the notification goes out exactly when the change commits and
 * never for a rollback, and no caller can forget it.
 *
 * A listener gets typed changes: `{ kind: 'source', sourceId }`, or `{ kind: 'all' }` when it must
 * drop everything: after its connection was lost and replaced (`resync`: notifications in the gap
 * are gone) or for a payload that is not a source id (`unrecognised`: someone else's NOTIFY, a
 * future format; a bad payload never throws).
 */
import { sql } from 'kysely';
import { z } from 'zod';
import type { Db } from './database.js';
import type { Listen, ListenOptions } from './notifications.js';

export const SOURCES_CHANGE_CHANNEL = 'sources_change';

export type SourceChange =
  | { readonly kind: 'source'; readonly sourceId: string }
  | { readonly kind: 'all'; readonly reason: 'resync' | 'unrecognised' };

export interface SourceChangeListenOptions extends ListenOptions {
  /** For the log: a lost connection, a failed reconnect, an unrecognised payload, a callback that threw. */
  onError?(error: Error): void;
}

/** A source id as it can appear in a payload: what `newSourceId()` makes and what imports fix. */
const sourceIdPayload = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$/);

/** A payload as a change; anything that is not a source id means "assume everything changed". */
export function parseSourceChange(payload: string): SourceChange {
  const parsed = sourceIdPayload.safeParse(payload);
  return parsed.success ? { kind: 'source', sourceId: parsed.data } : { kind: 'all', reason: 'unrecognised' };
}

const SOURCE_SCOPE_PREFIX = 'source/';

/** Scope of the sealed secrets holding a source's credentials (`webhookSecret`, `token`). */
export function sourceSecretScope(sourceId: string): string {
  return `${SOURCE_SCOPE_PREFIX}${sourceId}`;
}

/** The source whose credentials a sealed-secret scope holds; null for any other scope. */
export function sourceOfSecretScope(scope: string): string | null {
  return scope.startsWith(SOURCE_SCOPE_PREFIX) && scope.length > SOURCE_SCOPE_PREFIX.length ? scope.slice(SOURCE_SCOPE_PREFIX.length) : null;
}

/** `pg_notify` through `db`: inside its transaction when it is one, delivered when that commits. */
export async function notifySourceChanged(db: Db, sourceId: string): Promise<void> {
  await sql`select pg_notify(${SOURCES_CHANGE_CHANNEL}, ${sourceId})`.execute(db);
}

export class SourceChangeRepository {
  constructor(
    private readonly db: Db,
    /** Absent on repositories bound to a transaction: a listener belongs to the store. */
    private readonly listener?: Listen,
  ) {}

  /**
   * Tell every node that a source changed. The repository writes already do; this is for a change
   * the store cannot see (none today). Inside a transaction it is sent on commit.
   */
  notify(sourceId: string): Promise<void> {
    return notifySourceChanged(this.db, sourceId);
  }

  /**
   * Call `onChange` for every committed source change, from any node (this one included). Resolves
   * once listening, to a function that stops. On PostgreSQL this holds one dedicated connection and
   * reconnects it with backoff, then reports `{ kind: 'all', reason: 'resync' }`; a callback that
   * throws or rejects, or a payload that is not a source id, is reported to `onError` and the feed
   * goes on.
   */
  listen(onChange: (change: SourceChange) => void | Promise<void>, options: SourceChangeListenOptions = {}): Promise<() => Promise<void>> {
    if (!this.listener) return Promise.reject(new Error('listen on the store, not on repositories bound to a transaction'));
    const onError = (error: Error) => {
      try {
        options.onError?.(error);
      } catch {
        // A failing logger must not take the feed down.
      }
    };
    const emit = (change: SourceChange) => {
      try {
        void Promise.resolve(onChange(change)).catch((e: unknown) => onError(e instanceof Error ? e : new Error(String(e))));
      } catch (e) {
        onError(e instanceof Error ? e : new Error(String(e)));
      }
    };
    return this.listener(
      SOURCES_CHANGE_CHANNEL,
      {
        onPayload: (payload) => {
          const change = parseSourceChange(payload);
          if (change.kind === 'all') onError(new Error(`${SOURCES_CHANGE_CHANNEL}: unrecognised payload ${JSON.stringify(payload.slice(0, 80))}; treating it as a change to every source`));
          emit(change);
        },
        onResync: () => emit({ kind: 'all', reason: 'resync' }),
        onError,
      },
      options,
    );
  }
}

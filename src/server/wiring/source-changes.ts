import type { SourceCatalog } from '../../deliveries/index.js';
import type { SourceChangeListenOptions, Store } from '../../store/index.js';

/** The two log calls it makes (the process's pino logger fits). */
export interface FeedLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/**
 * Keep this node's source catalog in step with every node's source changes: each committed change
 * to a source or its credentials (`sources_change`, notified by the store's own writes, from any
 * node) drops that source from the catalog; a resync (the listening connection was lost and
 * replaced, so changes may have gone unheard) or an unrecognised payload drops everything.
 * Resolves once listening, to the function that stops it.
 */
export function watchSourceChanges(
  store: Pick<Store, 'sourceChanges'>,
  catalog: Pick<SourceCatalog, 'invalidate'>,
  log: FeedLog,
  options: Omit<SourceChangeListenOptions, 'onError'> = {},
): Promise<() => Promise<void>> {
  return store.sourceChanges.listen(
    (change) => {
      if (change.kind === 'source') {
        catalog.invalidate(change.sourceId);
        return;
      }
      catalog.invalidate();
      log.info({ reason: change.reason }, 'source caches dropped');
    },
    { ...options, onError: (error) => log.warn({ err: error.message }, 'source change feed') },
  );
}

/**
 * `POST /sources/:id/reconcile` (`kici-admin source redeliver <id>` without `--repo`): fetch the
 * source's mirror now and run the branches whose tip moved without a delivery, answering which
 * refs got runs. The same work as the coordinator's periodic reconcile, done on request.
 */
import type { AdminDeps } from './deps.js';
import { apiError, type RouteTable } from './http.js';

export function sourceReconcileRoutes(deps: AdminDeps): RouteTable {
  return [
    ['POST', '/sources/:id/reconcile', async (req) => {
      const source = await deps.store.sources.get(req.params.id);
      if (!source) throw apiError(404, 'not_found', `no source ${req.params.id}`);
      if (source.kind !== 'git' || !source.url) throw apiError(400, 'not_a_git_source', 'only git sources have branches to reconcile; this source has none');
      if (!source.enabled) throw apiError(409, 'source_disabled', `source ${source.id} is disabled`);
      try {
        return { status: 200, body: await deps.reconcileSource(source) };
      } catch (e) {
        // The fetch is what fails here (an unreachable remote, a bad token): the gateway's fault, not ours.
        throw apiError(502, 'reconcile_failed', `reconcile of ${source.id} failed: ${(e as Error).message}`);
      }
    }],
  ];
}

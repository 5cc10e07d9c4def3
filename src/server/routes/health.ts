import type { Router } from '../http/router.js';
import type { OrchestratorMetrics } from '../metrics.js';

export interface HealthDeps {
  version: string;
  startedAt: number;
  nodeId: string;
  /** A cheap database round trip; throws when the database is unreachable (absent on an edge worker, which has none). */
  probeDatabase?(): Promise<void>;
  metrics: OrchestratorMetrics;
  /** Why this node is out of the cluster's quorum, or undefined when it is in it. */
  clusterUnready?(): string | undefined;
  /** An edge worker's outbox and the coordinators it reaches, shown whether ready or not. */
  held?(): object;
}

/** `/health` always answers 200 while the process runs; `/ready` answers 503 when a dependency is down. */
export function healthRoutes(router: Router, deps: HealthDeps): void {
  router.on('GET', '/health', () => ({
    status: 200,
    body: {
      status: 'ok',
      timestamp: new Date().toISOString(),
      uptime: (Date.now() - deps.startedAt) / 1000,
      version: deps.version,
      nodeId: deps.nodeId,
    },
  }));
  router.on('GET', '/ready', async () => {
    let database: string | undefined;
    if (deps.probeDatabase) {
      database = 'ok';
      try {
        await deps.probeDatabase();
      } catch {
        database = 'unreachable';
      }
    }
    const cluster = deps.clusterUnready?.() ?? 'ok';
    const ready = (database ?? 'ok') === 'ok' && cluster === 'ok';
    const checks = { ...(database && { database }), cluster, ...(deps.held && { held: deps.held() }) };
    return { status: ready ? 200 : 503, body: { status: ready ? 'ready' : 'not ready', checks } };
  });
  router.on('GET', '/metrics', async () => ({
    status: 200,
    text: await deps.metrics.registry.metrics(),
    headers: { 'content-type': deps.metrics.registry.contentType },
  }));
}

import type { AdminDeps, ConnectedAgent } from './deps.js';
import { apiError, type RouteTable } from './http.js';

/**
 * The agents connected to this node, for `kici-admin agent list`; with `scope=cluster` also those
 * the other nodes hold, as their slot reports (every 2 s) describe them, for a page that shows the
 * whole cluster whichever node it reached.
 */
export function agentRoutes(deps: AdminDeps): RouteTable {
  return [
    ['GET', '/agents', async (req) => {
      const scope = req.query.get('scope') ?? 'node';
      if (scope !== 'node' && scope !== 'cluster') throw apiError(400, 'invalid_request', 'scope: node or cluster');
      const agents = scope === 'cluster' ? everyAgent(deps) : deps.connectedAgents();
      return { status: 200, body: { agents } };
    }],
  ];
}

/** This node's agents and those the other nodes reported (their slot reports, every 2 s). */
export function everyAgent(deps: Pick<AdminDeps, 'connectedAgents' | 'agentsElsewhere'>): ConnectedAgent[] {
  return [...deps.connectedAgents(), ...(deps.agentsElsewhere?.() ?? [])];
}

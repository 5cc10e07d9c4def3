import type { AdminDeps } from './deps.js';
import type { RouteTable } from './http.js';

/** The agents connected to this node, for `kici-admin agent list`. */
export function agentRoutes(deps: AdminDeps): RouteTable {
  return [['GET', '/agents', async () => ({ status: 200, body: { agents: deps.connectedAgents() } })]];
}

import { type AdminCaller, ApiFailure, type RouteTable, VIEWER_REFUSAL, viewerMayCall } from '../admin/index.js';
import type { UiSession } from '../store/index.js';
import { jsonReply, UiRefusal, type UiReply, type UiRequest, type UiRoute, type ServerResponse } from './http.js';
import type { SessionGate } from './sessions.js';

/** One admin API handler (the admin door exports the table, not its row type). */
type ApiHandler = RouteTable[number][2];

export const callerOf = (s: UiSession): AdminCaller => ({ tokenId: s.tokenId, name: s.name, role: s.role });

/** A viewer session is held to what a viewer token may do through the bearer-token API (403 `forbidden`). */
export function refuseViewer(session: UiSession, method: string, route: string): void {
  if (session.role === 'viewer' && !viewerMayCall(method, route)) throw new UiRefusal(403, 'forbidden', VIEWER_REFUSAL);
}

/**
 * The admin API as the web view reaches it: the same handlers, under `/ui/api/v1`, with the
 * session's token as the caller instead of a bearer token. Nothing here decides what a route does;
 * the page sees exactly what `kici-admin` sees.
 */
export class AdminRoutes {
  private readonly byRoute = new Map<string, ApiHandler>();

  constructor(private readonly table: RouteTable) {
    for (const [method, route, handler] of table) this.byRoute.set(`${method} ${route}`, handler);
  }

  /** Every admin route, behind the session (and its csrf value for changes). */
  mounted(gate: SessionGate): UiRoute[] {
    return this.table.map(([method, route, handler]): UiRoute => [
      method,
      `/ui/api/v1${route}`,
      async (req, res) => {
        const session = await gate.sessionOf(req);
        refuseViewer(session, method, route);
        return asUiReply(await answer(handler, req, res, session));
      },
    ]);
  }

  /**
   * A GET route's body, read for a live feed; an ApiFailure (400, 404) is thrown as the API would
   * answer it. `res` is the feed's: reading routes answer with a body and never write to it.
   */
  async read(route: string, req: UiRequest, res: ServerResponse, session: UiSession, params: Record<string, string> = {}, query = new URLSearchParams()): Promise<unknown> {
    const handler = this.byRoute.get(`GET ${route}`);
    if (!handler) throw new Error(`no admin route GET ${route}`);
    refuseViewer(session, 'GET', route);
    const reply = await handler({ caller: callerOf(session), params, query, headers: req.headers, raw: req.raw }, res);
    return reply?.body;
  }
}

async function answer(handler: ApiHandler, req: UiRequest, res: ServerResponse, session: UiSession) {
  try {
    return await handler({ caller: callerOf(session), params: req.params, query: req.query, headers: req.headers, raw: req.raw }, res);
  } catch (e) {
    if (e instanceof ApiFailure) throw new UiRefusal(e.status, e.code, e.message);
    throw e;
  }
}

/** API answers are never cached: they show live state and, for the session routes, secrets of the page. */
function asUiReply(reply: Awaited<ReturnType<ApiHandler>>): UiReply | undefined {
  if (!reply) return undefined;
  return reply.body === undefined ? { status: reply.status, headers: { 'cache-control': 'no-store' } } : jsonReply(reply.status, reply.body);
}

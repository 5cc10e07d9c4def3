/**
 * The web view's server side (issue 20): `openUiRoom(deps)` gives the `/ui` routes for the
 * composition root's router (the page's files, sign-in sessions kept in the store, the admin API
 * behind the session cookie under `/ui/api/v1`, Server-Sent Events feeds of runs, a run, its log
 * lines and agents, and log downloads) and `stop()`, which ends every open feed. The browser app
 * itself lives in `web/`; `packageAssetRoots()` finds its built and static files.
 */
export { openUiRoom, type UiDeps, type UiRoom } from './room.js';
export { packageAssetRoots } from './assets.js';
export { runPageLink } from './page-links.js';
export { CONTENT_SECURITY_POLICY, SECURITY_HEADERS } from './security-headers.js';
export { SESSION_COOKIE } from './session-cookie.js';
export { CSRF_HEADER } from './sessions.js';
export type { UiHandler, UiReply, UiRequest, UiRoute } from './http.js';

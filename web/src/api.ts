/**
 * Calls to the orchestrator, relative to the page (`<base>/ui/`), so no base path is templated in.
 * The session cookie rides along (same origin); every call that changes something carries the
 * session's CSRF value, which lives in this module's variable only: never in storage or a URL.
 */
import type { Session } from './views.js';

let csrf: string | null = null;
let onSignedOut: () => void = () => {};

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Called when any call answers 401: the session expired or its token was revoked. */
export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler;
}

/** A live feed found the session gone: the same as a call answering 401. */
export function sessionEnded(): void {
  csrf = null;
  onSignedOut();
}

export async function currentSession(): Promise<Session | null> {
  try {
    const session = await call<Session>('GET', 'api/session', undefined, { quietOn401: true });
    csrf = session.csrf;
    return session;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return null;
    throw e;
  }
}

export async function signIn(token: string): Promise<Session> {
  const session = await call<Session>('POST', 'api/session', { token }, { quietOn401: true });
  csrf = session.csrf;
  return session;
}

export async function signOut(): Promise<void> {
  try {
    await call('DELETE', 'api/session', undefined, { quietOn401: true });
  } finally {
    csrf = null;
  }
}

/** An admin API route: `v1('GET', 'runs?limit=20')` calls `api/v1/runs?limit=20`. */
export function v1<T>(method: 'GET' | 'POST' | 'DELETE', route: string, body?: unknown): Promise<T> {
  return call<T>(method, `api/v1/${route}`, body);
}

async function call<T>(method: string, path: string, body: unknown, opts: { quietOn401?: boolean } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrf) headers['x-csrf-token'] = csrf;
  let res: Response;
  try {
    res = await fetch(path, { method, headers, credentials: 'same-origin', cache: 'no-store', body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'unreachable', 'the orchestrator did not answer; is it running?');
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    // Not JSON (a proxy's error page): the status says enough.
  }
  if (!res.ok) {
    const error = (parsed as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    const code = typeof error?.code === 'string' ? error.code : `http_${res.status}`;
    const message = typeof error?.message === 'string' ? error.message : `${res.status} ${res.statusText || code}`;
    if (res.status === 401 && !opts.quietOn401) {
      csrf = null;
      onSignedOut();
    }
    throw new ApiError(res.status, code, message);
  }
  return parsed as T;
}

/** A query string from the set values only: `query({status: 'failed', branch: ''})` → `?status=failed`. */
export function query(params: Record<string, string | number | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** A path segment from an id the server gave: encoded, so an odd id stays one segment. */
export const seg = (id: string): string => encodeURIComponent(id);

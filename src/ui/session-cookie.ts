import type { IncomingMessage } from 'node:http';

export const SESSION_COOKIE = 'kici_session';

/** What a secret `open` hands out looks like (32 bytes in base64url); anything else is not looked up. */
const SECRET_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** The session secret the browser sent, if it looks like one. */
export function sessionSecretOf(req: IncomingMessage): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    const value = part.slice(eq + 1).trim();
    if (SECRET_SHAPE.test(value)) return value;
  }
  return undefined;
}

export interface CookieScope {
  /** `<base path>/ui`: the cookie goes to the web view and nowhere else on the host. */
  path: string;
  secure: boolean;
}

/**
 * HttpOnly so no script (ours included) can read it; SameSite=Strict so no other site's page makes
 * the browser send it; Secure whenever the browser reached us over https.
 */
export function sessionCookie(secret: string, maxAgeSeconds: number, scope: CookieScope): string {
  return [`${SESSION_COOKIE}=${secret}`, `Path=${scope.path}`, 'HttpOnly', 'SameSite=Strict', `Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}`, ...(scope.secure ? ['Secure'] : [])].join('; ');
}

export function clearedSessionCookie(scope: CookieScope): string {
  return sessionCookie('', 0, scope);
}

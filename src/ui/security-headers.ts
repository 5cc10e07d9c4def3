import type { ServerResponse } from 'node:http';

/**
 * Sent on every `/ui` answer, assets and API alike. The page is built so that this policy holds
 * with nothing relaxed: no inline script, no inline style, nothing from another origin (kici runs
 * on machines without internet, so there is no CDN to allow anyway).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

/**
 * Set on the response before the handler runs, so they ride on whatever it answers: a reply, a
 * stream it writes itself, or the server's own error answer when a handler throws.
 */
export function applySecurityHeaders(res: ServerResponse): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
}

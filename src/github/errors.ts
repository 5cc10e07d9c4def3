/**
 * What can go wrong talking to GitHub, sorted by what the caller should do about it. Every message
 * names the call (method and path), the status and GitHub's own message, and passes through
 * `redact` first: an installation token, an app JWT or a private key never reaches a message.
 */

/** `retryable`: try again later (5xx, rate limit, timeout, network); the delivery stays pending. */
export type GitHubErrorKind = 'retryable' | 'auth' | 'not_found' | 'refused';

export class GitHubError extends Error {
  constructor(
    message: string,
    readonly kind: GitHubErrorKind,
    readonly status?: number,
    /** When GitHub said how long to wait (rate limit reset or Retry-After), in ms from now. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'GitHubError';
  }

  get retryable(): boolean {
    return this.kind === 'retryable';
  }
}

const PATTERNS: RegExp[] = [
  // PEM blocks (private keys).
  /-----BEGIN [A-Z ]+-----[\s\S]*?-----END [A-Z ]+-----/g,
  // JWTs (three base64url parts, the first a JSON header).
  /eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g,
  // GitHub token prefixes (installation, user, OAuth, refresh, personal).
  /\bgh[soupr]_[A-Za-z0-9_]+/g,
  // Authorization header values.
  /\b(token|bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi,
];

/** `text` with every known secret and anything shaped like a token, a JWT or a key replaced. */
export function redact(text: string, secrets: Iterable<string> = []): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 8) out = out.split(secret).join('[REDACTED]');
  }
  for (const pattern of PATTERNS) out = out.replace(pattern, '[REDACTED]');
  return out;
}

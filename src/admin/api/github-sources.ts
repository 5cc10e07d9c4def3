/**
 * GitHub App sources in the admin API (issue 18, seed 002): one source per App, named on the API
 * and the CLI by its id too (`github:<appId>`). The App's private key and webhook secret are sealed
 * in the source's scope and never shown; a webhook-secret change keeps the replaced secret valid
 * for a grace period (default 1 h), sealed with its valid-until, so GitHub's deliveries signed with
 * it in the meantime are still taken.
 */
import { createPrivateKey } from 'node:crypto';
import { z } from 'zod';
import { sourceSecretScope } from '../../secrets/index.js';
import type { Source } from '../../store/index.js';
import type { AdminDeps } from './deps.js';
import { apiError } from './http.js';

/** One hour: long enough to change the secret in the App's settings after changing it here. */
export const DEFAULT_GRACE_SECONDS = 60 * 60;
/** A week at most: a replaced secret should not linger. */
export const MAX_GRACE_SECONDS = 7 * 24 * 60 * 60;

export const appId = z
  .union([z.string(), z.number().int()])
  .transform((v) => String(v).trim())
  .pipe(z.string().regex(/^[1-9][0-9]{0,18}$/, 'a GitHub App id: a positive whole number'));

/** PEM text of an RSA private key (GitHub issues PKCS#1; PKCS#8 works too). Large keys fit. */
export const privateKeyPem = z.string().min(1).max(16_384);

const ALIAS = /^github:([1-9][0-9]{0,18})$/;

/** `github:<appId>` names the live GitHub source of that App; anything else is a source id. */
export function githubAlias(id: string): string | null {
  return ALIAS.exec(id)?.[1] ?? null;
}

/** A live source by id or by `github:<appId>`. */
export async function findSource(deps: AdminDeps, id: string): Promise<Source | null> {
  const app = githubAlias(id);
  return app ? deps.store.sources.findGithubApp(app) : deps.store.sources.get(id);
}

/**
 * Refuses (400) anything that is not an RSA private key. The parser's message is not passed on:
 * it may quote the input. The field name is the API's.
 */
export function checkPrivateKey(pem: string, field = 'privateKey'): void {
  let type: string | undefined;
  try {
    const key = createPrivateKey({ key: pem, format: 'pem' });
    type = key.asymmetricKeyType;
  } catch {
    throw apiError(400, 'invalid_request', `${field}: not a PEM private key (the App's .pem file from GitHub)`);
  }
  if (type !== 'rsa') throw apiError(400, 'invalid_request', `${field}: a ${type ?? 'non-RSA'} key; GitHub App keys are RSA`);
}

const now = (deps: AdminDeps) => (deps.clock ? deps.clock.now() : Date.now());

/**
 * Seals a new webhook secret; the one it replaces (if any, and different) is kept sealed with its
 * valid-until for `graceSeconds` (0: refused at once). Written before the new one, so there is no
 * moment at which neither is accepted.
 */
export async function rotateWebhookSecret(deps: AdminDeps, s: Source, next: string, graceSeconds: number): Promise<void> {
  const scope = sourceSecretScope(s.id);
  const current = await deps.secrets.get(s.orgId, scope, 'webhookSecret');
  if (current !== null && current !== next) {
    const validUntil = now(deps) + graceSeconds * 1000;
    await deps.secrets.put(s.orgId, scope, 'previousWebhookSecret', JSON.stringify({ secret: current, validUntil }));
  }
  await deps.secrets.put(s.orgId, scope, 'webhookSecret', next);
}

/** What the view shows of a GitHub source's credentials: whether they are set, and the grace's end. */
export async function githubCredentials(deps: AdminDeps, s: Source): Promise<{ hasPrivateKey: boolean; previousSecretValidUntil?: string }> {
  const scope = sourceSecretScope(s.id);
  const hasPrivateKey = (await deps.secrets.get(s.orgId, scope, 'privateKey')) !== null;
  const previous = await deps.secrets.get(s.orgId, scope, 'previousWebhookSecret');
  let validUntil: number | undefined;
  try {
    const parsed = previous === null ? null : (JSON.parse(previous) as { validUntil?: unknown });
    if (parsed && typeof parsed.validUntil === 'number' && parsed.validUntil > now(deps)) validUntil = parsed.validUntil;
  } catch {
    validUntil = undefined;
  }
  return validUntil === undefined ? { hasPrivateKey } : { hasPrivateKey, previousSecretValidUntil: new Date(validUntil).toISOString() };
}

import { z } from 'zod';
import { sourceSecretScope } from '../../secrets/index.js';
import type { Source, SourceChanges } from '../../store/index.js';
import type { AdminDeps } from './deps.js';
import { apiError, parseBody, type RouteTable } from './http.js';
import { viewSource } from './sources.js';
import { checkPrivateKey, DEFAULT_GRACE_SECONDS, findSource, MAX_GRACE_SECONDS, privateKeyPem, rotateWebhookSecret } from './github-sources.js';

const name = z.string().min(1).max(100).regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, "_", "." and "-" only');
const secret = z.string().min(1).max(4096);
const header = z.string().min(1).max(100);

// `null` clears a generic setting back to its default; an absent field is left as it is.
const patch = z
  .object({
    name: name.optional(),
    secret: secret.optional(),
    verification: z.enum(['hmac_sha256', 'bearer_token', 'none']).optional(),
    signatureHeader: header.nullable().optional(),
    eventTypeHeader: header.nullable().optional(),
    eventTypePath: z.string().min(1).max(200).nullable().optional(),
    rateLimit: z.number().int().min(0).max(1_000_000).nullable().optional(),
    maxPayload: z.number().int().min(1).max(25 * 1024 * 1024).nullable().optional(),
    allowedEvents: z.array(z.string().min(1).max(200)).max(100).nullable().optional(),
    token: secret.optional(),
    defaultBranch: z.string().min(1).max(255).optional(),
    webhookSecret: secret.optional(),
    privateKey: privateKeyPem.optional(),
    /** How long the replaced webhook secret stays valid; only with `webhookSecret`. */
    graceSeconds: z.number().int().min(0).max(MAX_GRACE_SECONDS).optional(),
  })
  .strict();
type Patch = z.infer<typeof patch>;

const GENERIC_ONLY = ['verification', 'signatureHeader', 'eventTypeHeader', 'eventTypePath', 'rateLimit', 'maxPayload', 'allowedEvents'] as const;
const GIT_ONLY = ['token', 'defaultBranch'] as const;
const GITHUB_ONLY = ['webhookSecret', 'privateKey', 'graceSeconds'] as const;

/**
 * Changing sources after creation: PATCH, enable/disable, and removal (soft by default, so the
 * event log keeps naming it; `?hard=true` purges the row, its registrations and its secrets).
 * Every change takes effect at the next delivery, since intake reads the row each time.
 */
export function sourceChangeRoutes(deps: AdminDeps): RouteTable {
  const hasSecret = async (s: Source, key: string) => (await deps.secrets.get(s.orgId, sourceSecretScope(s.id), key)) !== null;
  const view = (s: Source) => viewSource(deps, s);
  const load = async (id: string) => {
    const s = await findSource(deps, id);
    if (!s) throw apiError(404, 'not_found', `no source ${id}`);
    return s;
  };
  const setEnabled = async (id: string, enabled: boolean) => {
    const s = await load(id);
    const updated = (await deps.store.sources.update(s.id, { enabled }, new Date())) ?? s;
    deps.sourcesChanged?.();
    return { status: 200, body: await view(updated) };
  };

  return [
    ['PATCH', '/sources/:id', async (req) => {
      const s = await load(req.params.id);
      const input = await parseBody(req, patch);
      refuseForeignFields(s, input);
      if (Object.keys(input).length === 0) throw apiError(400, 'invalid_request', 'body: nothing to change');
      const verification = input.verification ?? s.verification;
      if (s.kind === 'generic' && verification !== 'none' && !input.secret && !(await hasSecret(s, 'webhookSecret'))) {
        throw apiError(400, 'invalid_request', `secret: required for verification ${verification}`);
      }
      const updated = await applyPatch(deps, s, input);
      deps.sourcesChanged?.();
      return { status: 200, body: await view(updated) };
    }],
    ['POST', '/sources/:id/enable', async (req) => setEnabled(req.params.id, true)],
    ['POST', '/sources/:id/disable', async (req) => setEnabled(req.params.id, false)],
    ['DELETE', '/sources/:id', async (req) => {
      const expectKind = req.query.get('kind');
      const hard = req.query.get('hard') === 'true';
      const live = await findSource(deps, req.params.id);
      // `github:<appId>` names the live source only; a soft-deleted one is purged by its id.
      const id = live?.id ?? req.params.id;
      if (live && expectKind && live.kind !== expectKind) {
        throw apiError(409, 'kind_mismatch', `source ${id} is a ${live.kind} source, not ${expectKind}`);
      }
      if (hard) {
        const purged = await deps.store.sources.purge(id, sourceSecretScope(id));
        if (!purged) throw apiError(404, 'not_found', `no source ${id}`);
        deps.sourcesChanged?.();
        return { status: 200, body: removal(purged, 'hard') };
      }
      if (!live || !(await deps.store.sources.delete(id, new Date()))) throw apiError(404, 'not_found', `no source ${id}`);
      deps.sourcesChanged?.();
      return { status: 200, body: removal(live, 'soft') };
    }],
  ];
}

function removal(s: Source, mode: 'soft' | 'hard') {
  return { id: s.id, orgId: s.orgId, kind: s.kind, name: s.name, removed: mode };
}

function refuseForeignFields(s: Source, input: Patch): void {
  // A GitHub source's webhook secret is `webhookSecret` (the seed's flag), not the others' `secret`.
  const foreign = s.kind === 'generic' ? [...GIT_ONLY, ...GITHUB_ONLY] : s.kind === 'git' ? [...GENERIC_ONLY, ...GITHUB_ONLY] : [...GENERIC_ONLY, ...GIT_ONLY, 'secret' as const];
  const given = foreign.find((f) => input[f] !== undefined);
  if (given) throw apiError(400, 'invalid_request', `${given}: not a setting of ${s.kind} sources`);
  if (input.graceSeconds !== undefined && input.webhookSecret === undefined) throw apiError(400, 'invalid_request', 'graceSeconds: only with webhookSecret (the grace is the replaced secret\'s)');
  if (input.privateKey !== undefined) checkPrivateKey(input.privateKey);
}

async function applyPatch(deps: AdminDeps, s: Source, input: Patch): Promise<Source> {
  const changes: SourceChanges = {};
  if (input.name !== undefined) changes.name = input.name;
  if (input.verification !== undefined) changes.verification = input.verification;
  if (input.defaultBranch !== undefined) changes.defaultBranch = input.defaultBranch;
  const config = mergeConfig(s.config, input);
  if (config) changes.config = config;
  let updated: Source | null;
  try {
    updated = await deps.store.sources.update(s.id, changes, new Date());
  } catch (e) {
    if ((e as { code?: string }).code === '23505') throw apiError(409, 'conflict', `a source named ${input.name} already exists in ${s.orgId}`);
    throw e;
  }
  if (!updated) throw apiError(404, 'not_found', `no source ${s.id}`);
  const scope = sourceSecretScope(s.id);
  if (input.secret) await deps.secrets.put(s.orgId, scope, 'webhookSecret', input.secret);
  if (input.token) await deps.secrets.put(s.orgId, scope, 'token', input.token);
  if (input.privateKey) await deps.secrets.put(s.orgId, scope, 'privateKey', input.privateKey);
  if (input.webhookSecret) await rotateWebhookSecret(deps, s, input.webhookSecret, input.graceSeconds ?? DEFAULT_GRACE_SECONDS);
  return updated;
}

/** The generic settings live in the row's config; `null` removes a key so its default applies again. */
function mergeConfig(current: Record<string, unknown>, input: Patch): Record<string, unknown> | null {
  const keys = ['signatureHeader', 'eventTypeHeader', 'eventTypePath', 'rateLimit', 'maxPayload', 'allowedEvents'] as const;
  if (!keys.some((k) => input[k] !== undefined)) return null;
  const next: Record<string, unknown> = { ...current };
  for (const k of keys) {
    if (input[k] === null) delete next[k];
    else if (input[k] !== undefined) next[k] = input[k];
  }
  return next;
}

import { z } from 'zod';
import { sourceSecretScope, tokensEqual } from '../../secrets/index.js';
import type { Source } from '../../store/index.js';
import type { AdminDeps } from './deps.js';
import { appId, checkPrivateKey, findSource, githubCredentials, privateKeyPem } from './github-sources.js';
import { apiError, parseBody, type RouteTable } from './http.js';

const name = z.string().min(1).max(100).regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, "_", "." and "-" only');
const org = z.string().min(1).max(100).regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, "_", "." and "-" only');
const secret = z.string().min(1).max(4096);

const gitSource = z.object({
  kind: z.literal('git'),
  orgId: org,
  name,
  url: z.string().regex(/^(https?|file):\/\//, 'must be an http(s):// or file:// URL'),
  defaultBranch: z.string().min(1).max(255).default('main'),
  secret: secret.describe('hook signing secret'),
  token: secret.optional(),
});

const genericSource = z.object({
  kind: z.literal('generic'),
  orgId: org,
  name,
  verification: z.enum(['hmac_sha256', 'bearer_token', 'none']).default('hmac_sha256'),
  secret: secret.optional(),
  signatureHeader: z.string().min(1).max(100).optional(),
  eventTypeHeader: z.string().min(1).max(100).optional(),
  eventTypePath: z.string().min(1).max(200).optional(),
  rateLimit: z.number().int().min(0).max(1_000_000).optional(),
  maxPayload: z.number().int().min(1).max(25 * 1024 * 1024).optional(),
  allowedEvents: z.array(z.string().min(1).max(200)).max(100).optional(),
});

// Seed 002: `source add github --name N --app-id ID --private-key @key.pem --webhook-secret S`; the
// organisation defaults to the name (a GitHub source is named after its organisation).
const githubSource = z.object({
  kind: z.literal('github'),
  orgId: org.optional(),
  name,
  appId,
  privateKey: privateKeyPem,
  webhookSecret: secret,
});

const newSource = z.discriminatedUnion('kind', [gitSource, genericSource, githubSource]).superRefine((s, ctx) => {
  if (s.kind === 'generic' && s.verification !== 'none' && !s.secret) {
    ctx.addIssue({ code: 'custom', path: ['secret'], message: `required for verification ${s.verification}` });
  }
});

/** A source as the API shows it: every setting, and whether secrets are set, never their values. */
export function sourceView(s: Source, secrets: { hasSecret: boolean; hasToken?: boolean; hasPrivateKey?: boolean; previousSecretValidUntil?: string }) {
  const c = s.config as Record<string, unknown>;
  return {
    id: s.id,
    orgId: s.orgId,
    kind: s.kind,
    name: s.name,
    enabled: s.enabled,
    url: s.url ?? undefined,
    defaultBranch: s.defaultBranch ?? undefined,
    verification: s.verification,
    signatureHeader: c.signatureHeader,
    eventTypeHeader: c.eventTypeHeader,
    eventTypePath: c.eventTypePath,
    rateLimit: c.rateLimit,
    maxPayload: c.maxPayload,
    allowedEvents: c.allowedEvents,
    appId: s.appId ?? undefined,
    hasSecret: secrets.hasSecret,
    hasToken: secrets.hasToken,
    hasPrivateKey: secrets.hasPrivateKey,
    previousSecretValidUntil: secrets.previousSecretValidUntil,
    // GitHub deliveries name their App in a header: one route per organisation.
    webhookPath: s.kind === 'github' ? `/webhook/${s.orgId}/github` : `/webhook/${s.orgId}/${s.kind}/${s.id}`,
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
  };
}

/** A source's view with what is known of its secrets (read to say whether they are set, never shown). */
export async function viewSource(deps: AdminDeps, s: Source) {
  return sourceView(s, {
    hasSecret: (await deps.secrets.get(s.orgId, sourceSecretScope(s.id), 'webhookSecret')) !== null,
    hasToken: s.kind === 'git' ? (await deps.secrets.get(s.orgId, sourceSecretScope(s.id), 'token')) !== null : undefined,
    ...(s.kind === 'github' ? await githubCredentials(deps, s) : {}),
  });
}

export function sourceRoutes(deps: AdminDeps): RouteTable {
  const view = (s: Source) => viewSource(deps, s);
  const load = async (id: string) => {
    const s = await findSource(deps, id);
    if (!s) throw apiError(404, 'not_found', `no source ${id}`);
    return s;
  };

  return [
    ['GET', '/sources', async (req) => {
      const orgId = req.query.get('org') ?? undefined;
      const sources = await deps.store.sources.list({ orgId });
      return { status: 200, body: { sources: await Promise.all(sources.map(view)) } };
    }],
    ['POST', '/sources', async (req) => {
      const input = await parseBody(req, newSource);
      if (input.kind === 'github') return addGithub(deps, input);
      const config =
        input.kind === 'generic'
          ? dropUndefined({
              signatureHeader: input.signatureHeader,
              eventTypeHeader: input.eventTypeHeader,
              eventTypePath: input.eventTypePath,
              rateLimit: input.rateLimit,
              maxPayload: input.maxPayload,
              allowedEvents: input.allowedEvents,
            })
          : {};
      let created: Source;
      try {
        created = await deps.store.sources.create({
          orgId: input.orgId,
          kind: input.kind,
          name: input.name,
          url: input.kind === 'git' ? input.url : null,
          defaultBranch: input.kind === 'git' ? input.defaultBranch : null,
          verification: input.kind === 'git' ? 'hmac_sha256' : input.verification,
          config,
        });
      } catch (e) {
        if ((e as { code?: string }).code === '23505') throw apiError(409, 'conflict', `a source named ${input.name} already exists in ${input.orgId}`);
        throw e;
      }
      const scope = sourceSecretScope(created.id);
      if (input.secret) await deps.secrets.put(created.orgId, scope, 'webhookSecret', input.secret);
      if (input.kind === 'git' && input.token) await deps.secrets.put(created.orgId, scope, 'token', input.token);
      deps.sourcesChanged?.();
      return { status: 201, body: await view(created) };
    }],
    ['GET', '/sources/:id', async (req) => ({ status: 200, body: await view(await load(req.params.id)) })],
    ['POST', '/sources/:id/verify-secret', async (req) => {
      const s = await load(req.params.id);
      const { secret: given } = await parseBody(req, z.object({ secret }));
      const stored = await deps.secrets.get(s.orgId, sourceSecretScope(s.id), 'webhookSecret');
      return { status: 200, body: { match: stored !== null && tokensEqual(stored, given) } };
    }],
  ];
}

async function addGithub(deps: AdminDeps, input: z.infer<typeof githubSource>) {
  checkPrivateKey(input.privateKey);
  const orgId = input.orgId ?? input.name;
  const taken = await deps.store.sources.findGithubApp(input.appId);
  if (taken) throw apiError(409, 'conflict', `GitHub App ${input.appId} is already source ${taken.id} (${taken.orgId}/${taken.name})`);
  let created: Source;
  try {
    created = await deps.store.sources.create({ orgId, kind: 'github', name: input.name, verification: 'hmac_sha256', appId: input.appId, config: {} });
  } catch (e) {
    // The name in the organisation, or the App (added concurrently) — the unique index says which.
    if ((e as { code?: string }).code === '23505') throw apiError(409, 'conflict', `a source named ${input.name} already exists in ${orgId}, or GitHub App ${input.appId} is already a source`);
    throw e;
  }
  const scope = sourceSecretScope(created.id);
  await deps.secrets.put(orgId, scope, 'privateKey', input.privateKey);
  await deps.secrets.put(orgId, scope, 'webhookSecret', input.webhookSecret);
  deps.sourcesChanged?.();
  return { status: 201, body: await viewSource(deps, created) };
}

function dropUndefined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

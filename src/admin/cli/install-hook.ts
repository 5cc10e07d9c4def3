import { installHook, postReceiveHookScript } from '../../webhooks/index.js';
import type { AdminApi } from './api-client.js';
import { UsageError } from './secret-input.js';

interface SourceFacts {
  id: string;
  orgId: string;
  kind: string;
}

/**
 * Writes a post-receive hook that signs each push with the source's secret. The API never hands
 * a secret out, so the operator passes the same secret they gave `source add`; the orchestrator
 * only confirms that it matches, so a typo fails here instead of at the first push.
 */
export async function installSourceHook(api: AdminApi, sourceId: string, repoPath: string, secret: string | undefined) {
  const source = await api.call<SourceFacts>('GET', `/sources/${encodeURIComponent(sourceId)}`);
  if (source.kind !== 'git') throw new UsageError(`source ${sourceId} is a ${source.kind} source; hooks are for git sources`);
  if (!secret) throw new UsageError("pass the source's signing secret with --secret, --from-env or --stdin");
  const check = await api.call<{ match: boolean }>('POST', `/sources/${encodeURIComponent(sourceId)}/verify-secret`, { secret });
  if (!check.match) throw new UsageError(`that secret is not the one source ${sourceId} was created with`);
  const script = postReceiveHookScript({ url: api.baseUrl, orgId: source.orgId, sourceId: source.id, secret });
  const hookPath = await installHook(repoPath, script);
  return { sourceId: source.id, hookPath };
}

import { DeliveryRetryLater, type GithubRepos, type SourceCatalog } from '../../deliveries/index.js';
import { GitHubAppPool, GitHubError, splitRepo, type GitHubApp } from '../../github/index.js';
import type { Source } from '../../store/index.js';
import type { CiEvent } from '../../workflows/index.js';

/** What the rest of the node asks of GitHub: its repositories for deliveries, clone tokens for agents. */
export interface GithubWiring {
  repos: GithubRepos;
  /** An installation token for cloning a GitHub run's repository over https; undefined for other runs. */
  cloneAuth(run: { sourceId?: string | null; event?: unknown; repoUrl?: string | null }): Promise<{ username: string; password: string } | undefined>;
  /** The App of a GitHub source, its private key opened from the source's sealed secrets. */
  appOf(source: Source): Promise<GitHubApp>;
}

/**
 * GitHub sources through the GitHub API: one client per App (its installation tokens and lock
 * files cached), the App's private key opened from the source's sealed secrets at each use (the
 * catalog caches it and drops it when the source changes). A failure worth retrying (5xx, a rate
 * limit, a timeout) keeps the delivery for later, its reason in the event log.
 */
export function wireGithub(catalog: SourceCatalog, apiUrl: string): GithubWiring {
  const apps = new GitHubAppPool({ baseUrl: apiUrl });
  const appOf = async (source: Source): Promise<GitHubApp> => {
    const privateKey = await catalog.secret(source, 'privateKey');
    if (!source.appId || !privateKey) throw new Error(`GitHub source ${source.name} has no App id or private key`);
    return apps.get({ appId: source.appId, privateKey });
  };
  const repos: GithubRepos = {
    readAt: (source, r) => retryable(async () => (await appOf(source)).lockfile(...parts(r.repo), r.sha, { installationId: r.installationId })),
    commitAt: (source, r) => retryable(async () => (await appOf(source)).commitAt(...parts(r.repo), r.ref, { installationId: r.installationId })),
    permission: (source, r) => retryable(async () => (await appOf(source)).permission(...parts(r.repo), r.user, { installationId: r.installationId })),
    cloneUrl: (source, r) => retryable(async () => (await (await appOf(source)).repository(...parts(r.repo), { installationId: r.installationId })).cloneUrl),
    pullRequestFiles: (source, r) => retryable(async () => (await appOf(source)).changedFiles(...parts(r.repo), r.number, { installationId: r.installationId })),
  };
  return {
    repos,
    appOf,
    async cloneAuth(run) {
      const source = run.sourceId ? await catalog.source(run.sourceId) : null;
      if (source?.kind !== 'github') return undefined;
      const event = (run.event ?? {}) as CiEvent;
      const repo = event.repo ?? repoOfUrl(run.repoUrl);
      if (!repo) throw new Error(`GitHub run of source ${source.name} names no repository to clone`);
      // The token only goes to the host of the API it was minted by (github.com for api.github.com).
      if (!run.repoUrl || !sameGithubHost(apiUrl, run.repoUrl)) return undefined;
      const { username, password } = await (await appOf(source)).cloneCredentials(...parts(repo), { installationId: event.installationId });
      return { username, password };
    },
  };
}

/** Is `cloneUrl` on the GitHub whose API is `apiUrl` (api.github.com → github.com; GHE and loopback: the same host)? */
export function sameGithubHost(apiUrl: string, cloneUrl: string): boolean {
  try {
    const api = new URL(apiUrl).hostname.toLowerCase();
    const clone = new URL(cloneUrl).hostname.toLowerCase();
    return clone === api || (api === 'api.github.com' && clone === 'github.com');
  } catch {
    return false;
  }
}

function parts(fullName: string): [string, string] {
  const { owner, repo } = splitRepo(fullName);
  return [owner, repo];
}

/** `owner/name` of `https://github.com/owner/name.git`. */
function repoOfUrl(url: string | null | undefined): string | undefined {
  const match = url ? /^https:\/\/[^/]+\/([^/]+\/[^/]+?)(?:\.git)?\/?$/.exec(url) : null;
  return match?.[1];
}

async function retryable<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof GitHubError && error.retryable) throw new DeliveryRetryLater(error.message);
    throw error;
  }
}

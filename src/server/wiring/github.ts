import { DeliveryRetryLater, type GithubLockfiles, type SourceCatalog } from '../../deliveries/index.js';
import { GitHubAppPool, GitHubError, splitRepo } from '../../github/index.js';

/**
 * GitHub sources' lock files through the GitHub API: one client per App (its installation tokens
 * cached), the App's private key opened from the source's sealed secrets at each read (the catalog
 * caches it and drops it when the source changes). A failure worth retrying (5xx, a rate limit, a
 * timeout) keeps the delivery for later, its reason in the event log.
 */
export function githubLockfiles(catalog: SourceCatalog, apiUrl: string): GithubLockfiles {
  const apps = new GitHubAppPool({ baseUrl: apiUrl });
  return {
    async readAt(source, request) {
      const privateKey = await catalog.secret(source, 'privateKey');
      if (!source.appId || !privateKey) throw new Error(`GitHub source ${source.name} has no App id or private key`);
      const { owner, repo } = splitRepo(request.repo);
      try {
        return await apps.get({ appId: source.appId, privateKey }).lockfile(owner, repo, request.sha, { installationId: request.installationId });
      } catch (error) {
        if (error instanceof GitHubError && error.retryable) throw new DeliveryRetryLater(error.message);
        throw error;
      }
    },
  };
}

import { createHash } from 'node:crypto';
import { GitHubApp, type GitHubAppOptions } from './client.js';

export interface AppCredentials {
  appId: number | string;
  privateKey: string;
  baseUrl?: string;
}

/**
 * One GitHubApp per configured app, kept while its id, key and API URL stay the same (so its token
 * and lock-file caches live across deliveries), replaced when the key is rotated. Keyed by a hash of
 * the key, never the key.
 */
export class GitHubAppPool {
  private readonly apps = new Map<string, { fingerprint: string; app: GitHubApp }>();

  constructor(private readonly defaults: Omit<GitHubAppOptions, 'appId' | 'privateKey'> = {}) {}

  get(credentials: AppCredentials): GitHubApp {
    const id = String(credentials.appId);
    const baseUrl = credentials.baseUrl ?? this.defaults.baseUrl;
    const fingerprint = createHash('sha256').update(credentials.privateKey).update('\0').update(baseUrl ?? '').digest('hex');
    const kept = this.apps.get(id);
    if (kept && kept.fingerprint === fingerprint) return kept.app;
    const app = new GitHubApp({ ...this.defaults, appId: credentials.appId, privateKey: credentials.privateKey, baseUrl });
    this.apps.set(id, { fingerprint, app });
    return app;
  }

  /** Drop an app (its source was removed). */
  forget(appId: number | string): void {
    this.apps.delete(String(appId));
  }

  /** Lock-file cache hits and misses over every app. */
  lockfileStats(): { hits: number; misses: number } {
    let hits = 0;
    let misses = 0;
    for (const { app } of this.apps.values()) {
      const stats = app.lockfileStats();
      hits += stats.hits;
      misses += stats.misses;
    }
    return { hits, misses };
  }
}

/** `owner/name` (a payload's `repository.full_name`) as its two parts. */
export function splitRepo(fullName: string): { owner: string; repo: string } {
  const match = /^([^/\s]+)\/([^/\s]+)$/.exec(fullName);
  if (!match) throw new Error(`not an owner/name repository: ${JSON.stringify(fullName.slice(0, 200))}`);
  return { owner: match[1]!, repo: match[2]! };
}

import type { Clock } from '../clock/index.js';
import type { SecretStore } from '../secrets/index.js';
import { sourceSecretScope } from '../secrets/index.js';
import type { Source, SourceRepository } from '../store/index.js';

/**
 * Long enough to take sources off the hot path. Changes are pushed (`sources_change`), so this is
 * only the backstop for a notification that never came.
 */
const TTL_MS = 10_000;

const SECRET_NAMES = ['webhookSecret', 'token', 'previousWebhookSecret', 'privateKey'] as const;
export type SourceSecretName = (typeof SECRET_NAMES)[number];

/** A GitHub source's webhook secret kept through a rotation's grace (sealed as JSON `{secret, validUntil}`). */
export interface PreviousSecret {
  secret: string;
  /** Milliseconds since the epoch; the secret is refused from then on. */
  validUntil: number;
}

/** Reads the sealed `previousWebhookSecret` value; null when absent or not of the expected shape. */
export function parsePreviousSecret(value: string | null): PreviousSecret | null {
  if (value === null) return null;
  try {
    const parsed = JSON.parse(value) as { secret?: unknown; validUntil?: unknown };
    if (typeof parsed.secret !== 'string' || parsed.secret === '' || typeof parsed.validUntil !== 'number') return null;
    return { secret: parsed.secret, validUntil: parsed.validUntil };
  } catch {
    return null;
  }
}

/**
 * Sources and their secrets as the webhook and dispatch paths read them: from memory for a few
 * seconds, so a busy source costs no database round trips per delivery. A change on any node
 * reaches `invalidate` through `sources_change` (server/wiring/source-changes.ts) and this node's
 * admin API clears it at once as well; the TTL bounds a missed notification.
 */
export class SourceCatalog {
  private readonly sources = new Map<string, { at: number; source: Source | null }>();
  private readonly secrets = new Map<string, { at: number; value: string | null }>();
  /**
   * Bumped by every invalidation: a read that started before one is not cached when it ends (it
   * may have read the row as it was before the change the invalidation announced).
   */
  private generation = 0;

  constructor(
    private readonly repository: SourceRepository,
    private readonly vault: SecretStore,
    private readonly clock: Clock,
  ) {}

  async source(id: string): Promise<Source | null> {
    const hit = this.sources.get(id);
    if (hit && this.clock.now() - hit.at < TTL_MS) return hit.source;
    const generation = this.generation;
    const source = await this.repository.get(id);
    if (generation === this.generation) this.sources.set(id, { at: this.clock.now(), source });
    return source;
  }

  /**
   * The live GitHub source of an App (by the `X-GitHub-Hook-Installation-Target-ID` of a delivery),
   * cached like the rest under `github:<appId>`; every invalidation forgets these entries.
   */
  async githubApp(header: string): Promise<Source | null> {
    const appId = header.trim();
    if (!/^[1-9][0-9]{0,18}$/.test(appId)) return null;
    const key = `github:${appId}`;
    const hit = this.sources.get(key);
    if (hit && this.clock.now() - hit.at < TTL_MS) return hit.source;
    const generation = this.generation;
    const source = await this.repository.findGithubApp(appId);
    if (generation === this.generation) this.sources.set(key, { at: this.clock.now(), source });
    return source;
  }

  /** The webhook secret a GitHub source rotated away from, while it may still be within its grace. */
  async previousWebhookSecret(source: Pick<Source, 'id' | 'orgId'>): Promise<PreviousSecret | null> {
    return parsePreviousSecret(await this.secret(source, 'previousWebhookSecret'));
  }

  /** A sealed credential of a source: `webhookSecret`, `token`, `previousWebhookSecret` or `privateKey`. */
  async secret(source: Pick<Source, 'id' | 'orgId'>, name: SourceSecretName): Promise<string | null> {
    const key = secretKey(source.id, name);
    const hit = this.secrets.get(key);
    if (hit && this.clock.now() - hit.at < TTL_MS) return hit.value;
    const generation = this.generation;
    const value = await this.vault.get(source.orgId, sourceSecretScope(source.id), name);
    if (generation === this.generation) this.secrets.set(key, { at: this.clock.now(), value });
    return value;
  }

  /** A source's clone token by its id (none for a removed source, or one without a token). */
  async cloneToken(sourceId: string | null | undefined): Promise<string | null> {
    const source = sourceId ? await this.source(sourceId) : null;
    return source ? this.secret(source, 'token') : null;
  }

  /**
   * The credentials an agent clones a source with. A token is offered as the password of the
   * `x-access-token` user: the form GitHub, Gitea and GitLab all accept for token auth over
   * http(s); a source with no token clones anonymously (file:// and public repositories).
   */
  async cloneAuth(sourceId: string | null | undefined): Promise<{ username: string; password: string } | undefined> {
    const token = await this.cloneToken(sourceId);
    return token ? { username: 'x-access-token', password: token } : undefined;
  }

  /** Forget one source and its secrets, or everything when no id is given. */
  invalidate(sourceId?: string): void {
    this.generation += 1;
    if (sourceId === undefined) {
      this.sources.clear();
      this.secrets.clear();
      return;
    }
    this.sources.delete(sourceId);
    // An App's entry is keyed by its id, which the notification does not carry: drop them all.
    for (const key of [...this.sources.keys()]) if (key.startsWith('github:')) this.sources.delete(key);
    for (const name of SECRET_NAMES) this.secrets.delete(secretKey(sourceId, name));
  }
}

function secretKey(sourceId: string, name: SourceSecretName): string {
  return `${sourceId}\u0000${name}`;
}

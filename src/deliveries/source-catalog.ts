import type { Clock } from '../clock/index.js';
import type { SecretStore } from '../secrets/index.js';
import { sourceSecretScope } from '../secrets/index.js';
import type { Source, SourceRepository } from '../store/index.js';

/** Long enough to take sources off the hot path, short enough that another node's edit shows soon. */
const TTL_MS = 10_000;

/**
 * Sources and their secrets as the webhook and dispatch paths read them: from memory for a few
 * seconds, so a busy source costs no database round trips per delivery. Every change made through
 * this node's admin API clears it at once; the TTL bounds how long another node's change takes.
 */
export class SourceCatalog {
  private readonly sources = new Map<string, { at: number; source: Source | null }>();
  private readonly secrets = new Map<string, { at: number; value: string | null }>();

  constructor(
    private readonly repository: SourceRepository,
    private readonly vault: SecretStore,
    private readonly clock: Clock,
  ) {}

  async source(id: string): Promise<Source | null> {
    const hit = this.sources.get(id);
    if (hit && this.clock.now() - hit.at < TTL_MS) return hit.source;
    const source = await this.repository.get(id);
    this.sources.set(id, { at: this.clock.now(), source });
    return source;
  }

  /** `webhookSecret` or `token` of a source. */
  async secret(source: Pick<Source, 'id' | 'orgId'>, name: 'webhookSecret' | 'token'): Promise<string | null> {
    const key = `${source.id}\u0000${name}`;
    const hit = this.secrets.get(key);
    if (hit && this.clock.now() - hit.at < TTL_MS) return hit.value;
    const value = await this.vault.get(source.orgId, sourceSecretScope(source.id), name);
    this.secrets.set(key, { at: this.clock.now(), value });
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

  invalidate(): void {
    this.sources.clear();
    this.secrets.clear();
  }
}

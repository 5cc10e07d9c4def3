import type { Clock } from '../clock/index.js';

export interface InstallationToken {
  token: string;
  /** Epoch ms, from GitHub's `expires_at`. */
  expiresAt: number;
}

export type MintToken = (installationId: number) => Promise<InstallationToken>;

export interface TokenCacheOptions {
  clock: Clock;
  /** A token is replaced this long before it expires (5 min by default). */
  refreshBeforeMs?: number;
}

export const DEFAULT_REFRESH_BEFORE_MS = 5 * 60_000;

/**
 * Installation tokens by installation id, each kept until `refreshBeforeMs` before its
 * `expires_at` by the injected clock, with one mint in flight per installation: callers that ask
 * while a token is being minted share that mint (and its failure; nothing failed is kept).
 */
export class InstallationTokenCache {
  private readonly tokens = new Map<number, InstallationToken>();
  private readonly pending = new Map<number, Promise<InstallationToken>>();
  private readonly clock: Clock;
  private readonly refreshBeforeMs: number;
  private mints = 0;

  constructor(
    private readonly mint: MintToken,
    options: TokenCacheOptions,
  ) {
    this.clock = options.clock;
    this.refreshBeforeMs = options.refreshBeforeMs ?? DEFAULT_REFRESH_BEFORE_MS;
  }

  async get(installationId: number): Promise<InstallationToken> {
    const cached = this.tokens.get(installationId);
    if (cached && this.clock.now() < cached.expiresAt - this.refreshBeforeMs) return cached;
    const inFlight = this.pending.get(installationId);
    if (inFlight) return inFlight;
    const minting = (async () => {
      this.mints++;
      const fresh = await this.mint(installationId);
      this.tokens.set(installationId, fresh);
      return fresh;
    })().finally(() => this.pending.delete(installationId));
    this.pending.set(installationId, minting);
    return minting;
  }

  /** Forget a token GitHub refused (revoked, or the installation is gone). */
  invalidate(installationId: number, token?: string): void {
    const cached = this.tokens.get(installationId);
    if (cached && (token === undefined || cached.token === token)) this.tokens.delete(installationId);
  }

  /** Tokens minted so far (for tests and metrics). */
  mintCount(): number {
    return this.mints;
  }
}

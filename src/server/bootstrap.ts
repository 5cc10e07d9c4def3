import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ADMIN_TOKEN_FILE } from '../admin/index.js';
import { displayPrefix, hashToken, issueAdminToken, looksLikeAdminToken } from '../secrets/index.js';
import { AdminTokenNameTakenError, type AdminTokenRepository, SYSTEM_ACTOR } from '../store/index.js';
import type { Logger } from './logger.js';

/** The name of the token KICI_BOOTSTRAP_ADMIN_TOKEN registers (KiCI's label for it). */
export const CONFIGURED_TOKEN_NAME = 'bootstrap';
/** The name of the token a first start issues into the data directory. */
export const FIRST_START_TOKEN_NAME = 'admin';

export type AdminTokenBootstrap = (
  | { kind: 'configured' }
  | { kind: 'created'; token: string; file: string }
  | { kind: 'existing'; file?: string }
) & {
  /** Something the operator must hear of (a warning in the log), never holding a token. */
  notice?: string;
};

/**
 * Make sure an admin token exists; each one made here is audited with the actor `system`.
 * KICI_BOOTSTRAP_ADMIN_TOKEN is registered (by hash) as `bootstrap`, replacing the live token of
 * that name (the variable's previous value). A configured token that was revoked stays revoked: a
 * revoke must not be undone by a restart. Otherwise, while no token is live (a first start, or
 * every token revoked), one is issued as `admin`, kept in the data directory (0600) for kici-admin
 * on this machine, and returned so the caller can show it once on the terminal, never in a log.
 */
export async function ensureAdminToken(tokens: AdminTokenRepository, dataDir: string, configured?: string): Promise<AdminTokenBootstrap> {
  let notice: string | undefined;
  if (configured) {
    const registered = await registerConfigured(tokens, configured);
    if (registered.live) return { kind: 'configured', notice: registered.notice };
    notice = registered.notice;
  }
  const file = path.join(dataDir, ADMIN_TOKEN_FILE);
  const existing = (await tokens.list()).filter((t) => !t.revokedAt);
  if (existing.length > 0) return { kind: 'existing', file: existsSync(file) ? file : undefined, notice };
  const issued = issueAdminToken();
  try {
    await tokens.create({ name: FIRST_START_TOKEN_NAME, tokenHash: issued.hash, prefix: issued.prefix }, SYSTEM_ACTOR, new Date(), { details: { source: 'first start' } });
  } catch (e) {
    // Another node sharing the database made it a moment ago: one token is enough.
    if (e instanceof AdminTokenNameTakenError) return { kind: 'existing', file: existsSync(file) ? file : undefined, notice };
    throw e;
  }
  writeFileSync(file, `${issued.token}\n`, { mode: 0o600 });
  return { kind: 'created', token: issued.token, file, notice };
}

/** Register the configured token unless it is known; `live: false` when it was revoked. */
async function registerConfigured(tokens: AdminTokenRepository, configured: string): Promise<{ live: boolean; notice?: string }> {
  const hash = hashToken(configured);
  const known = await tokens.findByHash(hash);
  if (known?.revokedAt) {
    const notice = `KICI_BOOTSTRAP_ADMIN_TOKEN is admin token ${known.id} (${known.name}), which was revoked: it is not registered again; unset the variable or give it a new value`;
    return { live: false, notice };
  }
  if (known) return { live: true };
  // Only for the notice: the create below revokes it in its own transaction.
  const previous = (await tokens.list()).find((t) => !t.revokedAt && t.name === CONFIGURED_TOKEN_NAME);
  try {
    await tokens.create({ name: CONFIGURED_TOKEN_NAME, tokenHash: hash, prefix: configuredPrefix(configured) }, SYSTEM_ACTOR, new Date(), {
      details: { source: 'KICI_BOOTSTRAP_ADMIN_TOKEN' },
      replacing: { why: 'KICI_BOOTSTRAP_ADMIN_TOKEN changed' },
    });
  } catch (e) {
    // Another node registered the same value a moment ago (the hash is unique).
    if (await tokens.findActive(hash)) return { live: true };
    throw e;
  }
  if (!previous) return { live: true };
  return { live: true, notice: `KICI_BOOTSTRAP_ADMIN_TOKEN changed: its previous value, admin token ${previous.id}, is revoked` };
}

/**
 * What lists show of a configured token. A chosen value may be as short as 16 characters, so the
 * usual 12-character prefix would show most of it; only a `kadm_…` value (64 hex digits after the
 * kind) gets it, any other shows 4.
 */
function configuredPrefix(value: string): string {
  return looksLikeAdminToken(value) ? displayPrefix(value) : value.slice(0, 4);
}

/** Where the one-time banner may go: shown only when `isTTY` (a person is there to read it). */
export interface Terminal {
  isTTY?: boolean;
  write(text: string): unknown;
}

/**
 * The first-start token is written to the terminal directly, never through the logger, and only
 * when stdout is a terminal: stderr is the JSON log stream, and a token there would end up in a
 * log collector. Without a terminal only the file's path is logged (a path is no secret).
 */
export function announceAdminToken(boot: AdminTokenBootstrap, terminal: Terminal, log: Pick<Logger, 'info'>): void {
  if (boot.kind === 'created') {
    if (!terminal.isTTY) return void log.info({ file: boot.file }, 'admin token created; it is shown only on a terminal, read it from this file');
    terminal.write(
      `\n  kici admin token (shown once; kept in ${boot.file}, mode 0600):\n\n    ${boot.token}\n\n` +
        '  kici-admin on this machine finds it by itself.\n\n',
    );
  } else if (boot.kind === 'existing' && boot.file) {
    if (!terminal.isTTY) return void log.info({ file: boot.file }, 'the admin token is in this file');
    terminal.write(`kici: the admin token is in ${boot.file}\n`);
  }
}

import { randomUUID } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ADMIN_TOKEN_FILE } from '../admin/index.js';
import { hashToken, issueAdminToken, displayPrefix } from '../secrets/index.js';
import type { AdminTokenRepository } from '../store/index.js';
import type { Logger } from './logger.js';

export type AdminTokenBootstrap =
  | { kind: 'configured' }
  | { kind: 'created'; token: string; file: string }
  | { kind: 'existing'; file?: string };

/**
 * Make sure an admin token exists. KICI_BOOTSTRAP_ADMIN_TOKEN is registered (by hash) when given.
 * Otherwise the first start issues one, keeps it in the data directory (0600) for kici-admin on
 * this machine, and returns it so the caller can show it once on the terminal, never in a log.
 */
export async function ensureAdminToken(tokens: AdminTokenRepository, dataDir: string, configured?: string): Promise<AdminTokenBootstrap> {
  const file = path.join(dataDir, ADMIN_TOKEN_FILE);
  if (configured) {
    const hash = hashToken(configured);
    if (!(await tokens.findActive(hash))) {
      await tokens.insert({ id: `adm_${randomUUID().slice(0, 12)}`, name: 'bootstrap', tokenHash: hash, prefix: displayPrefix(configured) }, new Date());
    }
    return { kind: 'configured' };
  }
  const existing = (await tokens.list()).filter((t) => !t.revokedAt);
  if (existing.length > 0) return { kind: 'existing', file: existsSync(file) ? file : undefined };
  const issued = issueAdminToken();
  await tokens.insert({ id: `adm_${randomUUID().slice(0, 12)}`, name: 'first-start', tokenHash: issued.hash, prefix: issued.prefix }, new Date());
  writeFileSync(file, `${issued.token}\n`, { mode: 0o600 });
  return { kind: 'created', token: issued.token, file };
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

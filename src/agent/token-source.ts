import { readFileSync } from 'node:fs';

/** Where the agent's token comes from: given itself, or a file that holds it. */
export interface TokenSources {
  flag?: string;
  flagFile?: string;
  env?: string;
  envFile?: string;
}

export type TokenRead =
  | { ok: true; token?: string; file?: string }
  | { ok: false; message: string };

/**
 * The token from `--token` / `--token-file`, else from KICI_AGENT_TOKEN / KICI_AGENT_TOKEN_FILE:
 * the command line wins over the environment, as for every other option, but two sources at the
 * same level are a mistake to point out, not to settle silently. A file keeps the token out of the
 * agent's environment and command line, where any process of the same user can read it. Messages
 * name the file and what is wrong with it, never what it holds.
 */
export function readAgentToken(src: TokenSources): TokenRead {
  if (src.flag !== undefined && src.flagFile !== undefined) return { ok: false, message: '--token and --token-file cannot be used together' };
  if (src.flag !== undefined) return { ok: true, token: src.flag };
  if (src.flagFile !== undefined) return readTokenFile(src.flagFile);
  if (src.env !== undefined && src.envFile !== undefined) {
    return { ok: false, message: 'KICI_AGENT_TOKEN and KICI_AGENT_TOKEN_FILE cannot both be set' };
  }
  if (src.envFile !== undefined) return readTokenFile(src.envFile);
  return { ok: true, token: src.env };
}

function readTokenFile(file: string): TokenRead {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { ok: false, message: `--token-file ${file}: ${why(err)}` };
  }
  const token = text.trim();
  if (token === '') return { ok: false, message: `--token-file ${file} is empty` };
  if (/\s/.test(token)) return { ok: false, message: `--token-file ${file} must hold the token alone, on one line` };
  return { ok: true, token, file };
}

function why(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return `cannot be read (${code ?? 'error'})`;
}

import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const AGENT_ID_FILE = 'agent-id';
const VALID_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export function isValidAgentId(id: string): boolean {
  return VALID_ID.test(id);
}

/**
 * The agent's identity: the one given on the command line, else the one kept in the work dir,
 * else a new one written there, so a restarted agent reclaims its in-flight jobs under the same id.
 */
export function resolveAgentId(workDir: string, explicit?: string): string {
  if (explicit !== undefined) {
    if (!isValidAgentId(explicit)) throw new Error(`invalid agent id "${explicit}": use letters, digits, . _ : -`);
    return explicit;
  }
  const file = join(workDir, AGENT_ID_FILE);
  const kept = readKept(file);
  if (kept) return kept;
  const id = randomUUID();
  mkdirSync(workDir, { recursive: true });
  writeFileSync(file, `${id}\n`, { mode: 0o644 });
  return id;
}

function readKept(file: string): string | undefined {
  try {
    const id = readFileSync(file, 'utf8').trim();
    return isValidAgentId(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

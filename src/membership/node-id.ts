import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** This node's id: KICI_CLUSTER_INSTANCE_ID, else one generated on first start and kept in the data directory. */
export function localNodeId(dataDir: string, configured?: string): string {
  if (configured) return configured;
  mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, 'node-id');
  if (existsSync(file)) {
    const id = readFileSync(file, 'utf8').trim();
    if (id) return id;
  }
  const id = `node-${randomUUID().slice(0, 8)}`;
  writeFileSync(file, `${id}\n`);
  return id;
}

import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, binPath, ensureBuilt, killAll, NodeProcess } from '../harness/index.js';

/**
 * A second orchestrator on a port already taken must fail before it changes anything: no
 * database is created or migrated, no admin token is issued, written or announced.
 */
let dir: string;
let blocker: Server;

beforeAll(async () => {
  ensureBuilt();
  dir = mkdtempSync(path.join(tmpdir(), 'kici-busy-port-'));
  blocker = await new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => resolve(s));
  });
});

afterAll(async () => {
  await killAll();
  await new Promise((resolve) => blocker?.close(resolve));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('kici-orchestrator on a busy port', () => {
  it('exits 1 naming EADDRINUSE, with the data directory untouched and no token mentioned', async () => {
    const { port } = blocker.address() as { port: number };
    const dataDir = path.join(dir, 'data');
    mkdirSync(dataDir);
    const orchestrator = new NodeProcess(
      'orchestrator',
      binPath('kici-orchestrator'),
      [],
      baseEnv({ KICI_PORT: String(port), KICI_HOST: '127.0.0.1', KICI_DATA_DIR: dataDir, KICI_LOG_LEVEL: 'info' }),
      path.join(dir, 'orchestrator.log'),
    );
    const { code } = await orchestrator.exited;
    const output = orchestrator.output();
    expect(code, output).toBe(1);
    expect(output).toContain(`kici-orchestrator: cannot listen on 127.0.0.1:${port}: the port is already in use (EADDRINUSE)`);
    // No database (pglite), no admin-token, secret.key or node-id: nothing at all.
    expect(readdirSync(dataDir)).toEqual([]);
    expect(output).not.toMatch(/token|migrated/i);
  });
});

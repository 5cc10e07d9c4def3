import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentHub } from '../../../src/agents/index.js';
import { loadConfig } from '../../../src/server/config.js';
import { Router } from '../../../src/server/http/router.js';
import { createLogger } from '../../../src/server/logger.js';
import { bindListener, ListenError } from '../../../src/server/wiring/listener.js';
import { upgradeStatus } from './orchestrator-rig.js';

/**
 * The orchestrator's port is taken before anything else (so a busy port fails a start that has
 * changed nothing); until the routes are handed over it answers every request and upgrade with 503.
 */
let dataDir: string;

beforeAll(() => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'kici-listener-'));
});

afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

const config = (port: number) => loadConfig({ KICI_PORT: String(port), KICI_HOST: '127.0.0.1', KICI_DATA_DIR: dataDir });
const log = createLogger('silent');

describe('bindListener', () => {
  it('answers 503 "starting" until it is given its routes, and writes its URL file only then', async () => {
    const listener = await bindListener(config(0), log);
    try {
      const early = await fetch(`${listener.url}/ready`);
      expect(early.status).toBe(503);
      expect(early.headers.get('retry-after')).toBe('1');
      expect(await early.json()).toEqual({ error: { code: 'starting', message: 'the orchestrator is starting' } });
      expect(await upgradeStatus(`${listener.url.replace(/^http/, 'ws')}/ws`)).toBe(503);
      expect(existsSync(path.join(dataDir, 'orchestrator-url'))).toBe(false);

      const router = new Router('').on('GET', '/ready', () => ({ status: 200, body: { status: 'ready' } }));
      listener.serve(router, {} as AgentHub, () => '127.0.0.1');
      expect((await fetch(`${listener.url}/ready`)).status).toBe(200);
      expect(readFileSync(path.join(dataDir, 'orchestrator-url'), 'utf8').trim()).toBe(listener.url);
    } finally {
      await listener.close();
      await listener.close();
    }
  });

  it('fails on a busy port with a ListenError naming the address and EADDRINUSE', async () => {
    const blocker: Server = await new Promise((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => resolve(s));
    });
    const { port } = blocker.address() as { port: number };
    try {
      const failed = await bindListener(config(port), log).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(failed).toBeInstanceOf(ListenError);
      expect((failed as Error).message).toContain(`127.0.0.1:${port}`);
      expect((failed as Error).message).toContain('EADDRINUSE');
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});

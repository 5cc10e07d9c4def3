import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, startOrchestrator, type Orchestrator } from '../../../src/server/index.js';
import { signBody } from '../../../src/webhooks/index.js';
import { testPostgres } from '../../support/postgres.js';
import { kiciAdmin } from './admin-cli-run.js';

const SECRET = 'pg-git-secret-5521';

let tmp: string;
let dataDir: string;
let databaseUrl: string;
let orch: Orchestrator;

const admin = (args: string[]) => kiciAdmin(['--data-dir', dataDir, ...args]);

beforeAll(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'kici-admin-pg-'));
  dataDir = path.join(tmp, 'data');
  databaseUrl = await (await testPostgres()).createDatabase();
  orch = await startOrchestrator(
    loadConfig({ KICI_DATA_DIR: dataDir, KICI_PORT: '0', KICI_HOST: '127.0.0.1', KICI_LOG_LEVEL: 'silent', KICI_DATABASE_URL: databaseUrl }),
  );
});

afterAll(async () => {
  await orch?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('admin API and kici-admin on PostgreSQL', () => {
  it('adds, lists and shows a source without its secret, and accepts its signed deliveries', async () => {
    const add = await admin(['--json', 'source', 'add', 'generic', '--org', 'acme', '--name', 'pg-hooks', '--secret', SECRET]);
    expect(add.err).toBe('');
    expect(add.code).toBe(0);
    const source = JSON.parse(add.out) as { id: string; hasSecret: boolean };
    expect(source.hasSecret).toBe(true);

    const list = await admin(['source', 'list', '--json']);
    const get = await admin(['source', 'get', source.id]);
    expect((JSON.parse(list.out) as { id: string }[]).map((s) => s.id)).toEqual([source.id]);
    expect(get.out).toContain('pg-hooks');
    expect(list.out + get.out).not.toContain(SECRET);

    const body = JSON.stringify({ hello: 'postgres' });
    const headers = { 'content-type': 'application/json', 'x-signature-256': signBody(SECRET, body), 'x-delivery-id': 'pg-1' };
    const url = `${orch.url}/webhook/acme/generic/${source.id}`;
    expect((await fetch(url, { method: 'POST', body, headers })).status).toBe(202);
    expect((await fetch(url, { method: 'POST', body, headers })).status).toBe(200);
  });

  it('creates an agent token shown once and lists only its prefix', async () => {
    const created = await admin(['--json', 'agent', 'token', 'create', '--name', 'pg-agent']);
    const token = JSON.parse(created.out) as { id: string; token: string; prefix: string };
    expect(token.token.startsWith(token.prefix)).toBe(true);
    const list = await admin(['agent', 'token', 'list']);
    expect(list.out).toContain(token.prefix);
    expect(list.out).not.toContain(token.token);
  });

  it('db migrate --status shows every migration applied on the live database', async () => {
    const before = process.env.KICI_DATABASE_URL;
    process.env.KICI_DATABASE_URL = databaseUrl;
    try {
      const status = await kiciAdmin(['--data-dir', path.join(tmp, 'unused'), '--json', 'db', 'migrate', '--status']);
      expect(status.err).toBe('');
      expect(status.code).toBe(0);
      const parsed = JSON.parse(status.out) as { migrations: { name: string; executedAt: string | null }[] };
      expect(parsed.migrations.length).toBeGreaterThan(0);
      expect(parsed.migrations.every((m) => m.executedAt)).toBe(true);

      const migrate = await kiciAdmin(['db', 'migrate']);
      expect(migrate.code).toBe(0);
      expect(migrate.out).toContain('nothing to apply');
    } finally {
      if (before === undefined) delete process.env.KICI_DATABASE_URL;
      else process.env.KICI_DATABASE_URL = before;
    }
  });
});

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN_FILE } from '../../../src/admin/index.js';
import { loadClusterCa, parseJoinToken } from '../../../src/certificates/index.js';
import { loadConfig, startOrchestrator, type Orchestrator } from '../../../src/server/index.js';
import type { DatabaseDriver } from '../../../src/store/index.js';
import { testPostgres } from '../../support/postgres.js';
import { kiciAdmin } from './admin-cli-run.js';

/**
 * Join tokens through the admin API and kici-admin, against a real orchestrator on each database.
 * Its log is captured with no redaction, so a secret in any field would show; every reply, listing,
 * error and log line is checked for the secrets the cluster holds.
 */
interface TokenView {
  id: string;
  role: string;
  state: string;
  caFingerprint: string;
  clusterId?: string;
  createdAt: string;
  expiresAt: string;
  usedAt: string | null;
  usedBy: string | null;
  revokedAt: string | null;
  token?: string;
  revoked?: boolean;
}

for (const driver of ['pglite', 'postgres'] as DatabaseDriver[]) {
  describe(`join tokens [${driver}]`, () => {
    let tmp: string;
    let dataDir: string;
    let orch: Orchestrator;
    let adminToken: string;
    const logLines: string[] = [];
    /** Everything anyone but the creator of a token could see: replies, CLI output, logs. */
    const seen: string[] = [];
    const tokens: string[] = [];

    const admin = async (args: string[]) => {
      const r = await kiciAdmin(['--data-dir', dataDir, ...args]);
      return r;
    };
    const api = async (method: string, route: string, body?: unknown, raw?: string) => {
      const res = await fetch(`${orch.url}/api/v1${route}`, {
        method,
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
      });
      const text = await res.text();
      return { status: res.status, text, json: (text ? JSON.parse(text) : undefined) as Record<string, unknown> };
    };
    const create = async (body: unknown = {}): Promise<TokenView> => {
      const r = await api('POST', '/peers/tokens', body);
      expect(r.status).toBe(201);
      const view = r.json as unknown as TokenView;
      tokens.push(view.token!);
      return view;
    };
    const secretOf = (token: string) => token.split('.')[3]!;

    beforeAll(async () => {
      tmp = mkdtempSync(path.join(tmpdir(), 'kici-peer-tokens-'));
      dataDir = path.join(tmp, 'data');
      const sink = new Writable({
        write(chunk, _encoding, done) {
          logLines.push(String(chunk));
          done();
        },
      });
      const env: Record<string, string> = { KICI_DATA_DIR: dataDir, KICI_PORT: '0', KICI_HOST: '127.0.0.1' };
      if (driver === 'postgres') env.KICI_DATABASE_URL = await (await testPostgres()).createDatabase();
      orch = await startOrchestrator(loadConfig(env), { log: pino({ level: 'trace' }, sink) });
      adminToken = readFileSync(path.join(dataDir, ADMIN_TOKEN_FILE), 'utf8').trim();
    });

    afterAll(async () => {
      await orch?.stop();
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    });

    it('kici-admin peer create-token prints a single-use token of this cluster, once', async () => {
      const r = await admin(['--json', 'peer', 'create-token']);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      const created = JSON.parse(r.out) as TokenView;
      tokens.push(created.token!);
      const ca = loadClusterCa(path.join(dataDir, 'cluster'))!;
      const parsed = parseJoinToken(created.token!);
      expect(parsed.id).toBe(created.id);
      expect(parsed.caFingerprint).toBe(ca.fingerprint);
      expect(created).toMatchObject({ role: 'worker', state: 'active', caFingerprint: ca.fingerprint, clusterId: orch.clusterId, usedAt: null, revokedAt: null });
      const lifetime = Date.parse(created.expiresAt) - Date.parse(created.createdAt);
      expect(lifetime).toBe(3_600_000);

      const human = await admin(['peer', 'create-token', '--role', 'coordinator', '--expiry-hours', '720']);
      expect(human.code).toBe(0);
      const token = /^(kici1\.\S+)$/m.exec(human.out)![1]!;
      tokens.push(token);
      expect(human.out.split(token)).toHaveLength(2);
      expect(human.out).toMatch(/role\s+coordinator/);
      expect(human.out).toContain('shown once');
      const id = parseJoinToken(token).id;
      const listed = (await api('GET', '/peers/tokens')).json.tokens as TokenView[];
      const entry = listed.find((t) => t.id === id)!;
      expect(Date.parse(entry.expiresAt) - Date.parse(entry.createdAt)).toBe(720 * 3_600_000);
    });

    it('lists tokens without their secrets, and shows what became of each', async () => {
      const spent = await create({ role: 'coordinator', expiryHours: 2 });
      const withdrawn = await create();
      const active = await create();
      const consumed = await orch.store.cluster.consumeJoinToken(spent.id, (hash) => parseJoinToken(spent.token!).matchesSecretHash(hash), new Date(), { nodeId: 'node-joined' });
      expect(consumed.ok).toBe(true);
      expect((await api('DELETE', `/peers/tokens/${withdrawn.id}`)).status).toBe(200);

      const list = await api('GET', '/peers/tokens');
      seen.push(list.text);
      const byId = new Map((list.json.tokens as TokenView[]).map((t) => [t.id, t]));
      expect(byId.get(spent.id)).toMatchObject({ state: 'used', usedBy: 'node-joined', role: 'coordinator' });
      expect(byId.get(withdrawn.id)).toMatchObject({ state: 'revoked' });
      expect(byId.get(active.id)).toMatchObject({ state: 'active' });
      expect(Object.keys(byId.get(active.id)!).sort()).toEqual(['caFingerprint', 'createdAt', 'expiresAt', 'id', 'revokedAt', 'role', 'state', 'usedAt', 'usedBy']);

      const table = await admin(['peer', 'tokens']);
      expect(table.code).toBe(0);
      expect(table.out).toMatch(new RegExp(`${spent.id}\\s+coordinator\\s+used`));
      expect(table.out).toMatch(new RegExp(`${withdrawn.id}\\s+worker\\s+revoked`));
      const json = await admin(['peer', 'tokens', '--json']);
      expect((JSON.parse(json.out) as TokenView[]).map((t) => t.id)).toEqual(expect.arrayContaining([spent.id, withdrawn.id, active.id]));
      seen.push(table.out, table.err, json.out, json.err);
    });

    it('kici-admin peer revoke-token withdraws an unused token; a spent or unknown one is an error', async () => {
      const unused = await create();
      const first = await admin(['peer', 'revoke-token', unused.id.toUpperCase()]);
      expect(first).toEqual({ code: 0, out: `revoked join token ${unused.id}\n`, err: '' });
      const again = await admin(['peer', 'revoke-token', unused.id]);
      expect(again.out).toBe(`join token ${unused.id} was already revoked\n`);
      const json = JSON.parse((await admin(['peer', 'revoke-token', unused.id, '--json'])).out) as TokenView;
      expect(json).toMatchObject({ id: unused.id, state: 'revoked', revoked: false });
      expect(json.token).toBeUndefined();
      expect((await orch.store.cluster.consumeJoinToken(unused.id, (h) => parseJoinToken(unused.token!).matchesSecretHash(h), new Date())).ok).toBe(false);

      const spent = await create();
      await orch.store.cluster.consumeJoinToken(spent.id, (h) => parseJoinToken(spent.token!).matchesSecretHash(h), new Date(), { nodeId: 'node-7' });
      const refused = await admin(['peer', 'revoke-token', spent.id]);
      expect(refused.code).toBe(1);
      expect(refused.err).toBe(`kici-admin: join token ${spent.id} was already used by node node-7; revoke the node instead (HTTP 409)\n`);

      const unknown = await admin(['peer', 'revoke-token', '0000000000000000']);
      expect(unknown).toMatchObject({ code: 1, err: 'kici-admin: no join token 0000000000000000 (HTTP 404)\n' });

      // The whole token pasted where its id belongs: refused without a word of it.
      const pasted = await admin(['peer', 'revoke-token', spent.token!]);
      expect(pasted.code).toBe(2);
      expect(pasted.err).toContain('not the token itself');
      seen.push(first.out, again.out, refused.err, unknown.err, pasted.out, pasted.err, JSON.stringify(json));
    });

    it('answers bad requests with a 400 naming the field', async () => {
      const cases: [string, unknown, RegExp][] = [
        ['role', { role: 'admin' }, /^role: must be coordinator or worker$/],
        ['zero hours', { expiryHours: 0 }, /^expiryHours: must be at least 1 hour$/],
        ['too many hours', { expiryHours: 721 }, /^expiryHours: must be at most 720 hours/],
        ['a fraction', { expiryHours: 1.5 }, /^expiryHours: must be a whole number of hours$/],
        ['a string', { expiryHours: '2' }, /^expiryHours: must be a whole number of hours$/],
        ['an unknown field', { role: 'worker', ttl: 5 }, /ttl/],
        ['not an object', [1], /^body: /],
      ];
      for (const [what, body, message] of cases) {
        const r = await api('POST', '/peers/tokens', body);
        expect(r.status, what).toBe(400);
        expect((r.json.error as { message: string }).message, what).toMatch(message);
      }
      expect((await api('POST', '/peers/tokens', undefined, '{"role":')).status).toBe(400);
      const badId = await api('DELETE', '/peers/tokens/not-an-id');
      expect(badId.status).toBe(400);
      expect(badId.json.error).toEqual({ code: 'invalid_request', message: 'id: a join token id is 16 hex digits' });
      const pasted = await api('DELETE', `/peers/tokens/${encodeURIComponent(tokens[0]!)}`);
      expect(pasted.status).toBe(400);
      seen.push(pasted.text);
      expect((await fetch(`${orch.url}/api/v1/peers/tokens`)).status).toBe(401);
    });

    it('never shows a token secret or the CA private key anywhere but the one create reply', async () => {
      const keyPem = readFileSync(path.join(dataDir, 'cluster', 'cluster-ca.key'), 'utf8');
      const keyLines = keyPem.split('\n').filter((l) => l && !l.startsWith('-----'));
      const everything = [...seen, ...logLines, (await api('GET', '/peers/tokens')).text].join('\n');
      expect(tokens.length).toBe(7);
      for (const token of tokens) {
        expect(everything).not.toContain(secretOf(token));
      }
      for (const line of keyLines) expect(everything).not.toContain(line);
      // The log did see the work: the cluster was made, and the bad requests were answered.
      expect(logLines.join('')).toContain('cluster created');
    });
  });
}

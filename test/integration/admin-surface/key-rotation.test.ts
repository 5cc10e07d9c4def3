/**
 * Master-key rotation end to end, on one real orchestrator (PGlite) restarted with different keys:
 * a source's webhook secret, a scope secret and a Vault backend's token sealed under key A; a
 * restart with KICI_SECRET_KEY=B and KICI_SECRET_KEY_OLD=A still verifies the webhook; `kici-admin
 * rotate-key` reports what it moved per table (and nothing the second time); a restart with B only
 * starts and verifies; a restart with C only is refused, naming the table, the key version and the
 * count. No key or secret appears in anything printed, answered or logged.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, expect, it } from 'vitest';
import { parseSecretKey } from '../../../src/secrets/index.js';
import { loadConfig, startOrchestrator, type Orchestrator } from '../../../src/server/index.js';
import { signBody } from '../../../src/webhooks/index.js';
import { cli, type CliResult, deliver } from './cli.js';

const A = randomBytes(32).toString('hex');
const B = randomBytes(32).toString('base64');
const C = randomBytes(32).toString('hex');
const HOOK_SECRET = 'rotation-hook-secret-4f1c9e';
const SCOPE_SECRET = 'rotation-scope-secret-8d2b7a';
const VAULT_TOKEN = 'hvs.rotation-vault-token-61ae';
const versionOf = (key: string) => parseSecretKey(key).version;

const tmp = mkdtempSync(path.join(tmpdir(), 'kici-key-rotation-'));
const dataDir = path.join(tmp, 'data');
const seen: string[] = [];
let orch: Orchestrator | undefined;

afterAll(async () => {
  await orch?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** Logs at debug, kept to be searched for secrets. */
const log = pino({ level: 'debug' }, { write: (line: string) => void seen.push(line) });

function start(keys: Record<string, string>): Promise<Orchestrator> {
  return startOrchestrator(loadConfig({ KICI_DATA_DIR: dataDir, KICI_PORT: '0', KICI_HOST: '127.0.0.1', KICI_LOG_LEVEL: 'debug', ...keys }), { log });
}

async function admin(argv: string[]): Promise<CliResult> {
  const r = await cli(['--data-dir', dataDir, ...argv]);
  seen.push(r.out, r.err);
  return r;
}

async function hookAccepted(sourceId: string, n: number): Promise<number> {
  const body = JSON.stringify({ n });
  const r = await deliver(orch!, 'acme', sourceId, body, { 'x-signature-256': signBody(HOOK_SECRET, body) });
  seen.push(JSON.stringify(r.json));
  return r.status;
}

it('rotates the master key from A to B without losing a secret, and refuses a key that opens nothing', { timeout: 120_000 }, async () => {
  orch = await start({ KICI_SECRET_KEY: A });
  const added = await admin(['--json', 'source', 'add', 'generic', '--org', 'acme', '--name', 'hooks', '--secret', HOOK_SECRET]);
  expect(added.code, added.err).toBe(0);
  const sourceId = (JSON.parse(added.out) as { id: string }).id;
  expect((await admin(['secret', 'set', 'deploy/prod', 'DB_PASSWORD', SCOPE_SECRET, '--org', 'acme'])).code).toBe(0);
  const backend = await admin(['backend', 'add', 'my-vault', '--type', 'vault', '--vault-url', 'http://127.0.0.1:9', '--vault-token', VAULT_TOKEN, '--vault-mount-path', 'secret', '--vault-base-path', 'kici/secrets']);
  expect(backend.code, backend.err).toBe(0);
  expect(await hookAccepted(sourceId, 1)).toBe(202);
  const underA = await orch.store.keyRotation.countsByKeyVersion();
  expect(underA.every((c) => c.keyVersion === versionOf(A))).toBe(true);
  const sealedUnderA = underA.find((c) => c.table === 'sealed_secrets')!.count;
  await orch.stop();

  // During the rotation: B seals, A still reads.
  orch = await start({ KICI_SECRET_KEY: B, KICI_SECRET_KEY_OLD: A });
  expect(await hookAccepted(sourceId, 2)).toBe(202);
  expect((await admin(['secret', 'set', 'deploy/prod', 'API_KEY', 'written-during-rotation', '--org', 'acme'])).code).toBe(0);
  expect(await orch.store.keyRotation.countsByKeyVersion()).toContainEqual({ table: 'sealed_secrets', keyVersion: versionOf(B), count: 1 });

  const rotated = await admin(['rotate-key']);
  expect(rotated.code, rotated.err).toBe(0);
  expect(rotated.out).toMatch(new RegExp(`^sealed_secrets\\s+${sealedUnderA}\\s+0\\s+0$`, 'm'));
  expect(rotated.out).toMatch(/^secret_backends\s+1\s+0\s+0$/m);
  expect(rotated.out).toContain(`re-sealed ${sealedUnderA + 1} values with key version ${versionOf(B)}; nothing is left: remove KICI_SECRET_KEY_OLD and restart`);
  const again = await admin(['--json', 'rotate-key']);
  expect(again.code, again.err).toBe(0);
  expect(JSON.parse(again.out)).toMatchObject({ keyVersion: versionOf(B), moved: 0, left: 0, complete: true });
  const audit = await admin(['--json', 'audit', '--action', 'key.rotate']);
  expect(audit.out).toContain('key.rotate');
  await orch.stop();

  // Done: B alone.
  orch = await start({ KICI_SECRET_KEY: B });
  expect(await hookAccepted(sourceId, 3)).toBe(202);
  await orch.stop();
  orch = undefined;

  // A key that sealed nothing here: refused before anything is served.
  let refusal = '';
  try {
    orch = await start({ KICI_SECRET_KEY: C });
  } catch (e) {
    refusal = (e as Error).message;
  }
  seen.push(refusal);
  expect(orch).toBeUndefined();
  expect(refusal).toContain(`sealed_secrets: ${sealedUnderA + 1} values sealed with key version ${versionOf(B)}, which is not KICI_SECRET_KEY (and no KICI_SECRET_KEY_OLD is set)`);
  expect(refusal).toContain(`secret_backends: 1 value sealed with key version ${versionOf(B)}`);

  const everything = seen.join('\n');
  expect(everything.length).toBeGreaterThan(1000);
  for (const secret of [A, B, C, Buffer.from(B, 'base64').toString('hex'), HOOK_SECRET, SCOPE_SECRET, VAULT_TOKEN]) expect(everything).not.toContain(secret);
});

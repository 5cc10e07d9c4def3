/**
 * Runs from a GitHub App source end to end: a real orchestrator (PGlite) whose GitHub API is the
 * stand-in on loopback (it verifies the App's JWT with its public key and issues installation
 * tokens), a real agent. A signed push becomes a run of the lock file read through the contents API
 * at the pushed commit; a commit without a lock file is `lockfile_missing`, and nothing runs.
 */
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signBody } from '../../../src/webhooks/index.js';
import { GitHubStandIn } from '../../support/github-standin.js';
import { Installation } from '../runs-admin/fixture.js';

const APP_ID = 4242;
const INSTALLATION = 77;
const SECRET = 'gh-runs-webhook-secret-5e7';
const WITH_LOCKFILE = 'c'.repeat(40);
const WITHOUT_LOCKFILE = 'd'.repeat(40);

const LOCKFILE = {
  schemaVersion: 1,
  workflows: [
    {
      name: 'gh-ci',
      triggers: [{ _type: 'push', branches: ['main'] }],
      jobs: [{ name: 'hello', checkout: false, steps: [{ run: 'echo "hello from $KICI_REPO at $KICI_SHA"' }] }],
    },
  ],
};

let inst: Installation;
let github: GitHubStandIn;
let deliveries = 0;

beforeAll(async () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  github = await new GitHubStandIn({ appId: APP_ID, publicKey }).start();
  github.install(INSTALLATION, ['acme/app']);
  github.setFile('acme/app', WITH_LOCKFILE, '.kici/kici.lock.json', JSON.stringify(LOCKFILE));
  inst = await Installation.start('kici-github-runs-', { KICI_GITHUB_API_URL: github.url });
  const keyFile = path.join(inst.tmp, 'app.pem');
  writeFileSync(keyFile, privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(), { mode: 0o600 });
  const added = await inst.admin(['source', 'add', 'github', '--name', 'acme', '--app-id', String(APP_ID), '--private-key', `@${keyFile}`, '--webhook-secret', SECRET]);
  expect(added.code).toBe(0);
  await inst.startAgent();
});

afterAll(async () => {
  await inst?.stop();
  await github?.stop();
});

/** A push of `sha` to main, signed as GitHub signs it; resolves with the delivery id once accepted. */
async function push(sha: string): Promise<string> {
  const deliveryId = `8f2c1e40-0000-11f1-8000-${String(++deliveries).padStart(12, '0')}`;
  const body = JSON.stringify({
    ref: 'refs/heads/main',
    before: 'a'.repeat(40),
    after: sha,
    repository: { full_name: 'acme/app', name: 'app', default_branch: 'main', clone_url: 'https://github.com/acme/app.git' },
    installation: { id: INSTALLATION },
    commits: [],
  });
  const res = await fetch(`${inst.orch.url}/webhook/acme/github`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'push',
      'x-github-delivery': deliveryId,
      'x-github-hook-installation-target-id': String(APP_ID),
      'x-github-hook-installation-target-type': 'integration',
      'x-hub-signature-256': signBody(SECRET, body),
    },
    body,
  });
  expect(res.status).toBeLessThan(300);
  return deliveryId;
}

async function delivery(id: string): Promise<{ status: string; error: string | null }> {
  for (;;) {
    const d = await inst.adminJson<{ status: string; error: string | null }>(['event-log', 'show', id]);
    if (d.status !== 'received') return d;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('runs from a GitHub App source', () => {
  it('runs the lock file read through the API at the pushed commit', async () => {
    const processed = await delivery(await push(WITH_LOCKFILE));
    expect(processed.status).toBe('processed');
    const { runs } = await inst.api.call<{ runs: { id: string; workflow: string }[] }>('GET', '/runs');
    const run = runs.find((r) => r.workflow === 'gh-ci');
    expect(run).toBeDefined();
    expect((await inst.waitForEnd(run!.id)).status).toBe('success');
    await inst.waitForLog(run!.id, `at ${WITH_LOCKFILE}`);
    const log = await (await inst.api.raw('GET', `/runs/${run!.id}/logs`)).text();
    expect(log).toContain(`at ${WITH_LOCKFILE}`);
  }, 60_000);

  it('a commit without a lock file starts nothing', async () => {
    expect((await delivery(await push(WITHOUT_LOCKFILE))).status).toBe('lockfile_missing');
  }, 30_000);
});

/**
 * Holds decided through the web view, over real HTTP against a real orchestrator (PGlite in this
 * process) with a real agent and runs from a git source. A viewer token named `vera` signs in
 * (POST /ui/api/session) and approves, through `/ui/api/v1/runs/<id>/approve` with the csrf
 * header, the hold of an environment whose reviewers name her: 200, and the job runs. A viewer the
 * hold does not name is refused as the hold's rules refuse anyone unlisted (409 hold_conflict), not
 * as a viewer is refused a write (403). An admin session votes by the same rules: counted where the
 * hold names it, 409 where it does not, and alone it decides a trust hold (a stranger's pull request
 * from a GitHub App source, the stand-in on loopback), which a viewer may not touch (409 "is a viewer").
 */
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../../../cluster/processes.js';
import { signBody } from '../../../src/webhooks/index.js';
import { GitHubStandIn } from '../../support/github-standin.js';
import type { HoldView } from '../../e2e/harness/views.js';
import { Installation, type RunDetail } from '../runs-admin/fixture.js';
import { UiBrowser } from './ui-client.js';

type HeldRun = RunDetail & { holds: HoldView[] };

const APP_ID = 5151;
const GH_INSTALLATION = 91;
const GH_SECRET = 'ui-holds-webhook-secret-3c1';
/** The base commit of the strangers' pull requests: its lock file is the one a stranger's PR runs. */
const BASE_SHA = 'b'.repeat(40);

const LOCKFILE = {
  schemaVersion: 1,
  workflows: [
    {
      name: 'release',
      triggers: [{ _type: 'push', branches: ['main'] }],
      jobs: [{ name: 'deploy', checkout: false, environments: ['production'], steps: [{ run: 'echo shipped by vera' }] }],
    },
    {
      name: 'pair-release',
      triggers: [{ _type: 'push', branches: ['pair'] }],
      jobs: [{ name: 'deploy', checkout: false, environments: ['pair-release'], steps: [{ run: 'echo shipped by two' }] }],
    },
    {
      name: 'gh-preview',
      triggers: [{ _type: 'pr', targetBranches: ['main'] }],
      jobs: [{ name: 'publish', checkout: false, environments: ['preview'], steps: [{ run: 'echo published' }] }],
    },
  ],
};

let inst: Installation;
let github: GitHubStandIn;
let source: string;
let deliveries = 0;
/** Each token's value, by name: vera and walt are viewers, ada an admin. */
const tokens: Record<string, string> = {};

beforeAll(async () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  github = await new GitHubStandIn({ appId: APP_ID, publicKey }).start();
  github.install(GH_INSTALLATION, ['acme/app']);
  github.setFile('acme/app', BASE_SHA, '.kici/kici.lock.json', JSON.stringify(LOCKFILE));
  inst = await Installation.start('kici-ui-holds-', { KICI_GITHUB_API_URL: github.url });
  for (const [name, role] of [['vera', 'viewer'], ['walt', 'viewer'], ['ada', 'admin']]) {
    tokens[name] = (await inst.adminJson<{ token: string }>(['admin-token', 'create', '--name', name, '--role', role])).token;
  }
  await inst.api.call('POST', '/environments', { orgId: 'acme', name: 'production', requiredReviewers: ['vera'] });
  await inst.api.call('POST', '/environments', { orgId: 'acme', name: 'pair-release', requiredReviewers: ['vera', 'ada'] });
  await inst.api.call('POST', '/environments', { orgId: 'acme', name: 'preview', minimumTrust: 'known' });
  inst.repo.pushLockfile(LOCKFILE, 'main');
  inst.repo.pushLockfile(LOCKFILE, 'pair');
  source = await inst.addSource('releases');
  const keyFile = path.join(inst.tmp, 'app.pem');
  writeFileSync(keyFile, privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(), { mode: 0o600 });
  const added = await inst.admin(['source', 'add', 'github', '--name', 'acme', '--app-id', String(APP_ID), '--private-key', `@${keyFile}`, '--webhook-secret', GH_SECRET]);
  expect(added.code, added.err).toBe(0);
  await inst.startAgent();
}, 90_000);

afterAll(async () => {
  await inst?.stop();
  await github?.stop();
});

/** A web view session of the token named `name`, signed in as a page would. */
async function signedIn(name: string): Promise<UiBrowser> {
  const browser = new UiBrowser(inst.orch.url);
  const answer = await browser.signIn(tokens[name]!);
  expect(answer.status, answer.text).toBe(200);
  return browser;
}

const vote = (browser: UiBrowser, runId: string, verdict: 'approve' | 'reject', body: Record<string, unknown> = {}) =>
  browser.request('POST', `/ui/api/v1/runs/${runId}/${verdict}`, { body });

const errorOf = (answer: { json(): Record<string, unknown> }) => answer.json().error as { code: string; message: string };

async function held(ref: string): Promise<HeldRun> {
  const reply = await inst.adminJson<{ runs: { id: string }[] }>(['runs', 'trigger', '--source', source, '--ref', ref]);
  expect(reply.runs).toHaveLength(1);
  const id = reply.runs[0]!.id;
  return (await inst.waitFor(id, (r) => (r as HeldRun).holds?.[0]?.status === 'pending', `the job of run ${id} to be held`)) as HeldRun;
}

const heldRun = (id: string) => inst.api.call<HeldRun>('GET', `/runs/${id}`);

describe('a hold that names a viewer, decided in the web view', () => {
  it('lets the named viewer approve with the csrf header, refuses an unnamed viewer and an unnamed admin with 409, and the job runs', async () => {
    const run = await held('main');
    expect(run.holds).toEqual([expect.objectContaining({ job: 'deploy', gate: 'reviewers', status: 'pending', reviewers: ['vera'] })]);
    const vera = await signedIn('vera');
    const walt = await signedIn('walt');
    const ada = await signedIn('ada');
    expect((await vera.request('GET', '/ui/api/session')).json()).toMatchObject({ name: 'vera', role: 'viewer' });

    // walt is a viewer the hold does not name: the hold's refusal (409), not the viewer's (403).
    const byWalt = await vote(walt, run.id, 'approve');
    expect(byWalt.status, byWalt.text).toBe(409);
    expect(errorOf(byWalt)).toMatchObject({ code: 'hold_conflict', message: expect.stringContaining('walt') });
    // Nor may an admin decide a hold that names reviewers and not it.
    const byAda = await vote(ada, run.id, 'approve');
    expect(byAda.status, byAda.text).toBe(409);
    expect(errorOf(byAda)).toMatchObject({ code: 'hold_conflict', message: expect.stringContaining('ada') });
    // Without the csrf header the vote is refused before it is counted.
    const noCsrf = await vera.request('POST', `/ui/api/v1/runs/${run.id}/approve`, { body: {}, csrf: false });
    expect(noCsrf.status).toBe(403);
    expect((await heldRun(run.id)).holds[0]).toMatchObject({ status: 'pending', votes: [], remaining: ['vera'] });

    const byVera = await vote(vera, run.id, 'approve', { job: 'deploy', reason: 'from the page' });
    expect(byVera.status, byVera.text).toBe(200);
    expect(byVera.json()).toEqual({ runId: run.id, verdict: 'approve', holds: [{ job: 'deploy', gate: 'reviewers', status: 'approved', remaining: [] }] });
    const done = (await inst.waitForEnd(run.id)) as HeldRun;
    expect(done.status).toBe('success');
    expect(done.holds[0]).toMatchObject({ status: 'approved', decidedBy: 'vera', votes: [{ reviewer: 'vera', verdict: 'approve' }] });
    await inst.waitForLog(run.id, 'shipped by vera');
    // The vote is vera's in the audit, made through her session's token.
    const audit = await inst.adminJson<{ actor: string; action: string }[]>(['audit', '--action', 'held_run.approve']);
    expect(audit.map((e) => e.actor)).toContain('vera');
  }, 90_000);

  it('counts an admin session\'s vote where the hold names it: vera and ada both approve, and only then the job runs', async () => {
    const run = await held('pair');
    expect(run.holds[0]).toMatchObject({ reviewers: ['ada', 'vera'], remaining: ['ada', 'vera'] });
    const ada = await signedIn('ada');
    const byAda = await vote(ada, run.id, 'approve');
    expect(byAda.status, byAda.text).toBe(200);
    expect(byAda.json()).toMatchObject({ holds: [{ status: 'pending', remaining: ['vera'] }] });
    expect((await heldRun(run.id)).jobs[0]!.status).toBe('pending');
    // A second vote by the same name is refused.
    expect((await vote(ada, run.id, 'approve')).status).toBe(409);
    const byVera = await vote(await signedIn('vera'), run.id, 'approve');
    expect(byVera.status, byVera.text).toBe(200);
    const done = (await inst.waitForEnd(run.id)) as HeldRun;
    expect(done.status).toBe('success');
    expect(done.holds[0]!.votes.map((v) => v.reviewer)).toEqual(['ada', 'vera']);
  }, 90_000);

  it('lets the named viewer reject through the page: the job is cancelled naming her', async () => {
    const run = await held('main');
    const byVera = await vote(await signedIn('vera'), run.id, 'reject', { reason: 'not today' });
    expect(byVera.status, byVera.text).toBe(200);
    const done = (await inst.waitForEnd(run.id)) as HeldRun;
    expect(done.status).toBe('cancelled');
    expect(done.jobs[0]!.error).toContain('vera');
    expect(done.jobs[0]!.error).toContain('not today');
  }, 90_000);
});

describe('a trust hold (a stranger\'s pull request), decided in the web view', () => {
  /** A pull request by a stranger (no permission on the repository), delivered as GitHub signs it; resolves with its held run. */
  async function strangersPullRequest(): Promise<HeldRun> {
    const number = 40 + ++deliveries;
    github.setPullFiles('acme/app', number, ['docs/readme.md']);
    const body = JSON.stringify({
      action: 'opened',
      number,
      pull_request: { number, user: { login: 'stranger', id: 31 }, base: { ref: 'main', sha: BASE_SHA }, head: { ref: `feature-${number}`, sha: 'e'.repeat(40) } },
      repository: { full_name: 'acme/app', name: 'app', default_branch: 'main', clone_url: 'http://127.0.0.1:9/acme/app.git' },
      installation: { id: GH_INSTALLATION },
    });
    const before = new Set((await inst.api.call<{ runs: { id: string }[] }>('GET', '/runs')).runs.map((r) => r.id));
    const res = await fetch(`${inst.orch.url}/webhook/acme/github`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'pull_request',
        'x-github-delivery': `7a1d2e30-0000-11f1-8000-${String(deliveries).padStart(12, '0')}`,
        'x-github-hook-installation-target-id': String(APP_ID),
        'x-github-hook-installation-target-type': 'integration',
        'x-hub-signature-256': signBody(GH_SECRET, body),
      },
      body,
    });
    expect(res.status).toBeLessThan(300);
    const id = await waitUntil(`a run of pull request ${number}`, async () => {
      const { runs } = await inst.api.call<{ runs: { id: string; workflow: string }[] }>('GET', '/runs');
      return runs.find((r) => r.workflow === 'gh-preview' && !before.has(r.id))?.id;
    }, { describe: async () => JSON.stringify(await inst.adminJson(['event-log', 'list'])) });
    return (await inst.waitFor(id, (r) => (r as HeldRun).holds?.[0]?.status === 'pending', `the stranger's publish (run ${id}) to be held`)) as HeldRun;
  }

  it('refuses a viewer with 409 "is a viewer" (even one named elsewhere), and an admin session\'s single approve runs the job', async () => {
    const run = await strangersPullRequest();
    expect(run.holds[0]).toMatchObject({ gate: 'trust', reviewers: [], status: 'pending' });
    for (const name of ['vera', 'walt']) {
      const byViewer = await vote(await signedIn(name), run.id, 'approve');
      expect(byViewer.status, byViewer.text).toBe(409);
      expect(errorOf(byViewer)).toMatchObject({ code: 'hold_conflict', message: expect.stringContaining(`'${name}' is a viewer`) });
    }
    expect((await heldRun(run.id)).holds[0]).toMatchObject({ status: 'pending', votes: [] });
    const byAda = await vote(await signedIn('ada'), run.id, 'approve', { reason: 'read the diff' });
    expect(byAda.status, byAda.text).toBe(200);
    expect(byAda.json()).toMatchObject({ holds: [{ gate: 'trust', status: 'approved' }] });
    const done = (await inst.waitForEnd(run.id)) as HeldRun;
    expect(done.status).toBe('success');
    expect(done.holds[0]).toMatchObject({ status: 'approved', decidedBy: 'ada' });
  }, 90_000);
});

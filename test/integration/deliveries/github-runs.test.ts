/**
 * Runs from a GitHub App source end to end: a real orchestrator (PGlite) whose GitHub API is the
 * stand-in on loopback (it verifies the App's JWT with its public key and issues installation
 * tokens), a real agent. A signed push becomes a run of the lock file read through the contents API
 * at the pushed commit; a commit without a lock file is `lockfile_missing`, and nothing runs. The
 * agent clones over http from a real git server (`git http-backend`) that, as GitHub does, accepts
 * only a live installation token sent as basic auth in a header. An event that names no commit (a
 * release) runs at the commit its tag names now; a pull request's changed files come from the API.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signBody } from '../../../src/webhooks/index.js';
import { GitHttpServer } from '../../support/git-http-server.js';
import { GitHubStandIn, type RecordedCheckRun } from '../../support/github-standin.js';
import { Installation, type RunDetail } from '../runs-admin/fixture.js';

const APP_ID = 4242;
/** Where browsers reach this orchestrator, as the operator configures it: checks link there. */
const PUBLIC_URL = 'https://ci.example.test/kici';
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

/** Committed to a real repository, served over http by `git http-backend`. */
const REAL_LOCKFILE = {
  schemaVersion: 1,
  workflows: [
    { name: 'gh-clone', triggers: [{ _type: 'push', branches: ['clone'] }], jobs: [{ name: 'read', steps: [{ run: 'cat hello.txt' }] }] },
    {
      name: 'gh-fail',
      triggers: [{ _type: 'push', branches: ['clone'] }],
      jobs: [{ name: 'breaks', checkout: false, steps: [{ name: 'say and fail', run: 'echo "first words"; echo "the last words"; exit 3' }] }],
    },
    {
      name: 'gh-release',
      triggers: [{ _type: 'webhook', events: ['release'], actions: ['published'] }],
      jobs: [{ name: 'ship', checkout: false, steps: [{ run: 'echo "release of $KICI_REF at $KICI_SHA"' }] }],
    },
    {
      name: 'gh-preview',
      triggers: [{ _type: 'pr', targetBranches: ['main'], sourceBranches: ['preview-*'] }],
      jobs: [{ name: 'publish', checkout: false, environments: ['preview'], steps: [{ run: 'echo published' }] }],
    },
    {
      name: 'gh-paths',
      triggers: [{ _type: 'pr', targetBranches: ['main'], paths: ['src/**'] }],
      jobs: [{ name: 'lint', checkout: false, steps: [{ run: 'echo linted' }] }],
    },
  ],
};

let inst: Installation;
let github: GitHubStandIn;
let git: GitHttpServer;
let realSha: string;
let deliveries = 0;

beforeAll(async () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  github = await new GitHubStandIn({ appId: APP_ID, publicKey }).start();
  github.install(INSTALLATION, ['acme/app']);
  github.setFile('acme/app', WITH_LOCKFILE, '.kici/kici.lock.json', JSON.stringify(LOCKFILE));
  inst = await Installation.start('kici-github-runs-', { KICI_GITHUB_API_URL: github.url, KICI_PUBLIC_URL: `${PUBLIC_URL}/` });
  const keyFile = path.join(inst.tmp, 'app.pem');
  writeFileSync(keyFile, privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(), { mode: 0o600 });
  const added = await inst.admin(['source', 'add', 'github', '--name', 'acme', '--app-id', String(APP_ID), '--private-key', `@${keyFile}`, '--webhook-secret', SECRET]);
  expect(added.code).toBe(0);
  await inst.startAgent();
  writeFileSync(path.join(inst.repo.work, 'hello.txt'), 'hello over https\n');
  await inst.api.call('POST', '/environments', { orgId: 'acme', name: 'preview', minimumTrust: 'known' });
  realSha = inst.repo.pushLockfile(REAL_LOCKFILE, 'clone');
  github.setFile('acme/app', realSha, '.kici/kici.lock.json', JSON.stringify(REAL_LOCKFILE));
  mkdirSync(path.join(inst.tmp, 'git', 'acme'), { recursive: true });
  symlinkSync(inst.repo.origin, path.join(inst.tmp, 'git', 'acme', 'app.git'));
  git = await new GitHttpServer(path.join(inst.tmp, 'git'), (user, token) => user === 'x-access-token' && github.validToken(token, 'acme/app')).start();
});

afterAll(async () => {
  await inst?.stop();
  await github?.stop();
  await git?.stop();
});

const repository = () => ({ full_name: 'acme/app', name: 'app', default_branch: 'main', clone_url: `${git.url}/acme/app.git` });

/** A push of `sha` to `branch`, signed as GitHub signs it; resolves with the delivery id once accepted. */
function push(sha: string, branch = 'main'): Promise<string> {
  return deliver('push', {
    ref: `refs/heads/${branch}`,
    before: 'a'.repeat(40),
    after: sha,
    repository: repository(),
    installation: { id: INSTALLATION },
    commits: [],
  });
}

const OCTOCAT = { login: 'octocat', id: 1 };

/** A pull request `number` by `user` onto main (at realSha), its head at `head` on branch `branch`. */
function pullRequest(number: number, user: { login: string; id: number }, head: string, branch = `feature-${number}`) {
  return {
    action: 'opened',
    number,
    pull_request: { number, user, base: { ref: 'main', sha: realSha }, head: { ref: branch, sha: head } },
    repository: repository(),
    installation: { id: INSTALLATION },
  };
}

async function deliver(event: string, payload: unknown): Promise<string> {
  const deliveryId = `8f2c1e40-0000-11f1-8000-${String(++deliveries).padStart(12, '0')}`;
  const body = JSON.stringify(payload);
  const res = await fetch(`${inst.orch.url}/webhook/acme/github`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': event,
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

interface Delivery {
  status: string;
  error: string | null;
  matchedCount: number;
  trace: { workflowName?: string; matched?: boolean }[] | { summary: string };
}

async function delivery(id: string): Promise<Delivery> {
  for (;;) {
    const d = await inst.adminJson<Delivery>(['event-log', 'show', id]);
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

  it('the agent clones over http with the installation token in a header, never in a URL', async () => {
    expect((await delivery(await push(realSha, 'clone'))).status).toBe('processed');
    const run = await runOf('gh-clone', realSha);
    expect((await inst.waitForEnd(run.id)).status).toBe('success');
    await inst.waitForLog(run.id, 'hello over https');
    expect(git.requests.length).toBeGreaterThan(0);
    expect(git.requests.every((r) => r.auth === 'accepted')).toBe(true);
    const log = await (await inst.api.raw('GET', `/runs/${run.id}/logs`)).text();
    for (const token of github.issuedTokens) {
      expect(git.requests.some((r) => r.url.includes(token))).toBe(false);
      expect(log).not.toContain(token);
    }
  }, 60_000);

  it('reports each run and job as a check run on the commit: queued, in progress, completed with a summary', async () => {
    // The push in the test above started gh-clone and gh-fail at realSha.
    const failing = await inst.waitForEnd((await runOf('gh-fail', realSha)).id);
    expect(failing.status).toBe('failed');
    // The step's last lines arrive after its status: the summary is sent again once they are in.
    const job = await completedCheck('kici/gh-fail/job/breaks', realSha, (c) => c.output?.summary?.includes('the last words') === true);
    expect(job.conclusion).toBe('failure');
    expect(job.history.map((h) => h.body.status ?? (h.body.conclusion ? 'completed' : undefined))).toEqual(expect.arrayContaining(['queued', 'in_progress', 'completed']));
    const workflow = await completedCheck('kici/gh-fail', realSha);
    expect(workflow.conclusion).toBe('failure');
    // Each check links to its page in the web view (KICI_PUBLIC_URL, its trailing slash dropped).
    const breaks = failing.jobs.find((j) => j.name === 'breaks')!;
    expect(workflow.details_url).toBe(`${PUBLIC_URL}/ui/#/runs/${failing.id}`);
    expect(job.details_url).toBe(`${PUBLIC_URL}/ui/#/runs/${failing.id}/jobs/${breaks.id}`);
    expect((await completedCheck('kici/gh-clone/job/read', realSha)).conclusion).toBe('success');
    expect((await completedCheck('kici/gh-clone', realSha)).conclusion).toBe('success');
    // One check per name: nothing was created twice.
    const names = [...github.checkRuns.values()].filter((c) => c.head_sha === realSha).map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
  }, 60_000);

  it('an operator triggers a run of one repository of the App by branch; the refusals say why', async () => {
    github.setBranch('acme/app', 'clone', realSha);
    github.setCloneUrl('acme/app', `${git.url}/acme/app.git`);
    const { sources } = await inst.api.call<{ sources: { id: string; kind: string }[] }>('GET', '/sources');
    const source = sources.find((s) => s.kind === 'github')!.id;
    const reply = await inst.adminJson<{ sha: string; branch: string; runs: { id: string; workflow: string }[] }>(['runs', 'trigger', '--source', source, '--ref', 'clone', '--repo', 'acme/app']);
    expect(reply).toMatchObject({ sha: realSha, branch: 'clone' });
    const clone = reply.runs.find((r) => r.workflow === 'gh-clone')!;
    expect((await inst.waitForEnd(clone.id)).status).toBe('success');
    await inst.waitForLog(clone.id, 'hello over https');
    const noRepo = await inst.admin(['runs', 'trigger', '--source', source, '--ref', 'clone']);
    expect(noRepo.code).not.toBe(0);
    expect(noRepo.err).toContain('--repo owner/name');
    const noBranch = await inst.admin(['runs', 'trigger', '--source', source, '--ref', 'no-such-branch', '--repo', 'acme/app']);
    expect(noBranch.code).not.toBe(0);
    expect(noBranch.err).toContain('no branch "no-such-branch" in acme/app');
  }, 60_000);

  it('a release names no commit: it runs at the commit its tag names now', async () => {
    github.setTag('acme/app', 'v1.0.0', realSha);
    const id = await deliver('release', { action: 'published', release: { tag_name: 'v1.0.0', name: 'v1.0.0' }, repository: repository(), installation: { id: INSTALLATION } });
    expect(await delivery(id)).toMatchObject({ status: 'processed', matchedCount: 1 });
    const run = await runOf('gh-release', realSha);
    expect((await inst.waitForEnd(run.id)).status).toBe('success');
    await inst.waitForLog(run.id, `release of refs/tags/v1.0.0 at ${realSha}`);
  }, 60_000);

  it("a pull request's changed files come from the API: a paths filter decides", async () => {
    github.setPullFiles('acme/app', 7, ['src/index.ts', 'README.md']);
    github.setPullFiles('acme/app', 8, ['docs/guide.md']);
    expect(await delivery(await deliver('pull_request', pullRequest(7, OCTOCAT, realSha)))).toMatchObject({ status: 'processed', matchedCount: 1 });
    const [hits, misses] = [await counter('kici_lockfile_cache_hits_total'), await counter('kici_lockfile_cache_misses_total')];
    const contentReads = github.count('GET', /\/contents\//);
    expect(await delivery(await deliver('pull_request', pullRequest(8, OCTOCAT, realSha)))).toMatchObject({ status: 'processed', matchedCount: 0 });
    expect(github.count('GET', /\/pulls\/8\/files/)).toBe(1);
    // The same commit's lock file again: from the client's cache, counted as a hit.
    expect(github.count('GET', /\/contents\//)).toBe(contentReads);
    expect(await counter('kici_lockfile_cache_hits_total')).toBe(hits + 1);
    expect(await counter('kici_lockfile_cache_misses_total')).toBe(misses);
  }, 60_000);

  it("a pull request runs its head's lock file only for an author with write access; anyone else gets the base's", async () => {
    const head = 'e'.repeat(40);
    const forked = { schemaVersion: 1, workflows: [{ ...REAL_LOCKFILE.workflows.find((w) => w.name === 'gh-paths')!, name: 'gh-from-head' }] };
    github.setFile('acme/app', head, '.kici/kici.lock.json', JSON.stringify(forked));
    github.setPullFiles('acme/app', 9, ['src/changed.ts']);
    github.setPullFiles('acme/app', 10, ['src/changed.ts']);
    github.setPermission('acme/app', 'reader', 21, 'read');
    github.setPermission('acme/app', 'writer', 22, 'write');
    const fromReader = await delivery(await deliver('pull_request', pullRequest(9, { login: 'reader', id: 21 }, head)));
    expect(fromReader).toMatchObject({ status: 'processed', matchedCount: 1 });
    expect(matchedWorkflows(fromReader)).toEqual(['gh-paths']);
    const fromWriter = await delivery(await deliver('pull_request', pullRequest(10, { login: 'writer', id: 22 }, head)));
    expect(matchedWorkflows(fromWriter)).toEqual(['gh-from-head']);
    // Either way the head's code is what runs, and the run says who wrote it.
    expect((await runOf('gh-paths', head)).id).toBeDefined();
    expect((await runOf('gh-from-head', head)).id).toBeDefined();
  }, 60_000);

  it("a stranger's pull request is held at an environment asking for a known author; a reader's runs", async () => {
    github.setPermission('acme/app', 'reader', 21, 'read');
    github.setPullFiles('acme/app', 11, ['docs/preview.md']);
    github.setPullFiles('acme/app', 12, ['docs/preview.md']);
    expect(await delivery(await deliver('pull_request', pullRequest(11, { login: 'stranger', id: 31 }, realSha, 'preview-11')))).toMatchObject({ status: 'processed', matchedCount: 1 });
    const strangers = (await runsOf('gh-preview'))[0]!;
    const held = await inst.waitFor(strangers.id, (r) => (r as RunDetail & { holds?: { gate: string; status: string }[] }).holds?.[0]?.status === 'pending', 'the stranger\'s publish to be held');
    expect((held as RunDetail & { holds: { gate: string }[] }).holds[0]!.gate).toBe('trust');
    expect(await delivery(await deliver('pull_request', pullRequest(12, { login: 'reader', id: 21 }, realSha, 'preview-12')))).toMatchObject({ status: 'processed', matchedCount: 1 });
    const readers = (await runsOf('gh-preview')).find((r) => r.id !== strangers.id)!;
    expect((await inst.waitForEnd(readers.id)).status).toBe('success');
  }, 60_000);
});

function matchedWorkflows(d: Delivery): string[] {
  return Array.isArray(d.trace) ? d.trace.filter((t) => t.matched).map((t) => t.workflowName!) : [];
}


/** The check run of that name on `sha`, once completed (the reporter works after the run, never in its way). */
async function completedCheck(name: string, sha: string, ready: (c: RecordedCheckRun) => boolean = () => true): Promise<RecordedCheckRun> {
  for (;;) {
    const check = [...github.checkRuns.values()].find((c) => c.name === name && c.head_sha === sha);
    if (check?.status === 'completed' && ready(check)) return check;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function counter(name: string): Promise<number> {
  const text = await (await fetch(`${inst.orch.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.split(' ').pop()) : 0;
}

async function runsOf(workflow: string): Promise<{ id: string }[]> {
  const { runs } = await inst.api.call<{ runs: { id: string; workflow: string }[] }>('GET', '/runs');
  return runs.filter((r) => r.workflow === workflow);
}

async function runOf(workflow: string, sha: string): Promise<{ id: string }> {
  const { runs } = await inst.api.call<{ runs: { id: string; workflow: string; sha: string }[] }>('GET', '/runs');
  const run = runs.find((r) => r.workflow === workflow && r.sha === sha);
  expect(run).toBeDefined();
  return run!;
}
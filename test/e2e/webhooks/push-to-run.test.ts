import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Installation, kiciAdmin, kiciAdminJson, type GitSource, type RunDetail } from '../harness/index.js';

/**
 * The whole webhook path with real processes: git push → post-receive hook → signed delivery →
 * lock file at the sha → run → agent → logs, read back with kici-admin.
 */
const LOCKFILE = {
  schemaVersion: 1,
  workflows: [
    {
      name: 'ci',
      triggers: [{ _type: 'push', branches: ['main', 'feature/*'], paths: ['src/**', '.kici/**'] }],
      jobs: [
        {
          name: 'build',
          steps: [
            { name: 'compile', run: 'echo "compiling $KICI_REPO at $KICI_SHA"; echo "version=1.0.$KICI_ATTEMPT-e2e" >> "$KICI_OUTPUT"' },
          ],
        },
        {
          name: 'test',
          needs: ['build'],
          matrix: { node: ['20', '22'], shard: ['1', '2'] },
          steps: [
            { name: 'check', run: 'echo "node=$KICI_MATRIX_NODE shard=$KICI_MATRIX_SHARD build=$KICI_NEEDS_BUILD_VERSION"' },
            { name: 'needs-file', run: 'echo "needs-file: $(tr -d \'\\n\' < "$KICI_NEEDS_FILE")"' },
          ],
        },
      ],
    },
  ],
};

let inst: Installation;
let source: GitSource;

beforeAll(async () => {
  inst = await Installation.create();
  await inst.startAgent({ maxConcurrency: 4 });
  source = await inst.gitSource();
});

afterAll(async () => {
  await inst?.close();
});

describe('push to finished run (real orchestrator, agent, git and kici-admin)', () => {
  let sha: string;
  let run: RunDetail;

  it('runs build then a 2×2 test matrix to success, passing the build output downstream', async () => {
    sha = source.repo.commitLockfile(LOCKFILE, { 'src/app.txt': 'one\n', 'README.md': '# e2e\n' });
    source.repo.push('main');
    const summary = await inst.runForPush(source, sha);
    run = await inst.waitForTerminal(summary.id);
    expect(run.status, JSON.stringify(run.jobs.map((j) => [j.name, j.status, j.error]))).toBe('success');
    expect(run.sha).toBe(sha);
    expect(run.branch).toBe('main');
    expect(run.workflow).toBe('ci');
    const names = run.jobs.map((j) => j.name).sort();
    expect(names).toEqual(['build', 'test (20, 1)', 'test (20, 2)', 'test (22, 1)', 'test (22, 2)']);
    for (const job of run.jobs) {
      expect(job.status, job.name).toBe('success');
      expect(job.steps.every((s) => s.status === 'success'), job.name).toBe(true);
    }
    expect(run.jobs.find((j) => j.name === 'build')!.outputs).toEqual({ version: '1.0.1-e2e' });
  });

  it('kici-admin runs show --json reports every job and step', async () => {
    const shown = await kiciAdminJson<RunDetail>(inst.orchestrator.url, inst.orchestrator.adminToken, ['runs', 'show', run.id]);
    expect(shown.id).toBe(run.id);
    expect(shown.status).toBe('success');
    expect(shown.jobs).toHaveLength(5);
    const test = shown.jobs.filter((j) => j.name.startsWith('test ('));
    expect(test.every((j) => j.steps.map((s) => s.name).join(',') === 'check,needs-file')).toBe(true);
    const build = shown.jobs.find((j) => j.name === 'build')!;
    expect(build.steps).toEqual([expect.objectContaining({ name: 'compile', status: 'success', exitCode: 0 })]);
  });

  it('kici-admin runs show numbers steps from 1, as the log prefixes do', async () => {
    const r = await kiciAdmin(inst.orchestrator.url, inst.orchestrator.adminToken, ['runs', 'show', run.id]);
    expect(r.code, r.stderr).toBe(0);
    const test = r.stdout.slice(r.stdout.indexOf('job test (20, 1)'));
    expect(test).toMatch(/^job test \(20, 1\): success\n {2}1\. check: success exit 0\n {2}2\. needs-file: success exit 0\n/);
  });

  it('kici-admin runs logs --follow prints every job’s lines, with the needs output and KICI_NEEDS_FILE', async () => {
    const r = await kiciAdmin(inst.orchestrator.url, inst.orchestrator.adminToken, ['runs', 'logs', run.id, '--follow']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`[build #1 compile] compiling origin at ${sha}`);
    for (const node of ['20', '22']) {
      for (const shard of ['1', '2']) {
        expect(r.stdout).toContain(`[test (${node}, ${shard}) #1 check] node=${node} shard=${shard} build=1.0.1-e2e`);
      }
    }
    expect(r.stdout).toContain('[test (20, 1) #2 needs-file] needs-file: ');
    const needsLines = r.stdout.split('\n').filter((l) => l.includes('] needs-file: '));
    expect(needsLines).toHaveLength(4);
    for (const line of needsLines) {
      const needs = JSON.parse(line.slice(line.indexOf('needs-file: ') + 'needs-file: '.length));
      expect(needs.build.status).toBe('success');
      expect(needs.build.outputs).toEqual({ version: '1.0.1-e2e' });
    }
  });

  it('the same push delivered again is a duplicate and starts no second run', async () => {
    const hook = path.join(source.repo.origin, 'hooks', 'post-receive');
    const out = execFileSync(hook, { cwd: source.repo.origin, input: `${'0'.repeat(40)} ${sha} refs/heads/main\n`, encoding: 'utf8' });
    expect(out).toMatch(/delivered refs\/heads\/main \(200\)/);
    expect((await inst.runsForPush(source, sha)).map((r) => r.id)).toEqual([run.id]);
  });

  it('a push that changes nothing under the trigger paths starts no run', async () => {
    const before = (await inst.runs()).length;
    const readmeSha = source.repo.commit({ 'README.md': '# e2e, edited\n' }, 'docs only');
    source.repo.push('main');
    const delivery = await inst.processedDelivery(source, readmeSha);
    expect(delivery.status).toBe('processed');
    expect(delivery.matchedCount).toBe(0);
    expect(await inst.runsForPush(source, readmeSha)).toEqual([]);
    expect((await inst.runs()).length).toBe(before);
  });

  it('a branch no trigger names starts nothing', async () => {
    source.repo.checkout('other', true);
    const otherSha = source.repo.commit({ 'src/other.txt': 'x\n' }, 'on other');
    source.repo.push('other');
    source.repo.checkout('main');
    const delivery = await inst.processedDelivery(source, otherSha, 'refs/heads/other');
    expect(delivery.matchedCount).toBe(0);
    expect(await inst.runsForPush(source, otherSha, 'refs/heads/other')).toEqual([]);
  });

  it('a deleted branch starts nothing, though the branch matched when it was pushed', async () => {
    source.repo.checkout('feature/x', true);
    const featureSha = source.repo.commit({ 'src/feature.txt': 'x\n' }, 'feature');
    source.repo.push('feature/x');
    source.repo.checkout('main');
    const featureRun = await inst.runForPush(source, featureSha, 'refs/heads/feature/x');
    expect((await inst.waitForTerminal(featureRun.id)).status).toBe('success');

    const before = (await inst.runs()).length;
    source.repo.deleteRemoteBranch('feature/x');
    const zero = '0'.repeat(40);
    const delivery = await inst.processedDelivery(source, zero, 'refs/heads/feature/x');
    expect(delivery.matchedCount).toBe(0);
    expect(await inst.runsForPush(source, zero, 'refs/heads/feature/x')).toEqual([]);
    expect((await inst.runs()).length).toBe(before);
  });

  it('a lock file with a schema error gives one failed run whose error names the field path', async () => {
    const broken = structuredClone(LOCKFILE) as { workflows: { jobs: { steps: Record<string, unknown>[] }[] }[] };
    delete broken.workflows[0].jobs[1].steps[0].run;
    const badSha = source.repo.commitLockfile(broken, {}, 'break the lock file');
    source.repo.push('main');
    const delivery = await inst.processedDelivery(source, badSha);
    expect(delivery.status).toBe('lockfile_corrupt');
    const runs = await inst.runsForPush(source, badSha);
    expect(runs).toHaveLength(1);
    const failed = await inst.waitForTerminal(runs[0].id);
    expect(failed.status).toBe('failed');
    expect(failed.error).toContain('workflows[0].jobs[1].steps[0].run');
  });

  it('a commit without a lock file starts no run and is logged as lockfile_missing', async () => {
    const goneSha = source.repo.commit({ '.kici/kici.lock.json': null, 'src/app.txt': 'two\n' }, 'drop the lock file');
    source.repo.push('main');
    const delivery = await inst.processedDelivery(source, goneSha);
    expect(delivery.status).toBe('lockfile_missing');
    expect(await inst.runsForPush(source, goneSha)).toEqual([]);
  });
});

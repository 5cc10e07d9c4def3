import { renameSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Installation, kiciAdmin, type GitSource, type RunSummary } from '../harness/index.js';
import { waitUntil } from '../harness/wait.js';

/**
 * Pushes that are never lost, the orchestrator's half: a branch whose tip moved while no delivery
 * came (kici down, a hook missing) gets the runs of a push of its newest commit, from the start-
 * time reconcile, the periodic one, or `kici-admin source redeliver <id>`; and a push delivered by
 * more than one path (the hook, its spool flushed later, a reconcile) runs once. Real orchestrator
 * process (stopped and started on the same port), real git, the real hook and kici-admin.
 */
const LOCKFILE = {
  schemaVersion: 1,
  workflows: [
    { name: 'ci', triggers: [{ _type: 'push', branches: ['*'] }], jobs: [{ name: 'build', steps: [{ name: 'compile', run: 'true' }] }] },
    // Matches only a push whose changed files include src/a1.txt: shows reconcile pushes from the recorded tip.
    { name: 'a1-changed', triggers: [{ _type: 'push', branches: ['main'], paths: ['src/a1.txt'] }], jobs: [{ name: 'check', steps: [{ name: 'check', run: 'true' }] }] },
  ],
};

/** How many runs of each workflow each commit has, e.g. `{ 'ci@<sha>': 1 }`. */
function runsPerCommit(runs: RunSummary[], source: GitSource): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of runs.filter((r) => r.sourceId === source.id)) counts[`${r.workflow}@${r.sha}`] = (counts[`${r.workflow}@${r.sha}`] ?? 0) + 1;
  return counts;
}

async function runsOf(inst: Installation, source: GitSource, sha: string, count: number): Promise<RunSummary[]> {
  return waitUntil(`${count} run(s) at ${sha.slice(0, 8)}`, async () => {
    const runs = (await inst.runs()).filter((r) => r.sourceId === source.id && r.sha === sha);
    return runs.length >= count ? runs : undefined;
  }, { describe: async () => `${JSON.stringify((await inst.eventLog(source)).map((d) => [d.id, d.status, d.matchedCount]))}\n${inst.orchestrator.tail(10)}` });
}

describe('reconcile after downtime (real orchestrator, git, hook and kici-admin)', () => {
  let inst: Installation;
  let source: GitSource;

  beforeAll(async () => {
    // A long interval: only the start-time reconcile and the ones asked for run in this test.
    inst = await Installation.create({ env: { KICI_GIT_RECONCILE_INTERVAL_MS: '3600000' } });
    source = await inst.gitSource();
  });

  afterAll(async () => {
    await inst?.close();
  });

  it('runs each moved branch once for its newest commit at start, and the spool flushed later adds only the push in between', async () => {
    const { repo } = source;
    const c0 = repo.commitLockfile(LOCKFILE, { 'src/base.txt': 'base\n' });
    repo.push('main');
    await runsOf(inst, source, c0, 1);
    repo.checkout('feature', true);
    const f0 = repo.commit({ 'src/feature.txt': 'feature\n' });
    repo.push('feature');
    await runsOf(inst, source, f0, 1);
    repo.checkout('main');

    // First look at the source: its tips are recorded and nothing runs.
    const { url, adminToken } = inst.orchestrator;
    const first = await kiciAdmin(url, adminToken, ['source', 'redeliver', source.id]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`first look at ${source.id}`);
    expect(first.stdout).toContain('no branch');

    await inst.orchestrator.stop();
    const a1 = repo.commit({ 'src/a1.txt': 'one\n' });
    repo.push('main');
    const a2 = repo.commit({ 'src/a2.txt': 'two\n' });
    repo.push('main');
    repo.checkout('feature');
    const b1 = repo.commit({ 'src/b1.txt': 'one\n' });
    repo.push('feature');
    repo.checkout('main');

    // Nobody asks: the reconcile at start finds both branches moved and runs their newest commits.
    await inst.orchestrator.start();
    const onMain = await runsOf(inst, source, a2, 2);
    const onFeature = await runsOf(inst, source, b1, 1);
    expect(onMain.map((r) => [r.workflow, r.deliveryId]).sort()).toEqual([
      // a1.txt changed between the recorded tip and a2: the paths filter sees it.
      ['a1-changed', `reconcile:${source.id}:refs/heads/main:${a2}`],
      ['ci', `reconcile:${source.id}:refs/heads/main:${a2}`],
    ]);
    expect(onFeature.map((r) => [r.workflow, r.deliveryId])).toEqual([['ci', `reconcile:${source.id}:refs/heads/feature:${b1}`]]);
    expect((await inst.runs()).filter((r) => r.sha === a1)).toEqual([]);

    // The hook kept the three pushes; flushing them runs a1 (never run) and recognises the others.
    const flushed = await kiciAdmin(url, adminToken, ['source', 'redeliver', source.id, '--repo', repo.origin]);
    expect(flushed.code, flushed.stderr).toBe(0);
    expect(flushed.stdout.match(/kici: delivered refs\/heads\/\S+ \(202\)/g)).toHaveLength(3);
    await runsOf(inst, source, a1, 2);
    const duplicateOfA2 = await inst.processedDelivery(source, a2);
    expect(duplicateOfA2).toMatchObject({ status: 'duplicate', matchedCount: 0 });
    expect(JSON.stringify(duplicateOfA2.trace)).toContain(`duplicates delivery reconcile:${source.id}:refs/heads/main:${a2}`);
    expect(await inst.processedDelivery(source, b1, 'refs/heads/feature')).toMatchObject({ status: 'duplicate', matchedCount: 0 });
    expect(await inst.processedDelivery(source, a1)).toMatchObject({ status: 'processed', matchedCount: 2 });

    // Asking again changes nothing: no commit ever ran twice.
    const again = await kiciAdmin(url, adminToken, ['--json', 'source', 'redeliver', source.id]);
    expect(again.code, again.stderr).toBe(0);
    const after = runsPerCommit(await inst.runs(), source);
    expect(after).toEqual({
      [`ci@${c0}`]: 1,
      [`ci@${f0}`]: 1,
      [`ci@${a1}`]: 1,
      [`a1-changed@${a1}`]: 1,
      [`ci@${a2}`]: 1,
      [`a1-changed@${a2}`]: 1,
      [`ci@${b1}`]: 1,
    });
  });

  it('source redeliver <id> runs a branch whose delivery never came, and says which', async () => {
    const { repo } = source;
    // No hook: the push reaches the repository and nothing tells kici.
    const hook = path.join(repo.origin, 'hooks', 'post-receive');
    renameSync(hook, `${hook}.off`);
    try {
      repo.checkout('topic', true);
      repo.commit({ 'src/topic-1.txt': '1\n' });
      const t2 = repo.commit({ 'src/topic-2.txt': '2\n' });
      repo.push('topic');
      repo.checkout('main');

      const { url, adminToken } = inst.orchestrator;
      const asked = await kiciAdmin(url, adminToken, ['source', 'redeliver', source.id]);
      expect(asked.code, asked.stderr).toBe(0);
      const runs = (await inst.runs()).filter((r) => r.sha === t2);
      expect(runs.map((r) => r.workflow)).toEqual(['ci']);
      expect(asked.stdout).toContain(`refs/heads/topic ${t2.slice(0, 12)} (delivery reconcile:${source.id}:refs/heads/topic:${t2}): 1 run(s): ${runs[0]!.id}`);
      // A new branch runs its newest commit only.
      expect(runsPerCommit(await inst.runs(), source)[`ci@${t2}`]).toBe(1);
      expect(Object.keys(runsPerCommit(await inst.runs(), source)).filter((k) => k.startsWith('ci@')).length).toBe(6);
    } finally {
      renameSync(`${hook}.off`, hook);
    }
  });
});

describe('the periodic reconcile (real orchestrator)', () => {
  let inst: Installation;

  beforeAll(async () => {
    inst = await Installation.create({ env: { KICI_GIT_RECONCILE_INTERVAL_MS: '300' } });
  });

  afterAll(async () => {
    await inst?.close();
  });

  it('runs a push no delivery brought within the interval, nobody asking', async () => {
    const source = await inst.gitSource();
    const { repo } = source;
    const hook = path.join(repo.origin, 'hooks', 'post-receive');
    renameSync(hook, `${hook}.off`);
    repo.commitLockfile(LOCKFILE);
    repo.push('main');
    // Whether the duty saw the source before or after that push, its baseline is taken from here on.
    const asked = await kiciAdmin(inst.orchestrator.url, inst.orchestrator.adminToken, ['source', 'redeliver', source.id]);
    expect(asked.code, asked.stderr).toBe(0);
    const c1 = repo.commit({ 'src/next.txt': 'next\n' });
    repo.push('main');
    const [run] = await runsOf(inst, source, c1, 1);
    expect(run!.deliveryId).toBe(`reconcile:${source.id}:refs/heads/main:${c1}`);
  });
});

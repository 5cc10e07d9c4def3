import { spawnSync } from 'node:child_process';
import { copyFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Installation, kiciAdmin, type GitSource } from '../harness/index.js';

/**
 * A push made while the orchestrator is down is not lost: the hook installed by kici-admin keeps
 * it in the repository, and once the orchestrator is back `kici-admin source redeliver` sends it
 * and the run starts. Real orchestrator process (stopped and started on the same port), real git
 * and the real kici-admin binary.
 */
const LOCKFILE = {
  schemaVersion: 1,
  workflows: [{ name: 'ci', triggers: [{ _type: 'push', branches: ['main'] }], jobs: [{ name: 'build', steps: [{ name: 'compile', run: 'true' }] }] }],
};

let inst: Installation;
let source: GitSource;

beforeAll(async () => {
  // No reconcile but the one at start, which sees this source for the first time and only records
  // its tips: the redeliver below is what runs the push (reconcile.test.ts covers reconcile itself).
  inst = await Installation.create({ env: { KICI_GIT_RECONCILE_INTERVAL_MS: '3600000' } });
  source = await inst.gitSource();
});

afterAll(async () => {
  await inst?.close();
});

/** `git push origin main`, returning what it printed on stderr, where the hook's lines arrive. */
function pushMain(): string {
  const result = spawnSync('git', ['push', 'origin', 'main'], { cwd: source.repo.work, encoding: 'utf8', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1' } });
  if (result.status !== 0) throw new Error(`git push failed: ${result.stderr}`);
  return result.stderr;
}

const spool = () => path.join(source.repo.origin, 'kici-spool');

describe('a push while the orchestrator is down (real orchestrator, git, hook and kici-admin)', () => {
  it('is kept by the hook and, after redeliver, becomes a run; a repeat of it is recognised', async () => {
    await inst.orchestrator.stop();
    const sha = source.repo.commitLockfile(LOCKFILE, { 'src/app.txt': 'pushed while down\n' });
    const output = pushMain();
    expect(output).toContain('kici: delivery of refs/heads/main failed (HTTP 000)');
    expect(output).toContain('kici: 1 undelivered push(es) kept for later');
    const [kept] = readdirSync(spool());
    const copy = path.join(inst.dir, 'kept-delivery');
    copyFileSync(path.join(spool(), kept), copy);

    await inst.orchestrator.start();
    expect(await inst.runsForPush(source, sha)).toEqual([]);
    const { url, adminToken } = inst.orchestrator;
    const sent = await kiciAdmin(url, adminToken, ['source', 'redeliver', source.id, '--repo', source.repo.origin]);
    expect(sent.stdout).toContain('kici: delivered refs/heads/main (202)');
    expect(sent.code, sent.stderr).toBe(0);
    expect(readdirSync(spool())).toEqual([]);
    const run = await inst.runForPush(source, sha);
    expect(run.deliveryId).toBe(`${source.id}:refs/heads/main:${sha}`);

    // The same file sent again carries the same delivery id: the orchestrator answers duplicate.
    copyFileSync(copy, path.join(spool(), kept));
    const again = await kiciAdmin(url, adminToken, ['source', 'redeliver', source.id, '--repo', source.repo.origin]);
    expect(again.stdout).toContain('kici: delivered refs/heads/main (200)');
    expect(again.code).toBe(0);
    expect((await inst.runsForPush(source, sha)).map((r) => r.id)).toEqual([run.id]);
  });
});

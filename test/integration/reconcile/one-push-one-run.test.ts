import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrchestratorRig, waitFor, type Frame, type GitOrigin } from '../server/orchestrator-rig.js';

/**
 * One rule for duplicates across paths, in process (PGlite, a real git origin): a push delivered
 * by the hook and by a reconcile gets its runs once, whichever came first; the later one is in the
 * event log as `duplicate`, naming the delivery that has the runs.
 */
const GIT_ENV = { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 'T', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 'T', GIT_COMMITTER_EMAIL: 't@example.invalid' };

let rig: OrchestratorRig;
let source: GitOrigin;
let work: string;

/** A new commit on main, pushed to the origin with no hook: kici hears of it only if told. */
function pushCommit(file: string): string {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: work, env: GIT_ENV, encoding: 'utf8' }).trim();
  execFileSync('sh', ['-c', `echo ${file} > ${file}`], { cwd: work });
  git('add', '-A');
  git('commit', '--quiet', '-m', file);
  git('push', '--quiet', 'origin', 'main');
  return git('rev-parse', 'HEAD');
}

interface Reply extends Frame {
  baseline: boolean;
  refs: { ref: string; sha: string; deliveryId: string; status: string; runs: string[]; note?: string }[];
}

const reconcile = () => rig.api('POST', `/sources/${source.id}/reconcile`) as Promise<Reply>;
const hookId = (sha: string) => `${source.id}:refs/heads/main:${sha}`;

async function processed(deliveryId: string) {
  return waitFor(`delivery ${deliveryId} processed`, async () => {
    const d = await rig.orch.store.deliveries.get('acme', deliveryId);
    return d && d.status !== 'received' ? d : undefined;
  });
}

beforeAll(async () => {
  // An hour between reconciles: only the ones this test asks for run.
  rig = await OrchestratorRig.start({ KICI_GIT_RECONCILE_INTERVAL_MS: '3600000' });
  source = await rig.gitSource();
  work = path.join(rig.tmp, 'repo-work');
  execFileSync('git', ['remote', 'add', 'origin', path.join(rig.tmp, 'repo-origin.git')], { cwd: work, env: GIT_ENV });
});

afterAll(async () => {
  await rig?.close();
});

describe('one push, one set of runs', () => {
  it('a first reconcile only records the tips', async () => {
    expect(await reconcile()).toEqual({ sourceId: source.id, baseline: true, refs: [] });
    expect(await rig.orch.store.runs.list({})).toEqual([]);
  });

  it('reconcile first: the hook’s delivery of the same commit is a duplicate', async () => {
    const sha = pushCommit('one.txt');
    const reply = await reconcile();
    expect(reply.baseline).toBe(false);
    expect(reply.refs).toHaveLength(1);
    const [moved] = reply.refs;
    expect(moved).toMatchObject({ ref: 'refs/heads/main', sha, deliveryId: `reconcile:${source.id}:refs/heads/main:${sha}`, status: 'processed' });
    expect(moved!.runs).toHaveLength(1);

    expect((await rig.push({ ...source, sha }, hookId(sha))).status).toBe(202);
    const late = await processed(hookId(sha));
    expect(late).toMatchObject({ status: 'duplicate', matchedCount: 0 });
    expect((late.trace as { summary: string }).summary).toBe(`duplicates delivery ${moved!.deliveryId}, which already has the runs of refs/heads/main at ${sha}`);
    expect((await rig.orch.store.runs.list({})).filter((r) => r.sha === sha).map((r) => r.id)).toEqual(moved!.runs);
  });

  it('hook first: a reconcile afterwards finds the branch has not moved', async () => {
    const sha = pushCommit('two.txt');
    expect((await rig.push({ ...source, sha }, hookId(sha))).status).toBe(202);
    expect(await processed(hookId(sha))).toMatchObject({ status: 'processed', matchedCount: 1 });
    expect(await reconcile()).toEqual({ sourceId: source.id, baseline: false, refs: [] });
    expect((await rig.orch.store.runs.list({})).filter((r) => r.sha === sha)).toHaveLength(1);
  });

  it('answers 404 for an unknown source and 400 for a source without branches', async () => {
    await expect(rig.api('POST', '/sources/src_nope/reconcile')).rejects.toThrow(/404/);
    const generic = await rig.api('POST', '/sources', { kind: 'generic', orgId: 'acme', name: 'hooks', verification: 'none' });
    await expect(rig.api('POST', `/sources/${generic.id as string}/reconcile`)).rejects.toThrow(/400 .*not_a_git_source/);
  });
});

/**
 * The run list and run view the web view is built on (issue 20): runs filtered by source (its id
 * or its name), branch and status, paged back with `before`; each run says what triggered it and
 * through which source; each job names the jobs it needs, its lock-file name and matrix values,
 * and the node of its agent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Installation, type RunDetail } from './fixture.js';

const LOCKFILE = {
  schemaVersion: 1,
  workflows: [
    {
      name: 'ci',
      triggers: [{ _type: 'push', branches: ['main', 'feature'] }],
      jobs: [
        { name: 'build', checkout: false, steps: [{ run: 'true' }] },
        { name: 'test', checkout: false, needs: ['build'], matrix: { node: ['20', '22'] }, steps: [{ run: 'true' }] },
      ],
    },
  ],
};

interface ListedRun {
  id: string;
  sourceId: string;
  sourceName: string | null;
  trigger: string | null;
  branch: string | null;
  createdAt: string;
}
type JobView = RunDetail['jobs'][number] & { agentId: string | null; baseName: string; matrix: Record<string, unknown> | null; needs: string[]; node: string | null; createdAt: string; dispatchedAt: string | null };

let inst: Installation;
let app: string;
let lib: string;
/** Oldest first: app@main, app@feature, lib@main. */
const made: string[] = [];

const list = async (query: string) => (await inst.api.call<{ runs: ListedRun[] }>('GET', `/runs?${query}`)).runs;

beforeAll(async () => {
  inst = await Installation.start('kici-run-list-');
  inst.repo.pushLockfile(LOCKFILE);
  inst.repo.pushLockfile(LOCKFILE, 'feature');
  app = await inst.addSource('app');
  lib = await inst.addSource('lib');
  await inst.startAgent();
  for (const [sourceId, ref] of [[app, 'main'], [app, 'feature'], [lib, 'main']]) {
    const reply = await inst.api.call<{ runs: { id: string }[] }>('POST', '/runs/trigger', { sourceId, ref });
    expect(reply.runs).toHaveLength(1);
    made.push(reply.runs[0].id);
    await inst.waitForEnd(reply.runs[0].id);
  }
}, 90_000);

afterAll(async () => {
  await inst?.stop();
});

describe('GET /runs filters and paging', () => {
  it('lists newest first, each run with its trigger and its source by name', async () => {
    const runs = await list('limit=10');
    expect(runs.map((r) => r.id)).toEqual([...made].reverse());
    expect(runs.map((r) => [r.sourceName, r.trigger, r.branch])).toEqual([
      ['lib', 'manual', 'main'],
      ['app', 'manual', 'feature'],
      ['app', 'manual', 'main'],
    ]);
  });

  it('filters by source id or name, by branch, and by both', async () => {
    expect((await list(`source=${app}`)).map((r) => r.id)).toEqual([made[1], made[0]]);
    expect((await list('source=app')).map((r) => r.id)).toEqual([made[1], made[0]]);
    expect((await list('source=lib')).map((r) => r.id)).toEqual([made[2]]);
    expect(await list('source=nothing-by-this-name')).toEqual([]);
    expect((await list('branch=main')).map((r) => r.id)).toEqual([made[2], made[0]]);
    expect((await list('source=app&branch=feature')).map((r) => r.id)).toEqual([made[1]]);
    expect((await list('status=success&branch=feature')).map((r) => r.id)).toEqual([made[1]]);
  });

  it('pages back from the last row with before', async () => {
    const first = await list('limit=2');
    expect(first.map((r) => r.id)).toEqual([made[2], made[1]]);
    const next = await list(`limit=2&before=${encodeURIComponent(first[1].createdAt)}`);
    expect(next.map((r) => r.id)).toEqual([made[0]]);
  });

  it('kici-admin runs list takes the same filters, and a before that is not a time is refused naming the field', async () => {
    const listed = await inst.adminJson<ListedRun[]>(['runs', 'list', '--source', 'app', '--branch', 'feature']);
    expect(listed.map((r) => r.id)).toEqual([made[1]]);
    const bad = await inst.admin(['runs', 'list', '--before', 'yesterday']);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/before: .*\(HTTP 400\)/);
  });
});

describe('GET /agents', () => {
  it('scope=cluster adds the agents other nodes hold (none on a node alone); another scope is a 400', async () => {
    const here = await inst.api.call<{ agents: { id: string }[] }>('GET', '/agents');
    expect(here.agents).toHaveLength(1);
    const cluster = await inst.api.call<{ agents: { id: string }[] }>('GET', '/agents?scope=cluster');
    expect(cluster.agents.map((a) => a.id)).toEqual(here.agents.map((a) => a.id));
    const bad = await inst.api.raw('GET', '/agents?scope=galaxy');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toBe('scope: node or cluster');
  });
});

describe('GET /runs/:id jobs', () => {
  it('name what they need, their lock-file name and matrix values, their agent and its node', async () => {
    const run = await inst.run(made[0]);
    const jobs = run.jobs as JobView[];
    const build = jobs.find((j) => j.name === 'build')!;
    expect(build).toMatchObject({ baseName: 'build', matrix: null, needs: [] });
    const cells = jobs.filter((j) => j.baseName === 'test');
    expect(cells.map((j) => j.matrix).sort((a, b) => Number(a!.node) - Number(b!.node))).toEqual([{ node: '20' }, { node: '22' }]);
    for (const cell of cells) expect(cell.needs).toEqual(['build']);
    for (const job of jobs) {
      expect(job.agentId).toBeTruthy();
      expect(job.node).toMatch(/^node-/);
      expect(Date.parse(job.dispatchedAt!)).toBeGreaterThanOrEqual(Date.parse(job.createdAt));
    }
  });
});

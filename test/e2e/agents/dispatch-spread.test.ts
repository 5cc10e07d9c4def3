import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Installation, type GitSource } from '../harness/index.js';

/** DESIGN §5 step 5: jobs are spread over agents by free slots, not packed onto the first one. */
let inst: Installation;
let source: GitSource;

beforeAll(async () => {
  inst = await Installation.create();
  // startAgent waits for each to register: both must be there before the push, or the first one
  // could rightly take everything.
  for (const name of ['left', 'right']) {
    await inst.startAgent({ name, maxConcurrency: 2 });
  }
  source = await inst.gitSource();
});

afterAll(async () => {
  await inst?.close();
});

describe('dispatch over two agents with two slots each', () => {
  it('gives a 4-child matrix to both agents, two apiece', async () => {
    const sha = source.repo.commitLockfile({
      schemaVersion: 1,
      workflows: [
        {
          name: 'spread',
          triggers: [{ _type: 'push', branches: ['main'] }],
          jobs: [{ name: 'par', matrix: { n: ['1', '2', '3', '4'] }, steps: [{ run: 'echo "child $KICI_MATRIX_N"; sleep 1' }] }],
        },
      ],
    });
    source.repo.push('main');
    const run = await inst.waitForTerminal((await inst.runForPush(source, sha)).id);
    expect(run.status).toBe('success');
    expect(run.jobs).toHaveLength(4);
    const perAgent = new Map<string, number>();
    for (const job of run.jobs) {
      expect(job.status).toBe('success');
      expect(job.agentId).toBeTruthy();
      perAgent.set(job.agentId!, (perAgent.get(job.agentId!) ?? 0) + 1);
    }
    expect(perAgent.size, JSON.stringify(run.jobs.map((j) => [j.name, j.agentId]))).toBe(2);
    // Spread by free slots: 2+2 free → A, B, then one more each (never 3 on one while the other has room).
    expect([...perAgent.values()].sort()).toEqual([2, 2]);
  });
});

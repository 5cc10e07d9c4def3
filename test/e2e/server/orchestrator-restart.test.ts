import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabaseUrl } from '../../support/postgres.js';
import { Installation, sleep, waitUntil, type GitSource, type NodeProcess } from '../harness/index.js';

/**
 * DESIGN invariants 1–3 across a crash: kill -9 the orchestrator while a job runs, start it again
 * on the same data directory (and port); the agent reconnects by itself and re-attaches its job,
 * and the run finishes success exactly once with a complete log.
 */
const LOCKFILE = {
  schemaVersion: 1,
  workflows: [
    {
      name: 'crash',
      triggers: [{ _type: 'push', branches: ['main'] }],
      jobs: [
        { name: 'slow', steps: [{ name: 'first', run: 'echo line-1' }, { name: 'sleepy', run: 'echo line-2; sleep 5; echo line-3' }, { name: 'last', run: 'echo line-4' }] },
        { name: 'after', needs: ['slow'], steps: [{ name: 'after', run: 'echo after-ran' }] },
      ],
    },
  ],
};

function restartScenario(label: string, databaseUrl: () => Promise<string | undefined>, countRuns?: (deliveryId: string) => Promise<number>) {
  describe(`kill -9 of the orchestrator mid-run (${label})`, () => {
    let inst: Installation;
    let source: GitSource;
    let agent: NodeProcess;

    beforeAll(async () => {
      inst = await Installation.create({ databaseUrl: await databaseUrl() });
      // Reconnect attempts start at 1 s; capping them keeps the wait short whatever the jitter.
      agent = await inst.startAgent({ maxReconnectDelayMs: 2000 });
      source = await inst.gitSource();
    });

    afterAll(async () => {
      await inst?.close();
    });

    it.each([
      ['while the job runs on', false],
      ['until the job has finished on the agent', true],
    ])('down %s: resumes the run from the store and finishes it success exactly once', async (_what, finishWhileDown) => {
      const sha = source.repo.commitLockfile(LOCKFILE, { 'attempt.txt': `${finishWhileDown}\n` });
      source.repo.push('main');
      const { id } = await inst.runForPush(source, sha);
      await waitUntil('line-2 in the log (the sleepy step is running)', async () =>
        (await inst.logs(id)).some((l) => l.text === 'line-2') ? true : undefined,
      );

      const firstPid = inst.orchestrator.pid;
      await inst.orchestrator.kill9();
      if (finishWhileDown) {
        // The job ends while nobody listens: its final statuses wait in the agent's outbox.
        const seen = agent.output().length;
        await waitUntil(
          'the agent to finish the job while the orchestrator is down',
          () => (agent.output().slice(seen).includes('"msg":"job finished"') ? true : undefined),
          { timeoutMs: 20_000, describe: () => agent.tail(10) },
        );
      } else {
        await sleep(500);
      }
      await inst.orchestrator.start();
      expect(inst.orchestrator.pid).not.toBe(firstPid);

      const run = await inst.waitForTerminal(id, 60_000);
      expect(run.status, `${JSON.stringify(run.jobs)}\n${inst.orchestrator.tail(20)}`).toBe('success');

      // One run for the delivery, each job finished once on its first attempt, each step once.
      const forPush = await inst.runsForPush(source, sha);
      expect(forPush.map((r) => r.id)).toEqual([id]);
      if (countRuns) expect(await countRuns(forPush[0].deliveryId!)).toBe(1);
      expect(run.jobs.map((j) => j.name).sort()).toEqual(['after', 'slow']);
      for (const job of run.jobs) {
        expect(job.status, job.name).toBe('success');
        expect(job.attempts, job.name).toBe(1);
        expect(job.finishedAt, job.name).not.toBeNull();
      }
      const slow = run.jobs.find((j) => j.name === 'slow')!;
      expect(slow.steps.map((s) => [s.index, s.name, s.status])).toEqual([
        [0, 'first', 'success'],
        [1, 'sleepy', 'success'],
        [2, 'last', 'success'],
      ]);

      // The log is complete, and no line was written twice (no second execution, no double replay).
      const all = await inst.logsContaining(id, ['line-4', 'after-ran']);
      // The agent noticed the outage and marked it in the running step's log.
      expect(all.some((l) => l.job === 'slow' && l.step === 1 && /^\[kici-agent\] reconnected after a \d+s outage/.test(l.text))).toBe(true);
      const lines = all.filter((l) => !l.text.startsWith('[kici-agent]')).map((l) => `${l.job}/${l.step}: ${l.text}`);
      // Jobs come in the store's order; within a job, lines keep their order.
      expect(lines.filter((l) => l.startsWith('slow/'))).toEqual(['slow/0: line-1', 'slow/1: line-2', 'slow/1: line-3', 'slow/2: line-4']);
      expect(lines.filter((l) => !l.startsWith('slow/'))).toEqual(['after/0: after-ran']);
    });
  });
}

restartScenario('PGlite', async () => undefined);

let pgUrl: string | undefined;
restartScenario(
  'PostgreSQL',
  async () => (pgUrl = await freshDatabaseUrl()),
  async (deliveryId) => {
    const client = new pg.Client({ connectionString: pgUrl });
    await client.connect();
    try {
      const r = await client.query('select count(*)::int as n from runs where delivery_id = $1', [deliveryId]);
      return r.rows[0].n as number;
    } finally {
      await client.end();
    }
  },
);

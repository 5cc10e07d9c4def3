import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { journalStep } from '../../../chaos/journal.js';
import { readJournal } from '../../../chaos/journal-reader.js';
import { pairExecutions } from '../../../chaos/step-executions.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "kici-chaos-it's-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Run `script` as an agent would: bash -eo pipefail, with the step's KICI_* metadata. */
function runStep(script: string, step: { agentDir: string; jobName?: string; attempt?: number; stepIndex?: number; stepTry?: number }) {
  const meta = join(step.agentDir, 'jobs', 'job-1-Ab12Cd', 'meta');
  mkdirSync(meta, { recursive: true });
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    KICI_RUN_ID: '0b9f5c8e-0000-4000-8000-000000000001',
    KICI_JOB_ID: '0b9f5c8e-0000-4000-8000-000000000002',
    KICI_JOB_NAME: step.jobName ?? 'build',
    KICI_ATTEMPT: String(step.attempt ?? 1),
    KICI_OUTPUT: join(meta, `step-${step.stepIndex ?? 0}-attempt-${step.stepTry ?? 1}.out`),
  };
  const child = spawn('bash', ['-eo', 'pipefail', '-c', script], { env, detached: true, stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited };
}

describe('journalStep', () => {
  it('appends a start and an end line around the work, readable by the reader', async () => {
    const journal = join(dir, 'journal.jsonl');
    const agentDir = join(dir, 'agent-a');
    mkdirSync(agentDir);
    writeFileSync(join(agentDir, 'agent-id'), 'agent-a\n');
    const { exited } = runStep(journalStep(journal, 'sleep 0.05'), { agentDir, jobName: 'test "quoted" \\ (20)', attempt: 2, stepIndex: 3, stepTry: 2 });
    expect(await exited).toBe(0);

    const read = await readJournal(journal);
    expect(read.problems).toEqual([]);
    expect(read.entries.map((e) => e.event)).toEqual(['start', 'end']);
    expect(read.entries[0]).toMatchObject({
      runId: '0b9f5c8e-0000-4000-8000-000000000001',
      jobId: '0b9f5c8e-0000-4000-8000-000000000002',
      jobName: 'test "quoted" \\ (20)',
      attempt: 2,
      agent: 'agent-a',
      agentDir,
      stepIndex: 3,
      stepTry: 2,
    });
    const [execution] = pairExecutions(read.entries).executions;
    expect(execution?.exitCode).toBe(0);
    expect((execution?.endedAt ?? 0) - (execution?.startedAt ?? 0)).toBeGreaterThanOrEqual(50_000);
  });

  it("keeps the work's exit code, and names the agent by its work dir when it has no id file", async () => {
    const journal = join(dir, 'journal.jsonl');
    const agentDir = join(dir, 'agent-b');
    const { exited } = runStep(journalStep(journal, 'false\necho never reached'), { agentDir });
    expect(await exited).toBe(1);
    const read = await readJournal(journal, { agentNames: { [join(dir, 'other')]: 'other' } });
    expect(read.entries.map((e) => [e.event, e.agent, e.exitCode])).toEqual([
      ['start', agentDir, undefined],
      ['end', agentDir, 1],
    ]);
    const named = await readJournal(journal, { agentNames: new Map([[agentDir, 'agent-b']]) });
    expect(named.entries.every((e) => e.agent === 'agent-b')).toBe(true);
  });

  it('writes the end line when the step is stopped with SIGTERM', async () => {
    const journal = join(dir, 'journal.jsonl');
    const { child, exited } = runStep(journalStep(journal, 'sleep 30'), { agentDir: join(dir, 'agent-a') });
    await waitFor(async () => (await readJournal(journal)).entries.length === 1);
    // The agent signals the step's whole process group.
    process.kill(-(child.pid as number), 'SIGTERM');
    expect(await exited).toBe(143);
    const read = await readJournal(journal);
    expect(read.entries.map((e) => [e.event, e.exitCode])).toEqual([
      ['start', undefined],
      ['end', 143],
    ]);
  });

  it('keeps every line whole when many steps append at once', async () => {
    const journal = join(dir, 'journal.jsonl');
    const steps = Array.from({ length: 12 }, (_, i) => runStep(journalStep(journal), { agentDir: join(dir, `agent-${i % 3}`), stepIndex: i }));
    expect(await Promise.all(steps.map((s) => s.exited))).toEqual(steps.map(() => 0));
    const read = await readJournal(journal);
    expect(read.problems).toEqual([]);
    const { executions, oddities } = pairExecutions(read.entries);
    expect(oddities).toEqual([]);
    expect(executions).toHaveLength(12);
    expect(executions.every((e) => e.endedAt !== undefined)).toBe(true);
  });

  it('fails the step loudly when the journal cannot be written', async () => {
    const { exited } = runStep(journalStep(join(dir, 'missing', 'journal.jsonl')), { agentDir: join(dir, 'agent-a') });
    expect(await exited).not.toBe(0);
  });
});

async function waitFor(probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** What the checks say: titles, statuses, times, and summaries that fit under GitHub's cap. */
import { describe, expect, it } from 'vitest';
import { jobCompletionFields, jobProgressFields, runCompletionFields, runProgressFields } from '../../../src/check-runs/check-text.js';
import type { JobRecord, JobStatus, RunRecord, StepRecord, StepStatus } from '../../../src/runs/index.js';

const NOW = Date.UTC(2026, 2, 1, 12, 0, 0);

function job(status: JobStatus, over: Partial<JobRecord> = {}): JobRecord {
  return { id: 'j1', runId: 'r1', name: 'test (20, 1)', baseName: 'test', config: {}, status, needsSatisfied: true, dispatchAttempts: 1, ...over };
}

function steps(...list: [string, StepStatus][]): StepRecord[] {
  return list.map(([name, status], stepIndex) => ({ jobId: 'j1', stepIndex, name, status }));
}

const run: RunRecord = { id: 'r1', status: 'running', attempt: 1, workflowName: 'ci', startedAt: NOW - 60_000 };

describe('a job\'s check', () => {
  it('says queued with the steps to come', () => {
    const fields = jobProgressFields(job('queued'), steps(['checkout', 'pending']), 'queued', NOW);
    expect(fields.status).toBe('queued');
    expect(fields.output?.title).toBe('Queued');
    expect(fields.output?.summary).toContain('**checkout** (pending)');
  });

  it('says which step runs, from when the job started', () => {
    const fields = jobProgressFields(job('running', { startedAt: NOW - 5_000 }), steps(['checkout', 'success'], ['build', 'running'], ['test', 'pending']), 'in_progress', NOW);
    expect(fields).toMatchObject({ status: 'in_progress', startedAt: new Date(NOW - 5_000).toISOString() });
    expect(fields.output?.title).toBe('Running step 2 of 3: build');
    expect(fields.output?.summary).toMatch(/✅ \*\*checkout\*\* \(success\)\n- ⏳ \*\*build\*\* \(running\)\n- • \*\*test\*\* \(pending\)/);
  });

  it('stays in progress when its job is queued again after a lost agent', () => {
    const fields = jobProgressFields(job('queued'), steps(['build', 'pending']), 'in_progress', NOW);
    expect(fields).toMatchObject({ status: 'in_progress', output: { title: 'Waiting for an agent again' } });
  });

  it('completes with the conclusion, the job\'s error and the failing step\'s last lines', () => {
    const tail = Array.from({ length: 20 }, (_, i) => `\u001b[1mline ${i + 1}\u001b[0m`);
    const fields = jobCompletionFields(
      job('failed', { startedAt: NOW - 9_000, finishedAt: NOW - 1_000, error: 'step "test" exited with code 2' }),
      steps(['checkout', 'success'], ['test', 'failed'], ['upload', 'pending']),
      new Map([[1, tail]]),
      NOW,
    );
    expect(fields).toMatchObject({
      conclusion: 'failure',
      startedAt: new Date(NOW - 9_000).toISOString(),
      completedAt: new Date(NOW - 1_000).toISOString(),
      output: { title: 'Failed at step test' },
    });
    expect(fields.status).toBeUndefined();
    const summary = fields.output!.summary;
    expect(summary).toContain('> step "test" exited with code 2');
    expect(summary).toContain('line 1\n');
    expect(summary).toContain('line 20');
    expect(summary).not.toContain('\u001b');
    // A step never started ends skipped with its job.
    expect(summary).toContain('**upload** (skipped)');
  });

  it('keeps less log context to stay under GitHub\'s 65 535 bytes', () => {
    const huge = Array.from({ length: 20 }, (_, i) => `${i}:${'x'.repeat(5_000)}`);
    const fields = jobCompletionFields(job('failed'), steps(['test', 'failed']), new Map([[0, huge]]), NOW);
    const summary = fields.output!.summary;
    expect(Buffer.byteLength(summary)).toBeLessThanOrEqual(65_535);
    expect(summary).toContain('19:x');
    expect(summary).not.toContain('\n  9:x');
  });

  it('names timed-out, cancelled and skipped jobs in GitHub\'s words', () => {
    expect(jobCompletionFields(job('timed_out_stale'), [], new Map(), NOW)).toMatchObject({ conclusion: 'timed_out', output: { title: 'Timed out: no heartbeat from its agent' } });
    expect(jobCompletionFields(job('cancelled'), [], new Map(), NOW)).toMatchObject({ conclusion: 'cancelled', completedAt: new Date(NOW).toISOString() });
    expect(jobCompletionFields(job('skipped'), [], new Map(), NOW)).toMatchObject({ conclusion: 'skipped', output: { title: 'Skipped' } });
  });

  it('shows names literally in headings', () => {
    const fields = jobProgressFields(job('queued', { name: 'a*b_[c]' }), [], 'queued', NOW);
    expect(fields.output?.summary).toContain('**a\\*b\\_\\[c\\]**');
  });
});

describe('the workflow\'s check', () => {
  const jobs = [job('success', { id: 'a', name: 'lint' }), job('running', { id: 'b', name: 'test' }), job('pending', { id: 'c', name: 'deploy' })];

  it('counts finished jobs while in progress', () => {
    const fields = runProgressFields({ ...run, attempt: 2 }, jobs, 'in_progress', NOW);
    expect(fields).toMatchObject({ status: 'in_progress', startedAt: new Date(NOW - 60_000).toISOString(), output: { title: '1 of 3 jobs done' } });
    expect(fields.output?.summary).toContain('Workflow **ci** (attempt 2) is running.');
    expect(fields.output?.summary).toContain('🕒 **deploy** (queued)');
  });

  it('concludes with the run and quotes its error', () => {
    const fields = runCompletionFields({ ...run, status: 'failed', error: 'job "test" failed' }, [jobs[0]!, job('failed', { name: 'test' })], NOW);
    expect(fields).toMatchObject({ conclusion: 'failure', completedAt: new Date(NOW).toISOString(), output: { title: 'Failed' } });
    expect(fields.output?.summary).toContain('> job "test" failed');
    expect(fields.output?.summary).toContain('❌ **test** (failure)');
  });
});

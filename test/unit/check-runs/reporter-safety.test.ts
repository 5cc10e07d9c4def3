/**
 * The reporter is called from inside a run actor's turn: whatever its ports do (throw at once,
 * reject, hang), its four methods return at once and never throw. The reporting itself is tested
 * against the real GitHub client in test/integration/check-runs/reporter.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { CheckRunReporter, type CheckRunReporterDeps } from '../../../src/check-runs/index.js';
import { WorkInFlight } from '../../../src/check-runs/in-flight.js';
import { ManualClock } from '../../../src/clock/index.js';
import type { JobRecord, RunRecord, StepRecord } from '../../../src/runs/index.js';

const run: RunRecord = { id: 'r1', status: 'running', attempt: 1, workflowName: 'ci', sha: 'a'.repeat(40) };
const job: JobRecord = { id: 'j1', runId: 'r1', name: 'build', baseName: 'build', config: {}, status: 'running', needsSatisfied: true, dispatchAttempts: 1 };
const step: StepRecord = { jobId: 'j1', stepIndex: 0, name: 'make', status: 'running' };

function everyEvent(reporter: CheckRunReporter): void {
  reporter.runStarted(run, [job], [step]);
  reporter.jobChanged(run, job, [step]);
  reporter.stepChanged(run, job, step);
  reporter.runCompleted({ ...run, status: 'success' }, [{ ...job, status: 'success' }]);
}

describe('the reporter never throws into the run actor', () => {
  it('when every port throws at once, and so does the logger', async () => {
    const boom = () => {
      throw new Error('boom');
    };
    const deps: CheckRunReporterDeps = {
      clock: new ManualClock(0),
      api: { create: boom, update: boom, find: boom },
      targetOf: boom,
      logTail: boom,
      detailsUrl: boom,
      count: boom,
      failed: boom,
    };
    const reporter = new CheckRunReporter(deps);
    expect(() => everyEvent(reporter)).not.toThrow();
    await reporter.settled();
  });

  it('when GitHub refuses everything: each failure is reported, none thrown, and the run is still forgotten', async () => {
    const clock = new ManualClock(0);
    const failed: string[] = [];
    const refused = async () => {
      throw Object.assign(new Error('422 Validation Failed'), { retryable: false });
    };
    const reporter = new CheckRunReporter({
      clock,
      api: { create: refused, update: refused, find: refused },
      targetOf: async () => ({ sourceId: 's', owner: 'o', repo: 'r' }),
      logTail: async () => [],
      failed: (_error, what) => failed.push(what),
    });
    expect(() => everyEvent(reporter)).not.toThrow();
    await reporter.settled();
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.every((what) => what.startsWith('create check run "kici/ci'))).toBe(true);
    clock.advance(5 * 60_000);
    expect(reporter.trackedRuns()).toBe(0);
  });

  it('asks again where a run reports when the look-up failed', async () => {
    let lookups = 0;
    const reporter = new CheckRunReporter({
      clock: new ManualClock(0),
      api: { create: async () => ({ id: 1 }), update: async () => undefined, find: async () => [] },
      targetOf: async () => {
        lookups++;
        if (lookups === 1) throw new Error('database unreachable');
        return undefined;
      },
      logTail: async () => [],
    });
    reporter.runStarted(run, [job], [step]);
    await reporter.settled();
    reporter.jobChanged(run, job, [step]);
    await reporter.settled();
    reporter.stepChanged(run, job, step);
    await reporter.settled();
    // Failed once, then found to be no GitHub run: asked twice in all.
    expect(lookups).toBe(2);
  });
});

describe('work in flight', () => {
  it('is idle only when nothing runs, counting work started right after other work ended', async () => {
    const work = new WorkInFlight();
    await work.idle();
    let release!: () => void;
    let secondDone = false;
    const first = work.run(() => new Promise<void>((resolve) => (release = resolve)));
    void first.then(() => work.run(() => new Promise<void>((resolve) => setTimeout(resolve, 5))).then(() => (secondDone = true)));
    let idle = false;
    const waiting = work.idle().then(() => (idle = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(idle).toBe(false);
    release();
    await waiting;
    expect(secondDone).toBe(true);
  });
});

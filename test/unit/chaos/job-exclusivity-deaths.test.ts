import { describe, expect, it } from 'vitest';
import { judgeInvariants } from '../../../chaos/checker.js';
import { type AgentDeaths, checkJobExclusivity } from '../../../chaos/invariants/job-exclusivity.js';
import type { Journal, JournalEntry } from '../../../chaos/journal-reader.js';
import { at, delivery, executed, job, run, view } from './fixtures.js';

const journal = (...entries: JournalEntry[][]): Journal => ({ entries: entries.flat(), problems: [], found: true });

const CUT_SHORT = /^(\d+) executions were cut short when the workload killed their agent: not counted as runs of their attempt$/;
const cutShort = (notes: readonly string[]): number | undefined => {
  const found = notes.map((n) => CUT_SHORT.exec(n)).find((m) => m !== null);
  return found ? Number(found[1]) : undefined;
};

/**
 * Attempt 1 of the job: step 0 starts on agent-1 at 10 s and never writes its end line; the same
 * step of the same attempt then runs on agent-2 from 20 s to its end.
 */
const killedThenRequeued = (): Journal =>
  journal(
    executed({ execution: 'a1-s0', agent: 'agent-1', attempt: 1, stepIndex: 0, start: at(10) }),
    executed({ execution: 'a2-s0', agent: 'agent-2', attempt: 1, stepIndex: 0, start: at(20), end: at(21) }),
    executed({ execution: 'a2-s1', agent: 'agent-2', attempt: 1, stepIndex: 1, start: at(21), end: at(22) }),
  );

describe('invariant 3 with agents the workload killed (agentDeaths)', () => {
  it('holds when the first execution was cut short by its agent being killed, noting one execution cut short', () => {
    const report = checkJobExclusivity(killedThenRequeued(), { 'agent-1': [at(12)] });
    expect(report).toMatchObject({ invariant: 3, verdict: 'held', held: true, evidence: [] });
    expect(cutShort(report.notes)).toBe(1);
    expect(report.notes[0]).toBe('3 step executions of 1 jobs in the journal, 1 without an end line (killed)');
  });

  it('holds when the agent was killed at the very microsecond the step started', () => {
    const report = checkJobExclusivity(killedThenRequeued(), { 'agent-1': [at(10)] });
    expect(report.held).toBe(true);
    expect(cutShort(report.notes)).toBe(1);
  });

  it('counts every cut-short execution, over jobs and agents', () => {
    const report = checkJobExclusivity(
      journal(
        executed({ execution: 'j1-a', jobId: 'job-1', agent: 'agent-1', attempt: 1, start: at(10) }),
        executed({ execution: 'j1-b', jobId: 'job-1', agent: 'agent-2', attempt: 1, start: at(20), end: at(21) }),
        executed({ execution: 'j2-a', jobId: 'job-2', agent: 'agent-3', attempt: 2, start: at(30) }),
        executed({ execution: 'j2-b', jobId: 'job-2', agent: 'agent-1', attempt: 2, start: at(40), end: at(41) }),
      ),
      { 'agent-1': [at(5), at(15)], 'agent-3': [at(31)] },
    );
    expect(report.evidence).toEqual([]);
    expect(cutShort(report.notes)).toBe(2);
  });

  it('is broken (a duplicate) without agentDeaths', () => {
    for (const deaths of [undefined, {}, { 'agent-1': [] }] as (AgentDeaths | undefined)[]) {
      const report = checkJobExclusivity(killedThenRequeued(), deaths);
      expect(report.verdict, JSON.stringify(deaths)).toBe('broken');
      expect(report.evidence).toEqual([
        expect.stringMatching(
          /^run run-1 job job-1 "build": attempt 1 ran step 0 2 times: attempt 1 on agent-1, .* to no end line \(killed\); attempt 1 on agent-2, /,
        ),
      ]);
      expect(cutShort(report.notes)).toBeUndefined();
    }
  });

  it('is broken when the death was of another agent', () => {
    const report = checkJobExclusivity(killedThenRequeued(), { 'agent-2': [at(12)], 'agent-3': [at(12)] });
    expect(report.held).toBe(false);
    expect(report.evidence).toEqual([expect.stringContaining('attempt 1 ran step 0 2 times')]);
    expect(cutShort(report.notes)).toBeUndefined();
  });

  it('is still broken when the agent died before the first execution started', () => {
    const report = checkJobExclusivity(killedThenRequeued(), { 'agent-1': [at(9.999999)] });
    expect(report.held).toBe(false);
    expect(report.evidence).toEqual([expect.stringContaining('attempt 1 ran step 0 2 times')]);
    expect(cutShort(report.notes)).toBeUndefined();
    // Several deaths, all before it: still not excused.
    expect(checkJobExclusivity(killedThenRequeued(), { 'agent-1': [at(1), at(5), at(9)] }).held).toBe(false);
  });

  it('never excuses an execution that has an end line, whenever its agent died', () => {
    const bothEnded = journal(
      executed({ execution: 'a1-s0', agent: 'agent-1', attempt: 1, stepIndex: 0, start: at(10), end: at(11) }),
      executed({ execution: 'a2-s0', agent: 'agent-2', attempt: 1, stepIndex: 0, start: at(20), end: at(21) }),
    );
    for (const death of [at(10), at(10.5), at(11), at(15), at(25)]) {
      const report = checkJobExclusivity(bothEnded, { 'agent-1': [death], 'agent-2': [death] });
      expect(report.held, `death at ${death}`).toBe(false);
      expect(report.evidence).toEqual([expect.stringContaining('attempt 1 ran step 0 2 times')]);
      expect(cutShort(report.notes)).toBeUndefined();
    }
  });

  it('excuses only the cut-short execution: two finished copies besides it are still a duplicate', () => {
    const report = checkJobExclusivity(
      journal(
        executed({ execution: 'a1-s0', agent: 'agent-1', attempt: 1, start: at(10) }),
        executed({ execution: 'a2-s0', agent: 'agent-2', attempt: 1, start: at(20), end: at(21) }),
        executed({ execution: 'a3-s0', agent: 'agent-3', attempt: 1, start: at(30), end: at(31) }),
      ),
      { 'agent-1': [at(12)] },
    );
    expect(report.held).toBe(false);
    expect(report.evidence).toEqual([
      expect.stringMatching(/attempt 1 ran step 0 2 times: attempt 1 on agent-2, .*; attempt 1 on agent-3, /),
    ]);
    expect(cutShort(report.notes)).toBe(1);
  });

  it('still reports an overlap with a cut-short execution', () => {
    // agent-2 runs attempt 2 over the moment attempt 1 started on agent-1: two agents at once,
    // which the kill that came later does not undo.
    const report = checkJobExclusivity(
      journal(
        executed({ execution: 'b2', agent: 'agent-2', attempt: 2, start: at(5), end: at(15) }),
        executed({ execution: 'a1', agent: 'agent-1', attempt: 1, start: at(10) }),
      ),
      { 'agent-1': [at(12)] },
    );
    expect(report.held).toBe(false);
    expect(report.evidence).toEqual([expect.stringContaining('ran on agent-2 and agent-1 at the same time')]);
  });

  it('is passed through by judgeInvariants', () => {
    const views = [view({ deliveries: [delivery('d1')], runs: [run('run-1', { deliveryId: 'd1' })], jobs: [job('job-1', 'run-1')] })];
    const [, , excused] = judgeInvariants({ journal: killedThenRequeued(), views, agentDeaths: { 'agent-1': [at(12)] } });
    expect(excused).toMatchObject({ invariant: 3, held: true });
    const [, , broken] = judgeInvariants({ journal: killedThenRequeued(), views });
    expect(broken).toMatchObject({ invariant: 3, held: false });
  });

  // The documented intent (job-exclusivity.ts): the job running again *afterwards* is recovery.
  // A second copy that started while the first was still running (before the kill that ended
  // it) is a real duplicate, run on two agents at once; today the later death excuses it.
  it('does not excuse a copy killed only after the job ran again elsewhere', () => {
    const report = checkJobExclusivity(
      journal(
        executed({ execution: 'a1-s0', agent: 'agent-1', attempt: 1, start: at(10) }),
        executed({ execution: 'a2-s0', agent: 'agent-2', attempt: 1, start: at(20), end: at(21) }),
      ),
      // agent-1 is killed at 60 s: its step was running (no end line) from 10 s to then, over agent-2's copy.
      { 'agent-1': [at(60)] },
    );
    expect(report.held).toBe(false);
  });
});

describe('invariant 3 says when it first broke', () => {
  it('at the moment the job ran again (ms), and says nothing when it held', () => {
    const broken = checkJobExclusivity(killedThenRequeued());
    expect(broken.firstViolationAtMs).toBe(Math.floor(at(20) / 1000));
    expect(checkJobExclusivity(killedThenRequeued(), { 'agent-1': [at(12)] }).firstViolationAtMs).toBeUndefined();
  });
});

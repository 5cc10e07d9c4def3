import { describe, expect, it } from 'vitest';
import { checkJobExclusivity } from '../../../chaos/invariants/job-exclusivity.js';
import type { Journal, JournalEntry } from '../../../chaos/journal-reader.js';
import { at, executed } from './fixtures.js';

const journal = (...entries: JournalEntry[][]): Journal => ({ entries: entries.flat(), problems: [], found: true });

describe('invariant 3: a job never runs on two agents at once, nor twice for one attempt', () => {
  it('holds for a job requeued to another agent after its first attempt ended', () => {
    const report = checkJobExclusivity(
      journal(
        executed({ execution: 'e1', agent: 'agent-a', attempt: 1, stepIndex: 0, start: at(0), end: at(1) }),
        executed({ execution: 'e2', agent: 'agent-a', attempt: 1, stepIndex: 1, start: at(1), end: at(2) }),
        // Step retries of one attempt are separate executions, not duplicates.
        executed({ execution: 'e3', agent: 'agent-b', attempt: 2, stepIndex: 0, stepTry: 1, start: at(5), end: at(6) }),
        executed({ execution: 'e4', agent: 'agent-b', attempt: 2, stepIndex: 0, stepTry: 2, start: at(6), end: at(7) }),
        // Another job at the same time on another agent.
        executed({ execution: 'e5', agent: 'agent-c', jobId: 'job-2', start: at(0.5), end: at(6.5) }),
      ),
    );
    expect(report).toMatchObject({ invariant: 3, held: true, evidence: [] });
    expect(report.notes[0]).toBe('5 step executions of 2 jobs in the journal');
  });

  it('is broken by overlapping runs of one job on two agents, naming run, job and agents', () => {
    const report = checkJobExclusivity(
      journal(
        executed({ execution: 'e1', agent: 'agent-a', attempt: 1, start: at(0), end: at(10) }),
        executed({ execution: 'e2', agent: 'agent-b', attempt: 2, start: at(4), end: at(6) }),
      ),
    );
    expect(report.held).toBe(false);
    expect(report.evidence).toEqual([
      'run run-1 job job-1 "build" ran on agent-a and agent-b at the same time: step 0 attempt 1 on agent-a, ' +
        '2026-03-01T12:00:00.000000Z to 2026-03-01T12:00:10.000000Z overlaps step 0 attempt 2 on agent-b, ' +
        '2026-03-01T12:00:04.000000Z to 2026-03-01T12:00:06.000000Z',
    ]);
  });

  it('is broken by one attempt run twice, even when the first copy was killed', () => {
    const report = checkJobExclusivity(
      journal(
        executed({ execution: 'e1', agent: 'agent-a', attempt: 3, stepIndex: 1, start: at(0) }),
        executed({ execution: 'e2', agent: 'agent-b', attempt: 3, stepIndex: 1, start: at(30), end: at(31) }),
      ),
    );
    expect(report.evidence).toEqual([
      expect.stringMatching(/^run run-1 job job-1 "build": attempt 3 ran step 1 2 times: attempt 3 on agent-a, .* to no end line \(killed\); attempt 3 on agent-b, /),
    ]);
    expect(report.notes[0]).toContain('1 without an end line (killed)');
  });

  it('is broken by two attempts of one job at once on one agent', () => {
    const report = checkJobExclusivity(
      journal(
        executed({ execution: 'e1', agent: 'agent-a', attempt: 1, start: at(0), end: at(5) }),
        executed({ execution: 'e2', agent: 'agent-a', attempt: 2, start: at(1), end: at(2) }),
      ),
    );
    expect(report.evidence).toEqual([expect.stringContaining('ran twice at once on agent-a')]);
  });

  it('does not take a killed execution for an overlap: when it stopped is unknown', () => {
    const report = checkJobExclusivity(
      journal(
        executed({ execution: 'e1', agent: 'agent-a', attempt: 1, start: at(0) }),
        executed({ execution: 'e2', agent: 'agent-b', attempt: 2, start: at(1), end: at(2) }),
      ),
    );
    expect(report.held).toBe(true);
  });

  it('is broken by an unreadable journal line, and only notes a torn last one', () => {
    const torn: Journal = { entries: [], problems: [{ line: 9, text: '{"v":1,"ev', reason: 'not JSON', torn: true }], found: true };
    expect(checkJobExclusivity(torn)).toMatchObject({ held: true, notes: expect.arrayContaining([expect.stringContaining('line 9 is torn')]) });

    const bad: Journal = { ...torn, problems: [{ line: 4, text: 'garbage', reason: 'not JSON', torn: false }] };
    expect(checkJobExclusivity(bad).evidence).toEqual(['journal line 4 cannot be read (not JSON): executions may be missing']);
  });

  it('notes a missing journal and lines that pair with nothing', () => {
    expect(checkJobExclusivity({ entries: [], problems: [], found: false }).notes).toContain('no journal file: no step execution was recorded, nothing to check');
    const endOnly = executed({ execution: 'e1', agent: 'agent-a', start: at(0), end: at(1) }).slice(1);
    expect(checkJobExclusivity(journal(endOnly)).notes).toContain('execution e1 (run run-1 job job-1) has an end line and no start');
  });
});

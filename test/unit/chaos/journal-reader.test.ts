import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseJournal, readJournal } from '../../../chaos/journal-reader.js';

const line = (fields: Record<string, unknown> = {}): string =>
  JSON.stringify({
    v: 1,
    event: 'start',
    execution: '4242-1',
    run: 'run-1',
    job: 'job-1',
    jobName: 'build',
    attempt: 1,
    agent: '',
    agentDir: '/work/agent-a',
    stepFile: 'step-2-attempt-1.out',
    at: 1_772_366_400_000_000,
    ...fields,
  });

describe('parseJournal', () => {
  it('reads good lines into entries', () => {
    const journal = parseJournal(`${line()}\n${line({ event: 'end', at: 1_772_366_401_000_000, exit: 0, agent: 'agent-a' })}\n`);
    expect(journal.problems).toEqual([]);
    expect(journal.entries).toEqual([
      expect.objectContaining({ event: 'start', runId: 'run-1', jobId: 'job-1', agent: '/work/agent-a', stepIndex: 2, stepTry: 1, atMicros: 1_772_366_400_000_000 }),
      expect.objectContaining({ event: 'end', agent: 'agent-a', exitCode: 0 }),
    ]);
  });

  it('tolerates a torn last line, and reads a last line that only lacks its newline', () => {
    const torn = parseJournal(`${line()}\n${line().slice(0, 40)}`);
    expect(torn.entries).toHaveLength(1);
    expect(torn.problems).toEqual([expect.objectContaining({ line: 2, torn: true })]);

    const whole = parseJournal(`${line()}\n${line({ execution: '4242-2' })}`);
    expect(whole.entries).toHaveLength(2);
    expect(whole.problems).toEqual([]);
  });

  it('reports bad lines with their number and reason, and skips blank ones', () => {
    const text = [
      line(),
      '',
      '{not json',
      line({ attempt: 0 }),
      line({ stepFile: 'output.txt' }),
      line({ v: 2 }),
      line({ extra: true }),
      line({ event: 'paused' }),
      line({ execution: '4242-9' }),
    ].join('\n');
    const journal = parseJournal(`${text}\n`);
    expect(journal.entries.map((e) => e.execution)).toEqual(['4242-1', '4242-9']);
    expect(journal.problems.map((p) => [p.line, p.torn])).toEqual([
      [3, false],
      [4, false],
      [5, false],
      [6, false],
      [7, false],
      [8, false],
    ]);
    expect(journal.problems[0]?.reason).toMatch(/^not JSON/);
    expect(journal.problems[1]?.reason).toMatch(/^attempt:/);
    expect(journal.problems[2]?.reason).toMatch(/^stepFile: .*KICI_OUTPUT/);
    expect(journal.problems[3]?.reason).toMatch(/^v:/);
  });

  it('reads an empty journal as no entries', () => {
    expect(parseJournal('')).toEqual({ entries: [], problems: [], found: true });
  });
});

describe('readJournal', () => {
  it('reads a missing file as a journal nobody wrote to', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kici-chaos-'));
    try {
      expect(await readJournal(join(dir, 'none.jsonl'))).toEqual({ entries: [], problems: [], found: false });
      writeFileSync(join(dir, 'j.jsonl'), `${line()}\n`);
      expect((await readJournal(join(dir, 'j.jsonl'), { agentNames: { '/work/agent-a': 'a' } })).entries[0]?.agent).toBe('a');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

import { describe, expect, it } from 'vitest';
import { CANCELLED_MEMORY, EnvGroup, type GroupSettings, type JobRef } from '../../../src/environments/index.js';

const queue = (limit: number | null, rulesAt?: number): GroupSettings => ({ limit, strategy: 'queue', rulesAt });
const cancelPending = (limit: number | null): GroupSettings => ({ limit, strategy: 'cancel-pending' });
const job = (runId: string, jobId = 'deploy'): JobRef => ({ runId, jobId });
const runs = (jobs: JobRef[]) => jobs.map((j) => j.runId);

describe('EnvGroup: queue', () => {
  it('never admits more than the limit, and lets the line in first come, first served', () => {
    const g = new EnvGroup('production');
    const answers = ['a', 'b', 'c', 'd', 'e'].map((r) => g.request(job(r), queue(2)));
    expect(answers.map((a) => a.answer.verdict)).toEqual(['admitted', 'admitted', 'queued', 'queued', 'queued']);
    expect(answers.every((a) => a.notices.length === 0)).toBe(true);
    expect(runs(g.snapshot().running)).toEqual(['a', 'b']);
    expect(runs(g.snapshot().waiting)).toEqual(['c', 'd', 'e']);

    // A slot frees: the first in line gets it at once, told through a notice.
    expect(g.release(job('b'))).toEqual([{ runId: 'c', jobId: 'deploy', verdict: 'admitted' }]);
    expect(g.release(job('a'))).toEqual([{ runId: 'd', jobId: 'deploy', verdict: 'admitted' }]);
    expect(g.release(job('c'))).toEqual([{ runId: 'e', jobId: 'deploy', verdict: 'admitted' }]);
    expect(g.snapshot().running.length).toBe(2);
  });

  it('keeps arrival order even for a newcomer finding a free slot behind waiters', () => {
    const g = new EnvGroup('production');
    g.recover([], [job('old')]); // rules unknown after a recovery: nobody goes yet
    const { answer, notices } = g.request(job('new'), queue(1));
    expect(answer.verdict).toBe('queued');
    expect(notices).toEqual([{ runId: 'old', jobId: 'deploy', verdict: 'admitted' }]);
  });

  it('forgets a waiter that stops waiting, without admitting anyone', () => {
    const g = new EnvGroup('production');
    for (const r of ['a', 'b', 'c']) g.request(job(r), queue(1));
    expect(g.release(job('b'))).toEqual([]);
    expect(g.release(job('a'))).toEqual([{ runId: 'c', jobId: 'deploy', verdict: 'admitted' }]);
  });

  it('admits everyone without a limit', () => {
    const g = new EnvGroup('production');
    for (const r of ['a', 'b', 'c']) expect(g.request(job(r), queue(null)).answer.verdict).toBe('admitted');
  });
});

describe('EnvGroup: cancel-pending', () => {
  it('replaces the waiting jobs of older runs with the newest, naming it; the running job is untouched', () => {
    const g = new EnvGroup('production');
    expect(g.request(job('r1'), cancelPending(1)).answer.verdict).toBe('admitted');
    expect(g.request(job('r2'), cancelPending(1)).answer.verdict).toBe('queued');
    const { answer, notices } = g.request(job('r3'), cancelPending(1));
    expect(answer.verdict).toBe('queued');
    expect(notices).toEqual([
      {
        runId: 'r2',
        jobId: 'deploy',
        verdict: 'cancelled',
        reason: "cancel-pending: replaced by newer run r3 (job deploy) in concurrency group 'production'",
      },
    ]);
    expect(runs(g.snapshot().running)).toEqual(['r1']);
    expect(runs(g.snapshot().waiting)).toEqual(['r3']);
    expect(g.release(job('r1'))).toEqual([{ runId: 'r3', jobId: 'deploy', verdict: 'admitted' }]);
  });

  it('replaces every older waiter at once', () => {
    const g = new EnvGroup('production');
    g.request(job('r1'), queue(1));
    g.request(job('r2'), queue(1));
    g.request(job('r3'), queue(1));
    const { notices } = g.request(job('r4'), cancelPending(1));
    expect(notices.map((n) => [n.runId, n.verdict])).toEqual([
      ['r2', 'cancelled'],
      ['r3', 'cancelled'],
    ]);
  });

  it('does not let the jobs of one run replace each other', () => {
    const g = new EnvGroup('production');
    g.request(job('r1', 'eu'), cancelPending(1));
    g.request(job('r1', 'us'), cancelPending(1));
    const { notices } = g.request(job('r1', 'asia'), cancelPending(1));
    expect(notices).toEqual([]);
    expect(g.snapshot().waiting).toEqual([job('r1', 'us'), job('r1', 'asia')]);
  });

  it('answers a cancelled job that asks again cancelled, with the same reason', () => {
    const g = new EnvGroup('production');
    g.request(job('r1'), cancelPending(1));
    g.request(job('r2'), cancelPending(1));
    g.request(job('r3'), cancelPending(1));
    const again = g.request(job('r2'), cancelPending(1));
    expect(again.answer).toEqual({ verdict: 'cancelled', reason: expect.stringContaining('newer run r3') });
    expect(runs(g.snapshot().waiting)).toEqual(['r3']);
  });

  it('forgets the oldest cancellations past its memory', () => {
    const g = new EnvGroup('production');
    g.request(job('holder'), cancelPending(1));
    for (let i = 0; i <= CANCELLED_MEMORY + 1; i++) g.request(job(`r${i}`), cancelPending(1));
    expect(g.request(job('r0'), cancelPending(1)).answer.verdict).toBe('queued');
    expect(g.request(job(`r${CANCELLED_MEMORY}`), cancelPending(1)).answer.verdict).toBe('cancelled');
  });
});

describe('EnvGroup: messages taken twice', () => {
  it('answers an admitted job admitted again without a second slot', () => {
    const g = new EnvGroup('production');
    g.request(job('a'), queue(1));
    expect(g.request(job('a'), queue(1))).toEqual({ answer: { verdict: 'admitted' }, notices: [] });
    expect(g.request(job('b'), queue(1)).answer.verdict).toBe('queued');
    expect(g.snapshot().running).toEqual([job('a')]);
  });

  it('keeps a waiter in its place', () => {
    const g = new EnvGroup('production');
    for (const r of ['a', 'b', 'c']) g.request(job(r), queue(1));
    expect(g.request(job('b'), queue(1)).answer.verdict).toBe('queued');
    expect(runs(g.snapshot().waiting)).toEqual(['b', 'c']);
  });

  it('does not replace anyone when a waiter asks again under cancel-pending', () => {
    const g = new EnvGroup('production');
    for (const r of ['a', 'b', 'c']) g.request(job(r), queue(1));
    expect(g.request(job('b'), cancelPending(1)).notices).toEqual([]);
    expect(runs(g.snapshot().waiting)).toEqual(['b', 'c']);
  });

  it('does nothing on a release of a job it does not know, or of one released already', () => {
    const g = new EnvGroup('production');
    g.request(job('a'), queue(1));
    g.request(job('b'), queue(1));
    expect(g.release(job('ghost'))).toEqual([]);
    expect(g.release(job('a'))).toHaveLength(1);
    expect(g.release(job('a'))).toEqual([]);
    expect(g.snapshot().running).toEqual([job('b')]);
  });

  it('keeps only the identity of a request', () => {
    const g = new EnvGroup('production');
    g.request({ runId: 'a', jobId: 'deploy', limit: 1, strategy: 'queue' } as JobRef, queue(1));
    expect(g.snapshot().running).toEqual([job('a')]);
  });
});

describe('EnvGroup: the limit changing', () => {
  it('lowered while jobs run: nobody is evicted, newcomers wait until enough have left', () => {
    const g = new EnvGroup('production');
    for (const r of ['a', 'b', 'c']) g.request(job(r), queue(3));
    expect(g.request(job('d'), queue(1)).answer.verdict).toBe('queued');
    expect(runs(g.snapshot().running)).toEqual(['a', 'b', 'c']);
    expect(g.release(job('a'))).toEqual([]);
    expect(g.release(job('b'))).toEqual([]);
    expect(g.release(job('c'))).toEqual([{ runId: 'd', jobId: 'deploy', verdict: 'admitted' }]);
  });

  it('raised: the waiters go at once, whether a request or a configure says so', () => {
    const g = new EnvGroup('production');
    for (const r of ['a', 'b', 'c', 'd']) g.request(job(r), queue(1));
    const { answer, notices } = g.request(job('e'), queue(3));
    expect(answer.verdict).toBe('queued');
    expect(runs(notices)).toEqual(['b', 'c']);
    expect(runs(g.configure(queue(null)))).toEqual(['d', 'e']);
  });

  it('limit 0 admits nobody (a pause) until the limit is raised', () => {
    const g = new EnvGroup('production');
    for (const r of ['a', 'b']) expect(g.request(job(r), queue(0)).answer.verdict).toBe('queued');
    expect(g.snapshot().running).toEqual([]);
    expect(g.configure(queue(1))).toEqual([{ runId: 'a', jobId: 'deploy', verdict: 'admitted' }]);
  });

  it('ignores rules older than the ones it has (a request delivered late)', () => {
    const g = new EnvGroup('production');
    g.configure(queue(1, 200));
    g.request(job('a'), queue(5, 100));
    expect(g.request(job('b'), queue(5, 100)).answer.verdict).toBe('queued');
    expect(g.snapshot().settings).toEqual(queue(1, 200));
    expect(runs(g.configure(queue(2, 300)))).toEqual(['b']);
  });
});

describe('EnvGroup: recover', () => {
  it('rebuilds from the store: running jobs keep their slots even over the limit, waiters line up in order', () => {
    const g = new EnvGroup('production');
    expect(g.recover([job('a'), job('b')], [job('c'), job('d')], queue(1))).toEqual([]);
    expect(g.snapshot()).toEqual({ settings: queue(1), running: [job('a'), job('b')], waiting: [job('c'), job('d')] });
    expect(g.release(job('a'))).toEqual([]);
    expect(runs(g.release(job('b')))).toEqual(['c']);
  });

  it('admits waiters at once when there is room', () => {
    const g = new EnvGroup('production');
    expect(runs(g.recover([job('a')], [job('b'), job('c'), job('d')], queue(3)))).toEqual(['b', 'c']);
  });

  it('admits nobody until it knows the rules', () => {
    const g = new EnvGroup('production');
    expect(g.recover([], [job('a')])).toEqual([]);
    expect(g.request(job('a'), queue(1)).answer.verdict).toBe('admitted');
  });

  it('keeps the slot of a job it admitted that the store still shows waiting, and drops jobs that ended', () => {
    const g = new EnvGroup('production');
    g.request(job('ended'), queue(1));
    g.request(job('next'), queue(1));
    g.release(job('ended'));
    g.request(job('later'), queue(1));
    // The store has not seen `next` admitted yet; `ended` is gone from it.
    expect(g.recover([], [job('next'), job('later')])).toEqual([]);
    expect(g.snapshot().running).toEqual([job('next')]);
    expect(g.snapshot().waiting).toEqual([job('later')]);
  });

  it('keeps a job it cancelled out of line, unless the store shows it holding a slot', () => {
    const g = new EnvGroup('production');
    g.request(job('r1'), cancelPending(1));
    g.request(job('r2'), cancelPending(1));
    g.request(job('r3'), cancelPending(1));
    g.recover([job('r1')], [job('r2'), job('r3')]);
    expect(runs(g.snapshot().waiting)).toEqual(['r3']);
    g.recover([job('r2')], []);
    expect(g.request(job('r2'), cancelPending(1)).answer.verdict).toBe('admitted');
  });
});

import { describe, expect, it } from 'vitest';
import { ConcurrencyGroups, groupKey, groupOfKey, groupedRun, type GroupedRun } from '../../../src/runs/index.js';

const run = (runId: string, o: Partial<GroupedRun> = {}): GroupedRun => ({ runId, key: 'g', max: 1, cancelInProgress: true, ...o });
const queued = (runId: string, o: Partial<GroupedRun> = {}) => run(runId, { cancelInProgress: false, ...o });

describe('ConcurrencyGroups with cancelInProgress', () => {
  it('starts the new run and supersedes the older active one', () => {
    const g = new ConcurrencyGroups();
    expect(g.admit(run('a'))).toEqual({ start: ['a'], supersede: [] });
    expect(g.admit(run('b'))).toEqual({ start: ['b'], supersede: ['a'] });
    // a is still active (cancelling) until it finishes, and is not superseded twice
    expect(g.snapshot('g')).toEqual({ active: ['a', 'b'], waiting: [] });
    expect(g.admit(run('c'))).toEqual({ start: ['c'], supersede: ['b'] });
  });

  it('keeps max - 1 older runs when max is above one', () => {
    const g = new ConcurrencyGroups();
    g.admit(run('a', { max: 2 }));
    expect(g.admit(run('b', { max: 2 })).supersede).toEqual([]);
    expect(g.admit(run('c', { max: 2 })).supersede).toEqual(['a']);
  });

  it('supersedes runs that were waiting in the group', () => {
    const g = new ConcurrencyGroups();
    g.admit(queued('a'));
    expect(g.admit(queued('b')).start).toEqual([]);
    expect(g.admit(run('c'))).toEqual({ start: ['c'], supersede: ['a', 'b'] });
    expect(g.snapshot('g').waiting).toEqual([]);
    // the superseded waiting run finishing later changes nothing
    expect(g.release('b')).toEqual({ start: [], supersede: [] });
  });

  it('repeats the stop, and nothing else, when a superseded run asks again', () => {
    const g = new ConcurrencyGroups();
    g.admit(run('a'));
    g.admit(queued('b'));
    g.admit(run('c'));
    expect(g.admit(queued('b'))).toEqual({ start: [], supersede: ['b'] });
    expect(g.admit(run('a'))).toEqual({ start: [], supersede: ['a'] });
    expect(g.snapshot('g')).toEqual({ active: ['a', 'c'], waiting: [] });
    expect(g.known('g')).toEqual(['a', 'c', 'b']);
  });

  it('does not supersede a resumed run that is cancelling already', () => {
    const g = new ConcurrencyGroups();
    g.resume(run('old'), true);
    expect(g.admit(run('new'))).toEqual({ start: ['new'], supersede: [] });
    expect(g.snapshot('g').active).toEqual(['old', 'new']);
  });

  it('keeps groups apart', () => {
    const g = new ConcurrencyGroups();
    g.admit(run('a', { key: 'x' }));
    expect(g.admit(run('b', { key: 'y' })).supersede).toEqual([]);
  });
});

describe('ConcurrencyGroups in queue mode', () => {
  it('lets runs wait first come first served until a place frees', () => {
    const g = new ConcurrencyGroups();
    expect(g.admit(queued('a')).start).toEqual(['a']);
    expect(g.admit(queued('b')).start).toEqual([]);
    expect(g.admit(queued('c')).start).toEqual([]);
    expect(g.release('a')).toEqual({ start: ['b'], supersede: [] });
    expect(g.release('b').start).toEqual(['c']);
    expect(g.release('c').start).toEqual([]);
    expect(g.snapshot('g')).toEqual({ active: [], waiting: [] });
  });

  it('runs up to max at once', () => {
    const g = new ConcurrencyGroups();
    expect(g.admit(queued('a', { max: 2 })).start).toEqual(['a']);
    expect(g.admit(queued('b', { max: 2 })).start).toEqual(['b']);
    expect(g.admit(queued('c', { max: 2 })).start).toEqual([]);
    expect(g.release('b').start).toEqual(['c']);
  });

  it('drops a waiting run that was cancelled without starting anyone', () => {
    const g = new ConcurrencyGroups();
    g.admit(queued('a'));
    g.admit(queued('b'));
    g.admit(queued('c'));
    expect(g.release('b').start).toEqual([]);
    expect(g.release('a').start).toEqual(['c']);
  });

  it('answers a repeated admit without changing places', () => {
    const g = new ConcurrencyGroups();
    g.admit(queued('a'));
    g.admit(queued('b'));
    expect(g.admit(queued('a')).start).toEqual(['a']);
    expect(g.admit(queued('b')).start).toEqual([]);
    expect(g.snapshot('g')).toEqual({ active: ['a'], waiting: ['b'] });
  });

  it('counts runs resumed after a restart as active', () => {
    const g = new ConcurrencyGroups();
    g.resume(queued('old'));
    expect(g.admit(queued('new')).start).toEqual([]);
    expect(g.release('old').start).toEqual(['new']);
  });
});

describe('concurrency group identity', () => {
  it('keys a group by source, workflow and group string, and reads the key back', () => {
    const key = groupKey({ sourceId: 'src_1', workflowName: 'deploy', group: 'prod' });
    expect(key).toBe('["src_1","deploy","prod"]');
    expect(groupOfKey(key)).toEqual({ sourceId: 'src_1', workflowName: 'deploy', group: 'prod' });
    expect(groupOfKey(groupKey({ sourceId: null, workflowName: 'w', group: 'a"b' }))).toEqual({ sourceId: null, workflowName: 'w', group: 'a"b' });
    expect(() => groupOfKey('run-1')).toThrow();
    expect(() => groupOfKey('[1,2,3]')).toThrow();
  });

  it('takes a run outside any group as ungrouped', () => {
    expect(groupedRun({ runId: 'a', status: 'pending', workflowName: 'ci' })).toBeNull();
    expect(groupedRun({ runId: 'a', status: 'pending', sourceId: 's', workflowName: 'ci', concurrency: { group: 'g', cancelInProgress: false, max: 2 } })).toEqual({
      runId: 'a',
      key: '["s","ci","g"]',
      max: 2,
      cancelInProgress: false,
    });
  });
});

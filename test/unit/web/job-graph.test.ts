import { describe, expect, it } from 'vitest';
import { type GraphJob, layoutJobs } from '../../../web/src/job-graph.js';

const job = (name: string, needs: string[] = [], extra: Partial<GraphJob> = {}): GraphJob => ({ id: `id-${name}`, name, baseName: name, needs, ...extra });
const names = (layout: ReturnType<typeof layoutJobs>) => layout.columns.map((c) => c.map((u) => u.name));

describe('the job graph of a run', () => {
  it('puts a diamond in three columns with an edge per need', () => {
    const layout = layoutJobs([job('deploy', ['test', 'lint']), job('lint', ['build']), job('test', ['build']), job('build')]);
    expect(names(layout)).toEqual([['build'], ['lint', 'test'], ['deploy']]);
    expect(layout.edges).toEqual(
      expect.arrayContaining([
        { from: 'job:id-build', to: 'job:id-lint' },
        { from: 'job:id-build', to: 'job:id-test' },
        { from: 'job:id-test', to: 'job:id-deploy' },
        { from: 'job:id-lint', to: 'job:id-deploy' },
      ]),
    );
    expect(layout.edges).toHaveLength(4);
  });

  it('places a job by its longest path, not its shortest', () => {
    const layout = layoutJobs([job('a'), job('b', ['a']), job('c', ['b']), job('d', ['a', 'c'])]);
    expect(names(layout)).toEqual([['a'], ['b'], ['c'], ['d']]);
  });

  it('groups matrix cells under their base name, with one edge per group', () => {
    const cell = (v: string) => job(`test (node ${v})`, ['build'], { id: `test-${v}`, baseName: 'test', matrix: { node: v } });
    const layout = layoutJobs([job('build'), cell('18'), cell('20'), cell('22'), job('deploy', ['test'])]);
    expect(names(layout)).toEqual([['build'], ['test'], ['deploy']]);
    const group = layout.columns[1][0];
    expect(group.kind).toBe('matrix');
    expect(group.key).toBe('matrix:test');
    expect(group.jobs.map((j) => j.id)).toEqual(['test-18', 'test-20', 'test-22']);
    expect(layout.edges).toEqual([
      { from: 'job:id-build', to: 'matrix:test' },
      { from: 'matrix:test', to: 'job:id-deploy' },
    ]);
  });

  it('treats a single cell with a matrix as a group too, and a need naming a cell as its group', () => {
    const layout = layoutJobs([
      job('lint (os linux)', [], { id: 'l', baseName: 'lint', matrix: { os: 'linux' } }),
      job('report', ['lint (os linux)']),
    ]);
    expect(layout.columns[0][0].kind).toBe('matrix');
    expect(layout.edges).toEqual([{ from: 'matrix:lint', to: 'job:id-report' }]);
  });

  it('ignores a need naming no job, and jobs without needs or baseName at all', () => {
    const layout = layoutJobs([{ id: '1', name: 'a' }, job('b', ['ghost', 'a']), { id: '3', name: 'c', needs: null }]);
    expect(names(layout)).toEqual([['a', 'c'], ['b']]);
    expect(layout.edges).toEqual([{ from: 'job:1', to: 'job:id-b' }]);
  });

  it('breaks a cycle instead of looping or throwing', () => {
    const layout = layoutJobs([job('a', ['c']), job('b', ['a']), job('c', ['b']), job('self', ['self'])]);
    const placed = layout.columns.flat().map((u) => u.name).sort();
    expect(placed).toEqual(['a', 'b', 'c', 'self']);
    expect(layout.columns.every((c) => c.length > 0)).toBe(true);
    expect(layout.edges).not.toContainEqual({ from: 'job:id-self', to: 'job:id-self' });
  });

  it('lays out no jobs as no columns', () => {
    expect(layoutJobs([])).toEqual({ columns: [], edges: [] });
  });
});

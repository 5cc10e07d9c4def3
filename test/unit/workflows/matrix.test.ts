import { describe, it, expect } from 'vitest';
import {
  expandMatrix,
  matrixChildName,
  matrixProblem,
  MatrixError,
  MAX_MATRIX_CHILDREN,
  type Matrix,
} from '../../../src/workflows/index.js';
import { LOCKFILE_EXAMPLE, lockfileOf } from './fixtures.js';

const names = (base: string, matrix: Matrix) => expandMatrix(matrix).map((child) => matrixChildName(base, child));

describe('expandMatrix', () => {
  it('expands the LOCKFILE.md example to three children', () => {
    const test = lockfileOf(JSON.parse(LOCKFILE_EXAMPLE)).workflows[0].jobs[1];
    const children = expandMatrix(test.matrix!);
    expect(children.map((c) => matrixChildName('test', c))).toEqual(['test (20, 1)', 'test (22, 1)', 'test (22, 2)']);
    expect(children.map((c) => c.values)).toEqual([
      { node: '20', shard: '1' },
      { node: '22', shard: '1' },
      { node: '22', shard: '2' },
    ]);
  });

  it('sorts dimension names, whatever the order in the file', () => {
    expect(names('t', { shard: ['1', '2'], arch: ['x64'] })).toEqual(['t (x64, 1)', 't (x64, 2)']);
  });

  it('names single-dimension children with one value', () => {
    expect(names('test', { node: ['20', '22'] })).toEqual(['test (20)', 'test (22)']);
  });

  it('drops combinations that match every key of an exclude, and ignores {}', () => {
    const matrix: Matrix = { os: ['linux', 'mac'], node: ['20', '22'], exclude: [{ os: 'mac' }, {}] };
    expect(names('t', matrix)).toEqual(['t (20, linux)', 't (22, linux)']);
  });

  it('adds includes after excludes, ignoring {} and exact duplicates', () => {
    const matrix: Matrix = {
      node: ['20', '22'],
      exclude: [{ node: '20' }],
      include: [{ node: '20' }, { node: '22' }, {}, { node: '24', experimental: 'yes' }],
    };
    const children = expandMatrix(matrix);
    expect(children.map((c) => matrixChildName('t', c))).toEqual(['t (22)', 't (20)', 't (yes, 24)']);
    expect(children[2].values).toEqual({ node: '24', experimental: 'yes' });
  });

  it('builds a matrix from includes alone', () => {
    expect(names('t', { include: [{ os: 'linux' }] })).toEqual(['t (linux)']);
  });

  it('refuses zero children', () => {
    expect(() => expandMatrix({})).toThrow(MatrixError);
    expect(matrixProblem({ node: ['20'], exclude: [{ node: '20' }] })).toBe('matrix expands to zero children');
  });

  it('caps children at 256 and counts includes', () => {
    const values = Array.from({ length: 16 }, (_, i) => String(i));
    expect(expandMatrix({ a: values, b: values })).toHaveLength(MAX_MATRIX_CHILDREN);
    expect(matrixProblem({ a: values, b: values, include: [{ a: 'x' }] })).toBe(
      'matrix expands to 257 children (at most 256)',
    );
  });

  it('lets excludes bring a large product under the cap', () => {
    const values = Array.from({ length: 20 }, (_, i) => String(i));
    const matrix = { a: values, b: values, exclude: values.slice(10).map((a) => ({ a })) };
    expect(expandMatrix(matrix)).toHaveLength(200);
  });

  it('refuses a huge product before enumerating it', () => {
    const values = Array.from({ length: 100 }, (_, i) => String(i));
    expect(matrixProblem({ a: values, b: values, c: values })).toBe(
      'matrix has 1000000 combinations (at most 256 children)',
    );
  });

  it('refuses two different children with the same name', () => {
    expect(matrixProblem({ include: [{ a: '1' }, { b: '1' }] })).toBe('two matrix children share the name suffix (1)');
  });
});

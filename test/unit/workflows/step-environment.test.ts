import { describe, it, expect } from 'vitest';
import {
  envNamePart,
  matrixEnv,
  needsEnv,
  needsFile,
  groupStatus,
  parseOutputFile,
  type UpstreamResult,
} from '../../../src/workflows/index.js';

describe('matrixEnv', () => {
  it('upper-cases dimension names and turns non-alphanumerics into _', () => {
    expect(matrixEnv({ node: '20', 'node-version': '22', 'os.arch': 'x64' })).toEqual({
      KICI_MATRIX_NODE: '20',
      KICI_MATRIX_NODE_VERSION: '22',
      KICI_MATRIX_OS_ARCH: 'x64',
    });
  });

  it('is empty for a job without a matrix', () => {
    expect(matrixEnv(null)).toEqual({});
  });

  it('names parts the same way everywhere', () => {
    expect(envNamePart('deploy.prod-eu')).toBe('DEPLOY_PROD_EU');
  });
});

const build: UpstreamResult = { name: 'build', baseName: 'build', status: 'success', outputs: { version: '1.2.3' } };
const testChildren: UpstreamResult[] = [
  { name: 'test (22)', baseName: 'test', matrix: { node: '22' }, status: 'success', outputs: { report: 'r22', only22: 'y' } },
  { name: 'test (20)', baseName: 'test', matrix: { node: '20' }, status: 'success', outputs: { report: 'r20', only20: 'x' } },
];

describe('needsEnv', () => {
  it('exposes each upstream output as KICI_NEEDS_<JOB>_<KEY>', () => {
    expect(needsEnv([build])).toEqual({ KICI_NEEDS_BUILD_VERSION: '1.2.3' });
  });

  it('takes the last matrix child in name order that set a key', () => {
    expect(needsEnv(testChildren)).toEqual({
      KICI_NEEDS_TEST_REPORT: 'r22',
      KICI_NEEDS_TEST_ONLY20: 'x',
      KICI_NEEDS_TEST_ONLY22: 'y',
    });
  });

  it('normalises job and key names', () => {
    const up: UpstreamResult = { name: 'e2e-web', baseName: 'e2e-web', status: 'success', outputs: { 'image.tag': 'abc' } };
    expect(needsEnv([up])).toEqual({ KICI_NEEDS_E2E_WEB_IMAGE_TAG: 'abc' });
  });
});

describe('needsFile', () => {
  it('describes plain and matrix upstreams', () => {
    expect(needsFile([build, ...testChildren])).toEqual({
      build: { status: 'success', outputs: { version: '1.2.3' }, children: {} },
      test: {
        status: 'success',
        outputs: { report: 'r22', only20: 'x', only22: 'y' },
        children: {
          'test (20)': { status: 'success', outputs: { report: 'r20', only20: 'x' } },
          'test (22)': { status: 'success', outputs: { report: 'r22', only22: 'y' } },
        },
      },
    });
  });

  it('gives a matrix job a failed status when any child failed', () => {
    const failed = [{ ...testChildren[0], status: 'failed' }, testChildren[1]];
    expect(needsFile(failed).test.status).toBe('failed');
    expect(needsFile(failed).test.children['test (22)'].status).toBe('failed');
  });
});

describe('groupStatus', () => {
  it('follows the run outcome order', () => {
    expect(groupStatus(['success', 'timed_out_stale', 'cancelled'])).toBe('failed');
    expect(groupStatus(['success', 'cancelled'])).toBe('cancelled');
    expect(groupStatus(['skipped', 'skipped'])).toBe('skipped');
    expect(groupStatus(['success', 'skipped'])).toBe('success');
    expect(groupStatus(['skipped'])).toBe('skipped');
  });
});

describe('parseOutputFile', () => {
  it('reads key=value lines, later lines winning', () => {
    expect(parseOutputFile('version=1.0\nname=app\nversion=2.0\n')).toEqual({ version: '2.0', name: 'app' });
  });

  it('ignores blank lines and lines without =', () => {
    expect(parseOutputFile('\n\njust text\n  \nk=v\n=nokey\n')).toEqual({ k: 'v' });
  });

  it('keeps everything after the first = and handles CRLF', () => {
    expect(parseOutputFile('url=https://x/?a=b\r\nempty=\r\n')).toEqual({ url: 'https://x/?a=b', empty: '' });
  });

  it('stores a __proto__ key as a plain output', () => {
    const outputs = parseOutputFile('__proto__=x\n');
    expect(Object.keys(outputs)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(outputs)).toBe(Object.prototype);
  });
});

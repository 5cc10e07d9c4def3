/** The S3 storage variables: defaults, what each refuses, and what is said when they are unused. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/server/config.js';
import { orchestratorVariable } from '../../../src/server/variables.js';
import { problemsOf } from './config-problems.js';

const s3 = { KICI_STORAGE_TYPE: 's3', KICI_STORAGE_BUCKET: 'kici-ci' };

describe('KICI_STORAGE_TYPE=s3', () => {
  it('needs a bucket, and says which variable to set', () => {
    expect(problemsOf({ KICI_STORAGE_TYPE: 's3' })).toEqual([expect.stringMatching(/^KICI_STORAGE_TYPE=s3: set KICI_STORAGE_BUCKET/)]);
  });

  it('defaults: AWS endpoints, us-east-1, virtual-host addressing, no prefix, checksums only where required, logs in the same bucket', () => {
    const c = loadConfig(s3);
    expect(c.storageType).toBe('s3');
    expect(c.s3).toEqual({
      bucket: 'kici-ci',
      logBucket: undefined,
      region: 'us-east-1',
      endpoint: undefined,
      forcePathStyle: false,
      prefix: '',
      checksums: 'when_required',
      externalEndpoint: undefined,
      uploadEndpoint: undefined,
    });
    expect(c.warnings).toEqual([]);
    // The README's defaults are the ones applied.
    expect(orchestratorVariable('KICI_STORAGE_REGION')?.default).toBe(c.s3!.region);
    expect(orchestratorVariable('KICI_STORAGE_CHECKSUMS')?.default).toBe(c.s3!.checksums);
    expect(orchestratorVariable('KICI_STORAGE_FORCE_PATH_STYLE')?.default).toBe(String(c.s3!.forcePathStyle));
  });

  it('reads every S3 setting for a compatible server', () => {
    const c = loadConfig({
      ...s3,
      KICI_STORAGE_LOG_BUCKET: 'kici-logs',
      KICI_STORAGE_REGION: 'eu-west-3',
      KICI_STORAGE_ENDPOINT: 'http://minio:9000',
      KICI_STORAGE_FORCE_PATH_STYLE: 'true',
      KICI_STORAGE_PREFIX: 'ci/kici/',
      KICI_STORAGE_CHECKSUMS: 'when_supported',
      KICI_STORAGE_EXTERNAL_ENDPOINT: 'https://s3.example.com',
      KICI_STORAGE_UPLOAD_ENDPOINT: 'https://uploads.example.com:8443/',
    });
    expect(c.s3).toEqual({
      bucket: 'kici-ci',
      logBucket: 'kici-logs',
      region: 'eu-west-3',
      endpoint: 'http://minio:9000',
      forcePathStyle: true,
      prefix: 'ci/kici/',
      checksums: 'when_supported',
      externalEndpoint: 'https://s3.example.com',
      uploadEndpoint: 'https://uploads.example.com:8443/',
    });
  });

  it('refuses bad values by name', () => {
    const bad = problemsOf({
      ...s3,
      KICI_STORAGE_BUCKET: 'Not_A_Bucket',
      KICI_STORAGE_ENDPOINT: 'minio:9000',
      KICI_STORAGE_EXTERNAL_ENDPOINT: 'ftp://x',
      KICI_STORAGE_UPLOAD_ENDPOINT: 'not a url',
      KICI_STORAGE_FORCE_PATH_STYLE: 'sure',
      KICI_STORAGE_PREFIX: 'a/../b',
      KICI_STORAGE_CHECKSUMS: 'always',
    });
    for (const name of ['KICI_STORAGE_BUCKET', 'KICI_STORAGE_ENDPOINT', 'KICI_STORAGE_EXTERNAL_ENDPOINT', 'KICI_STORAGE_UPLOAD_ENDPOINT', 'KICI_STORAGE_FORCE_PATH_STYLE', 'KICI_STORAGE_PREFIX']) {
      expect(bad.some((p) => p.startsWith(`${name}:`)), name).toBe(true);
    }
    expect(bad).toContain('KICI_STORAGE_CHECKSUMS: must be when_required or when_supported');
  });

  it('never quotes an endpoint with credentials in it', () => {
    const problems = problemsOf({ ...s3, KICI_STORAGE_ENDPOINT: 'http://minio:hunter22@minio:9000' });
    expect(problems).toEqual([expect.stringMatching(/^KICI_STORAGE_ENDPOINT: must not hold credentials/)]);
    expect(problems.join()).not.toContain('hunter22');
  });
});

describe('S3 settings without S3 storage', () => {
  it('are checked, and said to be unused', () => {
    const c = loadConfig({ KICI_STORAGE_BUCKET: 'kici-ci', KICI_STORAGE_REGION: 'eu-west-1' });
    expect(c.s3).toBeUndefined();
    expect(c.warnings).toEqual([
      'KICI_STORAGE_BUCKET is not used: KICI_STORAGE_TYPE is filesystem, not s3',
      'KICI_STORAGE_REGION is not used: KICI_STORAGE_TYPE is filesystem, not s3',
    ]);
    expect(problemsOf({ KICI_STORAGE_TYPE: 'database', KICI_STORAGE_BUCKET: 'x' })[0]).toMatch(/^KICI_STORAGE_BUCKET: must be an S3 bucket name/);
  });
});

describe('KICI_CACHE_TTL_DAYS', () => {
  it('defaults to 30 and takes longer lifetimes', () => {
    expect(loadConfig({}).cacheTtlDays).toBe(30);
    expect(loadConfig({ KICI_CACHE_TTL_DAYS: '90' }).cacheTtlDays).toBe(90);
    expect(orchestratorVariable('KICI_CACHE_TTL_DAYS')).toMatchObject({ default: '30', handling: 'read' });
  });

  it('refuses anything under 30 days at start, saying why', () => {
    expect(problemsOf({ KICI_CACHE_TTL_DAYS: '29' })).toEqual([
      'KICI_CACHE_TTL_DAYS: must be at least 30 (days): cached entries are relied on for 30 days, so bucket lifecycle rules must keep objects at least that long',
    ]);
    expect(problemsOf({ KICI_CACHE_TTL_DAYS: '30.5' })).toEqual(['KICI_CACHE_TTL_DAYS: must be a whole number of days']);
  });
});

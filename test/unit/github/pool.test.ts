import { describe, expect, it } from 'vitest';
import { GitHubAppPool, splitRepo } from '../../../src/github/index.js';

describe('GitHubAppPool', () => {
  const key = (n: number) => `-----BEGIN PRIVATE KEY-----\nkey${n}\n-----END PRIVATE KEY-----`;

  it('keeps one client per app while its key and URL stay the same, and replaces it on rotation', () => {
    const pool = new GitHubAppPool({ baseUrl: 'http://127.0.0.1:1' });
    const a = pool.get({ appId: 1, privateKey: key(1) });
    expect(pool.get({ appId: '1', privateKey: key(1) })).toBe(a);
    expect(pool.get({ appId: 2, privateKey: key(1) })).not.toBe(a);
    const rotated = pool.get({ appId: 1, privateKey: key(2) });
    expect(rotated).not.toBe(a);
    expect(pool.get({ appId: 1, privateKey: key(2), baseUrl: 'http://127.0.0.1:2' })).not.toBe(rotated);
    pool.forget(1);
    expect(pool.lockfileStats()).toEqual({ hits: 0, misses: 0 });
  });

  it('splitRepo takes owner/name apart', () => {
    expect(splitRepo('octo/hello-world')).toEqual({ owner: 'octo', repo: 'hello-world' });
    expect(() => splitRepo('no-slash')).toThrow('owner/name');
  });
});

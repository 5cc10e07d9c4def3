import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GitHubError, nextLink, redact } from '../../../src/github/index.js';

describe('redact', () => {
  it('removes known secrets and anything shaped like a token, a JWT or a key', () => {
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOjF9.c2lnbmF0dXJlLWJ5dGVz';
    const text = [
      'token ghs_abcdefghijklmnopqrstuvwxyz0123456789',
      `bearer ${jwt}`,
      '-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\n-----END RSA PRIVATE KEY-----',
      'Authorization: basic eC1hY2Nlc3MtdG9rZW46c2VjcmV0',
      'a custom secret: hunter2hunter2',
    ].join('\n');
    const out = redact(text, ['hunter2hunter2']);
    expect(out).not.toMatch(/ghs_|eyJ|MIIE|eC1hY2Nlc3M|hunter2/);
    expect(out).toContain('[REDACTED]');
  });

  it('leaves ordinary messages alone', () => {
    const message = 'GitHub GET /repos/o/r/contents/.kici/kici.lock.json?ref=abc: 502 Bad Gateway';
    expect(redact(message, ['short'])).toBe(message);
  });
});

describe('GitHubError', () => {
  it('is retryable only for the retryable kind', () => {
    expect(new GitHubError('x', 'retryable', 502).retryable).toBe(true);
    for (const kind of ['auth', 'not_found', 'refused'] as const) expect(new GitHubError('x', kind).retryable).toBe(false);
  });
});

describe('nextLink', () => {
  it('reads rel="next" from a Link header as GitHub writes it', () => {
    // The layout of the paginate-issues fixture in @octokit/fixtures.
    const link =
      '<https://api.github.com/repositories/1000/issues?per_page=3&page=1>; rel="prev", <https://api.github.com/repositories/1000/issues?per_page=3&page=3>; rel="next", <https://api.github.com/repositories/1000/issues?per_page=3&page=5>; rel="last", <https://api.github.com/repositories/1000/issues?per_page=3&page=1>; rel="first"';
    expect(nextLink(link)).toBe('https://api.github.com/repositories/1000/issues?per_page=3&page=3');
    expect(nextLink('<https://x/?page=4>; rel="prev", <https://x/?page=1>; rel="first"')).toBeUndefined();
    expect(nextLink(undefined)).toBeUndefined();
  });
});

describe('the github room', () => {
  const dir = new URL('../../../src/github/', import.meta.url).pathname;
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
  const imports = files.flatMap((f) =>
    [...readFileSync(join(dir, f), 'utf8').matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]!),
  );

  it('imports only the leaf rooms clock and lru (through their doors), node built-ins and the Octokit packages', () => {
    const outside = imports.filter((i) => !i.startsWith('./'));
    expect(outside.filter((i) => !/^(\.\.\/(clock|lru)\/index\.js|node:.*|@octokit\/(core|auth-app))$/.test(i))).toEqual([]);
    expect(outside).toContain('@octokit/core');
    expect(outside).toContain('@octokit/auth-app');
  });
});

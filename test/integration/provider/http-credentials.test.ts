import { readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitError, GitMirrors, redactCredentials, runGit } from '../../../src/workflows/provider/index.js';
import { commit, git, newRepo, tempDir } from './git-fixture.js';

// A "dumb HTTP" git server: static files of a bare repository, which is all git needs to clone.
let root: string;
let server: Server;
let baseUrl: string;
const authorizations: (string | undefined)[] = [];
const requestUrls: string[] = [];

beforeAll(async () => {
  root = await tempDir('http');
  const work = await newRepo(root);
  await commit(work, { 'README.md': 'over http\n' });
  await git(root, 'clone', '-q', '--bare', work, join(root, 'served.git'));
  await git(join(root, 'served.git'), 'update-server-info');
  server = createServer((req, res) => {
    authorizations.push(req.headers.authorization);
    requestUrls.push(req.url ?? '');
    const path = normalize(decodeURIComponent((req.url ?? '/').split('?')[0]));
    readFile(join(root, path)).then(
      (data) => res.end(data),
      () => {
        res.statusCode = 404;
        res.end();
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(root, { recursive: true, force: true });
});

describe('http(s) sources', () => {
  it('send the token as an Authorization header, never in the URL', async () => {
    const token = 'ghp_not_a_real_token_123';
    const mirrors = new GitMirrors({ dataDir: join(root, 'data') });
    const dir = await mirrors.syncMirror({ id: 'src_http', url: `${baseUrl}/served.git`, token });
    expect(await git(dir, 'log', '--format=%s', '-1')).toBe('change');
    const expected = `Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`;
    expect(authorizations.length).toBeGreaterThan(0);
    expect(authorizations.every((value) => value === expected)).toBe(true);
    expect(requestUrls.join('\n')).not.toContain(token);
    // Nothing of the credential is persisted in the mirror's config.
    expect(await readFile(join(dir, 'config'), 'utf8')).not.toMatch(/extraheader|Basic/i);
  });
});

describe('runGit errors', () => {
  it('carry stderr with the given secrets redacted', async () => {
    const secret = 'tok_leaky_value_987';
    const error = await runGit(['rev-parse', '--verify', secret], { cwd: root, redact: [secret] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GitError);
    expect((error as GitError).message).not.toContain(secret);
    expect((error as GitError).stderr).not.toContain(secret);
    expect((error as GitError).args).toContain('***');
  });

  it('redactCredentials removes Authorization values and URL passwords', () => {
    const text = "fatal: unable to access 'https://me:pw123@host/r.git': Authorization: Basic abc==";
    const clean = redactCredentials(text);
    expect(clean).not.toContain('pw123');
    expect(clean).not.toContain('abc==');
  });
});

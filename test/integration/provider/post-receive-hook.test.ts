import { execFile, execFileSync } from 'node:child_process';
import { mkdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { installHook, postReceiveHookScript, verifyHmacSha256 } from '../../../src/webhooks/index.js';
import { commit, git, tempDir } from './git-fixture.js';

interface Received {
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

const SECRET = "hook-secret with 'quotes' and $dollar";
let root: string;
let server: Server;
let baseUrl: string;
let received: Received[] = [];

beforeAll(async () => {
  root = await tempDir('hook');
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      res.statusCode = 202;
      res.setHeader('content-type', 'application/json');
      res.end('{"status":"accepted"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(root, { recursive: true, force: true });
});

beforeEach(() => {
  received = [];
});

async function bareWithHook(name: string): Promise<string> {
  const bare = join(root, `${name}.git`);
  await git(root, 'init', '-q', '--bare', '-b', 'main', bare);
  const script = postReceiveHookScript({ url: `${baseUrl}/`, orgId: 'org1', sourceId: 'src_git1', secret: SECRET });
  await installHook(bare, script);
  return bare;
}

async function cloneOf(bare: string, name: string): Promise<string> {
  const dir = join(root, name);
  await git(root, 'clone', '-q', bare, dir);
  await git(dir, 'checkout', '-q', '-B', 'main');
  return dir;
}

function expectSigned(delivery: Received): void {
  const header = delivery.headers['x-signature-256'];
  expect(typeof header).toBe('string');
  expect(verifyHmacSha256(SECRET, delivery.body, header as string, { requirePrefix: true })).toBe(true);
}

describe('post-receive hook', () => {
  it('is written 0700 into hooks/ of a bare repository, and refuses to replace a foreign hook', async () => {
    const bare = await bareWithHook('perm');
    const info = await stat(join(bare, 'hooks', 'post-receive'));
    expect(info.mode & 0o777).toBe(0o700);
    // Re-installing our own hook is fine; someone else's is kept unless forced.
    await installHook(bare, '#!/bin/sh\n# kici post-receive hook\n');
    await writeFile(join(bare, 'hooks', 'post-receive'), '#!/bin/sh\necho mine\n');
    await expect(installHook(bare, 'x')).rejects.toThrow(/not written by kici/);
    expect(await readFile(join(bare, 'hooks', 'post-receive'), 'utf8')).toContain('echo mine');
  });

  it('posts one signed delivery per updated ref when you git push', async () => {
    const bare = await bareWithHook('pushed');
    const work = await cloneOf(bare, 'pushed-work');
    const sha = await commit(work, { 'README.md': 'x\n' }, 'first');
    await git(work, 'tag', 'v1.0');
    await git(work, 'push', '-q', 'origin', 'main', 'v1.0');

    expect(received).toHaveLength(2);
    for (const delivery of received) {
      expect(delivery.url).toBe('/webhook/org1/git/src_git1');
      expect(delivery.headers['content-type']).toBe('application/json');
      expectSigned(delivery);
    }
    const byRef = Object.fromEntries(received.map((d) => [JSON.parse(d.body.toString()).ref as string, d]));
    const main = JSON.parse(byRef['refs/heads/main'].body.toString());
    expect(main).toEqual({ ref: 'refs/heads/main', before: '0'.repeat(40), after: sha, repository: { name: 'pushed', url: `file://${bare}` } });
    expect(byRef['refs/heads/main'].headers['x-delivery-id']).toBe(`src_git1:refs/heads/main:${sha}`);
    expect(byRef['refs/tags/v1.0'].headers['x-delivery-id']).toBe(`src_git1:refs/tags/v1.0:${sha}`);
    // The secret stays out of everything sent.
    const wire = received.map((d) => JSON.stringify(d.headers) + d.body.toString()).join('');
    expect(wire).not.toContain(SECRET);
  });

  it('falls back to node fetch when curl is not installed', async () => {
    const bin = join(root, 'bin-without-curl');
    await mkdir(bin, { recursive: true });
    for (const tool of ['git', 'node', 'bash', 'basename', 'sed', 'env', 'mkdir', 'mv', 'rm']) {
      const path = execFileSync('bash', ['-c', `command -v ${tool}`]).toString().trim();
      await symlink(path, join(bin, tool));
    }
    const bare = await bareWithHook('nocurl');
    const work = await cloneOf(bare, 'nocurl-work');
    const sha = await commit(work, { 'a.txt': 'a\n' }, 'one');
    const output = await new Promise<string>((resolve, reject) => {
      execFile(
        join(bin, 'git'),
        ['push', 'origin', 'main'],
        { cwd: work, env: { PATH: bin, HOME: root, GIT_CONFIG_NOSYSTEM: '1' } },
        (error, _stdout, stderr) => (error ? reject(error) : resolve(stderr)),
      );
    });
    expect(output).toContain('kici: delivered refs/heads/main (202)');
    expect(received).toHaveLength(1);
    expectSigned(received[0]);
    expect(received[0].headers['x-delivery-id']).toBe(`src_git1:refs/heads/main:${sha}`);
  });

  it('never fails the push when the orchestrator is unreachable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const bare = join(root, 'unreachable.git');
    await git(root, 'init', '-q', '--bare', '-b', 'main', bare);
    await installHook(bare, postReceiveHookScript({ url: `http://127.0.0.1:${port}`, orgId: 'o', sourceId: 's', secret: SECRET }));
    const work = await cloneOf(bare, 'unreachable-work');
    await commit(work, { 'b.txt': 'b\n' }, 'one');
    const stderr = await new Promise<string>((resolve, reject) => {
      execFile('git', ['push', 'origin', 'main'], { cwd: work }, (error, _out, err) => (error ? reject(error) : resolve(err)));
    });
    expect(stderr).toContain('kici: delivery of refs/heads/main failed (HTTP 000)');
    expect(stderr).toContain('kici: 1 undelivered push(es) kept for later');
    expect(await git(bare, 'rev-parse', 'main')).toBe(await git(work, 'rev-parse', 'HEAD'));
  });

  it('contains the secret only as a single-quoted shell assignment', () => {
    const script = postReceiveHookScript({ url: 'http://h', orgId: 'o', sourceId: 's', secret: "it's" });
    expect(script).toContain(`kici_secret='it'\\''s'`);
    expect(script.split("it'\\''s").length).toBe(2);
  });
});

import { execFile } from 'node:child_process';
import { readdir, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installHook, postReceiveHookScript, spooledDeliveries } from '../../../src/webhooks/index.js';
import { kiciAdmin } from '../admin/admin-cli-run.js';
import { DeliveryReceiver } from './delivery-receiver.js';
import { commit, git, tempDir } from './git-fixture.js';

/**
 * The post-receive hook's spool with real git, a real bare repository, the installed hook and
 * real pushes: what kici could not take waits in <repo>/kici-spool and goes out, oldest first and
 * under its first delivery id, with the next push or `kici-admin source redeliver`.
 */
const SECRET = "spool-secret with 'quotes' and $dollar";
const ZERO = '0'.repeat(40);
let root: string;
let receiver: DeliveryReceiver;

beforeAll(async () => {
  root = await tempDir('hook-spool');
  receiver = await DeliveryReceiver.start(SECRET);
});

afterAll(async () => {
  await receiver.close();
  await rm(root, { recursive: true, force: true });
});

interface Repo {
  bare: string;
  work: string;
  sourceId: string;
}

/** A bare repository with the hook installed (each its own source id, so delivery ids never repeat across tests) and a clone. */
async function repo(name: string, url = receiver.url): Promise<Repo> {
  const bare = join(root, `${name}.git`);
  const sourceId = `src_${name}`;
  await git(root, 'init', '-q', '--bare', '-b', 'main', bare);
  await installHook(bare, postReceiveHookScript({ url, orgId: 'org1', sourceId, secret: SECRET }));
  const work = join(root, `${name}-work`);
  await git(root, 'clone', '-q', bare, work);
  await git(work, 'checkout', '-q', '-B', 'main');
  return { bare, work, sourceId };
}

/** `git push`; resolves with what it printed on stderr (the hook's lines come back as `remote:`). Fails if the push fails. */
function push(work: string, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', ['push', 'origin', ...args], { cwd: work, env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' } }, (error, _out, err) =>
      error ? reject(new Error(`git push failed: ${err}`)) : resolve(err),
    );
  });
}

const spoolOf = (r: Repo) => join(r.bare, 'kici-spool');
const idOf = (r: Repo, ref: string, sha: string) => `${r.sourceId}:${ref}:${sha}`;
const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('post-receive hook spool', () => {
  it('keeps pushes made while kici is down, privately and in order, and redeliver sends them under their first ids', async () => {
    receiver.reset(503);
    const r = await repo('down');
    const c1 = await commit(r.work, { 'a.txt': 'down 1\n' }, 'one');
    const first = await push(r.work, 'main');
    const c2 = await commit(r.work, { 'a.txt': 'down 2\n' }, 'two');
    await push(r.work, 'main');
    await git(r.work, 'checkout', '-q', '-b', 'feature');
    const c3 = await commit(r.work, { 'b.txt': 'feature\n' }, 'three');
    const last = await push(r.work, 'feature');

    expect(first).toContain('kici: delivery of refs/heads/main failed (HTTP 503)');
    expect(first).toContain('kici: 1 undelivered push(es) kept for later');
    expect(last).toContain(`kici: 3 undelivered push(es) kept for later in ${await realpath(spoolOf(r))}, oldest first:`);
    expect(last).toContain(`kici:   refs/heads/main ${c1.slice(0, 7)}..${c2.slice(0, 7)}`);
    expect(last).toContain(`kici-admin source redeliver ${r.sourceId} --repo ${await realpath(r.bare)}`);
    // Each push tried the oldest kept delivery once and stopped there: one timeout per push at most.
    expect(receiver.attempts.map((a) => [a.deliveryId, a.signed])).toEqual(Array(3).fill([idOf(r, 'refs/heads/main', c1), true]));
    expect(await git(r.bare, 'rev-parse', 'main', 'feature')).toBe(`${c2}\n${c3}`);

    const files = (await readdir(spoolOf(r))).sort();
    expect(files).toHaveLength(3);
    expect(await modeOf(spoolOf(r))).toBe(0o700);
    const texts = await Promise.all(files.map((f) => readFile(join(spoolOf(r), f), 'utf8')));
    for (const file of files) expect(await modeOf(join(spoolOf(r), file))).toBe(0o600);
    for (const text of texts) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain('sha256');
    }
    expect(texts).toEqual([
      `id=${idOf(r, 'refs/heads/main', c1)}\nref=refs/heads/main\nbefore=${ZERO}\nafter=${c1}\n`,
      `id=${idOf(r, 'refs/heads/main', c2)}\nref=refs/heads/main\nbefore=${c1}\nafter=${c2}\n`,
      `id=${idOf(r, 'refs/heads/feature', c3)}\nref=refs/heads/feature\nbefore=${ZERO}\nafter=${c3}\n`,
    ]);

    receiver.reset(202);
    const result = await kiciAdmin(['source', 'redeliver', r.sourceId, '--repo', r.bare]);
    expect(result.err).toBe('');
    expect(result.out).toContain('kici: delivered refs/heads/feature (202)');
    expect(result.out).toContain(`redeliver: 3 sent, nothing left in ${join(r.bare, 'kici-spool')}`);
    expect(result.code).toBe(0);
    expect(receiver.attempts.map((a) => [a.url, a.deliveryId, a.signed, a.status, a.body.ref, a.body.before, a.body.after])).toEqual([
      [`/webhook/org1/git/${r.sourceId}`, idOf(r, 'refs/heads/main', c1), true, 202, 'refs/heads/main', ZERO, c1],
      [`/webhook/org1/git/${r.sourceId}`, idOf(r, 'refs/heads/main', c2), true, 202, 'refs/heads/main', c1, c2],
      [`/webhook/org1/git/${r.sourceId}`, idOf(r, 'refs/heads/feature', c3), true, 202, 'refs/heads/feature', ZERO, c3],
    ]);
    expect(await readdir(spoolOf(r))).toEqual([]);
  });

  it('sends a leftover spool before the next push’s own delivery', async () => {
    receiver.reset(503);
    const r = await repo('leftover');
    const c1 = await commit(r.work, { 'a.txt': 'leftover 1\n' }, 'one');
    await push(r.work, 'main');
    expect(await spooledDeliveries(r.bare)).toHaveLength(1);

    receiver.reset(202);
    const c2 = await commit(r.work, { 'a.txt': 'leftover 2\n' }, 'two');
    const output = await push(r.work, 'main');
    expect(receiver.accepted.map((a) => a.deliveryId)).toEqual([idOf(r, 'refs/heads/main', c1), idOf(r, 'refs/heads/main', c2)]);
    expect(output.match(/kici: delivered refs\/heads\/main \(202\)/g)).toHaveLength(2);
    expect(output).not.toContain('kept for later');
    expect(await spooledDeliveries(r.bare)).toEqual([]);
  });

  it('does not keep a delivery kici refused with 404: a retry would get the same answer', async () => {
    receiver.reset(404);
    const r = await repo('unknown-source');
    await commit(r.work, { 'a.txt': 'refused\n' }, 'one');
    const output = await push(r.work, 'main');
    expect(output).toContain('kici: delivery of refs/heads/main refused (HTTP 404); not kept');
    expect(output).not.toContain('kept for later');
    expect(await spooledDeliveries(r.bare)).toEqual([]);

    receiver.reset(202);
    const c2 = await commit(r.work, { 'a.txt': 'accepted\n' }, 'two');
    await push(r.work, 'main');
    expect(receiver.attempts.map((a) => a.deliveryId)).toEqual([idOf(r, 'refs/heads/main', c2)]);
  });

  // What a retry could change is kept; any other answer is final, and 2xx (200 duplicate included) is delivered.
  it.each([
    [408, 1],
    [429, 1],
    [500, 1],
    [502, 1],
    [200, 0],
    [400, 0],
    [401, 0],
    [409, 0],
    [422, 0],
  ])('after an answer of HTTP %i keeps %i deliveries', async (status, kept) => {
    receiver.reset(status);
    const r = await repo(`answer-${status}`);
    await commit(r.work, { 'a.txt': `answer ${status}\n` }, 'one');
    await push(r.work, 'main');
    expect(receiver.attempts.map((a) => a.status)).toEqual([status]);
    expect(await spooledDeliveries(r.bare)).toHaveLength(kept);
  });

  it('keeps a push when nothing listens, and the spool outlives a re-installed hook', async () => {
    const port = await closedPort();
    const r = await repo('unreachable', `http://127.0.0.1:${port}`);
    const sha = await commit(r.work, { 'a.txt': 'nobody home\n' }, 'one');
    const output = await push(r.work, 'main');
    expect(output).toContain('kici: delivery of refs/heads/main failed (HTTP 000)');
    expect(output).toContain('kici: 1 undelivered push(es) kept for later');

    // The orchestrator moved: install-hook writes a hook with the new URL; the kept push is still there.
    receiver.reset(202);
    await installHook(r.bare, postReceiveHookScript({ url: receiver.url, orgId: 'org1', sourceId: r.sourceId, secret: SECRET }));
    const result = await kiciAdmin(['source', 'redeliver', r.sourceId, '--repo', r.bare, '--json']);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.out) as { sent: { id: string }[]; remaining: unknown[] };
    expect(report.sent.map((d) => d.id)).toEqual([idOf(r, 'refs/heads/main', sha)]);
    expect(report.remaining).toEqual([]);
    expect(result.err).toContain('kici: delivered refs/heads/main (202)');
    expect(receiver.accepted.map((a) => [a.deliveryId, a.signed])).toEqual([[idOf(r, 'refs/heads/main', sha), true]]);
  });

  it('redeliver while kici is still down tries once, keeps everything, says what remains and exits 1', async () => {
    receiver.reset(503);
    const r = await repo('still-down');
    const c1 = await commit(r.work, { 'a.txt': 'still 1\n' }, 'one');
    await push(r.work, 'main');
    const c2 = await commit(r.work, { 'a.txt': 'still 2\n' }, 'two');
    await push(r.work, 'main');
    const before = await spooledDeliveries(r.bare);
    receiver.reset(503);

    const result = await kiciAdmin(['source', 'redeliver', r.sourceId, '--repo', r.bare]);
    expect(result.code).toBe(1);
    expect(result.err).toContain('kici: delivery of refs/heads/main failed (HTTP 503)');
    expect(result.err).toContain(`kici:   refs/heads/main ${c1.slice(0, 7)}..${c2.slice(0, 7)}`);
    expect(result.out).toContain('redeliver: 0 sent, 2 still kept in');
    expect(receiver.attempts.map((a) => a.deliveryId)).toEqual([idOf(r, 'refs/heads/main', c1)]);
    expect(await spooledDeliveries(r.bare)).toEqual(before);
  });

  it('redeliver with an empty spool has nothing to do and exits 0', async () => {
    receiver.reset(202);
    const r = await repo('empty');
    const result = await kiciAdmin(['source', 'redeliver', r.sourceId, '--repo', r.bare]);
    expect(result.out).toContain('redeliver: 0 sent, nothing left');
    expect(result.code).toBe(0);
    expect(receiver.attempts).toEqual([]);
  });

  // Without --repo, redeliver asks the orchestrator to reconcile (test/e2e/webhooks/reconcile.test.ts).
  it('redeliver refuses what it cannot do with exit 2: another source’s hook, no hook, a hook without a spool', async () => {
    const r = await repo('usage');
    const other = await kiciAdmin(['source', 'redeliver', 'src_other', '--repo', r.bare]);
    expect([other.code, other.err]).toEqual([2, `kici-admin: the hook in ${r.bare} reports to source ${r.sourceId}, not src_other\n`]);

    const plain = join(root, 'no-hook.git');
    await git(root, 'init', '-q', '--bare', plain);
    const none = await kiciAdmin(['source', 'redeliver', r.sourceId, '--repo', plain]);
    expect(none.code).toBe(2);
    expect(none.err).toContain('has no kici post-receive hook');

    // A hook from before the spool would read refs from stdin; running it would pretend success.
    await writeFile(join(r.bare, 'hooks', 'post-receive'), `#!/usr/bin/env bash\n# kici post-receive hook\nkici_source_id='${r.sourceId}'\n`);
    const old = await kiciAdmin(['source', 'redeliver', r.sourceId, '--repo', r.bare]);
    expect(old.code).toBe(2);
    expect(old.err).toContain('predates the spool');
  });
});

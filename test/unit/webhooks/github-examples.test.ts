/**
 * GitHub normalisation on GitHub's own payloads: every example @octokit/webhooks-examples holds for
 * each supported event (api.github.com), and the fields matching reads checked against the payload.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { normaliseDelivery, PULL_REQUEST_ACTIONS } from '../../../src/webhooks/index.js';

// Example payloads are read as GitHub wrote them; the assertions name the fields they check.
type Payload = Record<string, any>;
const require = createRequire(import.meta.url);
const catalog = require('@octokit/webhooks-examples/api.github.com/index.json') as { name: string; examples: Payload[] }[];

function examples(name: string): Payload[] {
  const found = catalog.find((e) => e.name === name)?.examples ?? [];
  // The catalogue is GitHub's: if an event lost its examples the test would pass vacuously.
  expect(found.length, `examples of ${name}`).toBeGreaterThan(0);
  return found;
}

const normalise = (eventType: string, payload: Payload) => normaliseDelivery({ sourceKind: 'github', sourceName: 'acme', eventType, payload });

describe('GitHub normalisation on @octokit/webhooks-examples', () => {
  it('push: branch pushes and tag pushes, with sha, before, repo and installation; deletions are recorded, not run', () => {
    const seen = new Set<string>();
    for (const p of examples('push')) {
      const out = normalise('push', p);
      const tag = (p.ref as string).startsWith('refs/tags/');
      const name = (p.ref as string).replace(/^refs\/(heads|tags)\//, '');
      if (p.deleted) {
        expect(out).toEqual({ kind: 'deleted', ref: p.ref, type: tag ? 'tag' : 'push', branch: name });
        seen.add('deleted');
        continue;
      }
      expect(out.kind).toBe('event');
      if (out.kind !== 'event') continue;
      expect(out.event).toMatchObject({ type: tag ? 'tag' : 'push', branch: name, ref: p.ref, sha: p.after, before: p.before, repo: p.repository.full_name, sourceName: 'acme' });
      if (p.installation) expect(out.event.installationId).toBe(p.installation.id);
      seen.add(tag ? 'tag' : 'push');
    }
    expect([...seen].sort()).toEqual(['deleted', 'push', 'tag']);
  });

  it('a branch deletion push (deleted: true, after all zeros) starts nothing', () => {
    const p = { ...examples('push').find((x) => (x.ref as string).startsWith('refs/heads/'))!, deleted: true, after: '0'.repeat(40) };
    expect(normalise('push', p)).toMatchObject({ kind: 'deleted', type: 'push' });
  });

  it('pull_request: opened, synchronize and reopened become pull_request events; every other action is ignored with its reason', () => {
    const runs = new Set<string>();
    let ignored = 0;
    for (const p of examples('pull_request')) {
      const out = normalise('pull_request', p);
      if (!(PULL_REQUEST_ACTIONS as readonly string[]).includes(p.action)) {
        expect(out).toEqual({ kind: 'ignored', reason: expect.stringContaining(`pull_request ${p.action} starts nothing`) });
        ignored++;
        continue;
      }
      expect(out.kind).toBe('event');
      if (out.kind !== 'event') continue;
      const pr = p.pull_request;
      expect(out.event).toMatchObject({
        type: 'pull_request',
        action: p.action,
        branch: pr.base.ref,
        sourceBranch: pr.head.ref,
        sha: pr.head.sha,
        repo: p.repository.full_name,
        pullRequest: { number: pr.number, author: { login: pr.user.login, id: pr.user.id }, trustTier: null },
      });
      runs.add(p.action);
    }
    expect([...runs].sort()).toEqual(['opened', 'reopened', 'synchronize']);
    expect(ignored).toBeGreaterThan(0);
  });

  it('issue_comment: a comment event with its action; on a pull request it names the pull request', () => {
    for (const p of examples('issue_comment')) {
      const out = normalise('issue_comment', p);
      expect(out).toMatchObject({ kind: 'event', event: { type: 'comment', action: p.action, repo: p.repository.full_name } });
      if (out.kind !== 'event') continue;
      if (p.issue.pull_request) expect(out.event.pullRequest).toEqual({ number: p.issue.number, author: { login: p.issue.user.login, id: p.issue.user.id }, trustTier: null });
      else expect(out.event.pullRequest).toBeUndefined();
    }
    // GitHub sends pull request comments as issue comments whose issue has `pull_request`.
    const onPr = { ...examples('issue_comment')[0], issue: { ...examples('issue_comment')[0].issue, pull_request: { url: 'x' } } };
    expect(normalise('issue_comment', onPr)).toMatchObject({ event: { pullRequest: { number: onPr.issue.number } } });
  });

  it('pull_request_review: a review event on the pull request head', () => {
    for (const p of examples('pull_request_review')) {
      const pr = p.pull_request;
      expect(normalise('pull_request_review', p)).toMatchObject({
        kind: 'event',
        event: { type: 'review', action: p.action, branch: pr.base.ref, sourceBranch: pr.head.ref, sha: pr.head.sha, pullRequest: { number: pr.number, author: { login: pr.user.login } } },
      });
    }
  });

  it('release: every action, on the release tag', () => {
    const actions = new Set<string>();
    for (const p of examples('release')) {
      expect(normalise('release', p)).toMatchObject({ kind: 'event', event: { type: 'release', action: p.action, branch: p.release.tag_name, ref: `refs/tags/${p.release.tag_name}`, repo: p.repository.full_name } });
      actions.add(p.action);
    }
    expect(actions.size).toBeGreaterThan(3);
  });

  it('create and delete: the ref and its type (as the action)', () => {
    for (const name of ['create', 'delete'] as const) {
      for (const p of examples(name)) {
        const prefix = p.ref_type === 'tag' ? 'refs/tags/' : 'refs/heads/';
        expect(normalise(name, p)).toMatchObject({ kind: 'event', event: { type: name, action: p.ref_type, branch: p.ref, ref: `${prefix}${p.ref}`, repo: p.repository.full_name } });
      }
    }
  });

  it('workflow_dispatch: the ref it was dispatched on', () => {
    for (const p of examples('workflow_dispatch')) {
      expect(normalise('workflow_dispatch', p)).toMatchObject({ kind: 'event', event: { type: 'workflow_dispatch', ref: p.ref, branch: (p.ref as string).replace(/^refs\/heads\//, ''), repo: p.repository.full_name } });
    }
  });

  it('every other event in the catalogue is ignored with a reason naming it', () => {
    const supported = new Set(['push', 'pull_request', 'issue_comment', 'pull_request_review', 'release', 'create', 'delete', 'workflow_dispatch', 'repository_dispatch']);
    let others = 0;
    for (const { name, examples: list } of catalog) {
      if (supported.has(name)) continue;
      for (const p of list) expect(normalise(name, p)).toEqual({ kind: 'ignored', reason: expect.stringContaining(`GitHub event ${name} starts nothing`) });
      others++;
    }
    expect(others).toBeGreaterThan(20);
  });

  it('a payload of the wrong shape is ignored with the reason, never thrown on', () => {
    for (const name of ['push', 'pull_request', 'issue_comment', 'pull_request_review', 'release', 'create', 'delete', 'workflow_dispatch']) {
      expect(normalise(name, { nothing: true })).toMatchObject({ kind: 'ignored', reason: expect.stringContaining('payload does not have') });
    }
  });
});

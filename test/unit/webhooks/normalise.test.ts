import { describe, expect, it } from 'vitest';
import { normaliseDelivery } from '../../../src/webhooks/index.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const ZERO = '0'.repeat(40);

describe('normaliseDelivery: git hook pushes', () => {
  const push = (ref: string, before = A, after = B) => ({ ref, before, after, repository: { name: 'demo', url: 'file:///r' } });

  it('a branch push strips refs/heads/', () => {
    const payload = push('refs/heads/feature/x');
    expect(normaliseDelivery({ sourceKind: 'git', sourceName: 'demo', eventType: 'push', payload })).toEqual({
      kind: 'event',
      event: { type: 'push', branch: 'feature/x', ref: 'refs/heads/feature/x', sha: B, before: A, repo: 'demo', sourceName: 'demo', payload },
    });
  });

  it('a tag push becomes type tag with the tag name as branch', () => {
    const result = normaliseDelivery({ sourceKind: 'git', sourceName: 'demo', eventType: 'tag', payload: push('refs/tags/v1.2') });
    expect(result).toMatchObject({ kind: 'event', event: { type: 'tag', branch: 'v1.2', sha: B } });
  });

  it('a deleted ref is marked deleted', () => {
    const result = normaliseDelivery({ sourceKind: 'git', sourceName: 'demo', eventType: 'push', payload: push('refs/heads/old', A, ZERO) });
    expect(result).toEqual({ kind: 'deleted', ref: 'refs/heads/old', type: 'push', branch: 'old' });
  });

  it('a malformed payload is ignored with a reason', () => {
    const result = normaliseDelivery({ sourceKind: 'git', sourceName: 'demo', eventType: 'push', payload: { ref: 'x' } });
    expect(result.kind).toBe('ignored');
  });
});

describe('normaliseDelivery: GitHub', () => {
  it('push and tag', () => {
    const payload = { ref: 'refs/heads/main', before: A, after: B, repository: { full_name: 'acme/app' } };
    expect(normaliseDelivery({ sourceKind: 'github', sourceName: 'gh', eventType: 'push', payload })).toMatchObject({
      kind: 'event',
      event: { type: 'push', branch: 'main', sha: B, before: A, repo: 'acme/app' },
    });
    const tag = { ...payload, ref: 'refs/tags/v2' };
    expect(normaliseDelivery({ sourceKind: 'github', sourceName: 'gh', eventType: 'push', payload: tag })).toMatchObject({
      event: { type: 'tag', branch: 'v2' },
    });
  });

  it('a push with deleted: true is marked deleted', () => {
    const payload = { ref: 'refs/heads/x', before: A, after: ZERO, deleted: true };
    expect(normaliseDelivery({ sourceKind: 'github', sourceName: 'gh', eventType: 'push', payload }).kind).toBe('deleted');
  });

  it('pull_request: target is base.ref, source is head.ref, sha is head.sha', () => {
    const payload = {
      action: 'opened',
      pull_request: {
        number: 7,
        user: { login: 'octo', id: 1 },
        base: { ref: 'main', sha: A, repo: { full_name: 'acme/app' } },
        head: { ref: 'feat', sha: B, repo: { full_name: 'fork/app' } },
      },
      repository: { full_name: 'acme/app' },
    };
    expect(normaliseDelivery({ sourceKind: 'github', sourceName: 'gh', eventType: 'pull_request', payload })).toMatchObject({
      kind: 'event',
      event: { type: 'pull_request', action: 'opened', branch: 'main', sourceBranch: 'feat', sha: B, repo: 'acme/app', pullRequest: { number: 7, author: { login: 'octo', id: 1 }, trustTier: null } },
    });
  });

  it('renames issue_comment and ignores unknown events', () => {
    const comment = normaliseDelivery({ sourceKind: 'github', sourceName: 'gh', eventType: 'issue_comment', payload: { action: 'created', issue: { number: 3, user: { login: 'octo', id: 1 } } } });
    expect(comment).toMatchObject({ kind: 'event', event: { type: 'comment', action: 'created' } });
    expect(normaliseDelivery({ sourceKind: 'github', sourceName: 'gh', eventType: 'ping', payload: {} }).kind).toBe('ignored');
  });
});

describe('normaliseDelivery: generic', () => {
  it('carries the event type, the source name, the payload and a string action', () => {
    const payload = { action: 'released', version: '1.0' };
    expect(normaliseDelivery({ sourceKind: 'generic', sourceName: 'deploys', eventType: 'release', payload })).toEqual({
      kind: 'event',
      event: { type: 'release', action: 'released', sourceName: 'deploys', payload },
    });
  });

  it('leaves action out when the payload has none', () => {
    const result = normaliseDelivery({ sourceKind: 'generic', sourceName: 's', eventType: 'default', payload: { body: 'x' } });
    expect(result).toEqual({ kind: 'event', event: { type: 'default', sourceName: 's', payload: { body: 'x' } } });
  });
});

import { describe, expect, it } from 'vitest';
import type { WebhookSource } from '../../../src/webhooks/index.js';
import { eventType, valueAtPath } from '../../../src/webhooks/index.js';

const generic = (extra: Partial<WebhookSource> = {}): WebhookSource => ({
  id: 's1',
  orgId: 'o1',
  kind: 'generic',
  name: 'hooks',
  verification: 'none',
  ...extra,
});

describe('eventType (generic)', () => {
  it('uses the configured header first', () => {
    const source = generic({ eventTypeHeader: 'X-Stripe-Event', eventTypePath: 'type' });
    const headers = { 'x-stripe-event': 'charge.created', 'x-event-type': 'other' };
    expect(eventType(source, headers, { type: 'from-body' })).toBe('charge.created');
  });

  it('falls back to the body path when the configured header is absent', () => {
    const source = generic({ eventTypeHeader: 'X-Stripe-Event', eventTypePath: '$.event.type' });
    expect(eventType(source, { 'x-event-type': 'other' }, { event: { type: 'deploy' } })).toBe('deploy');
  });

  it('reads plain dot paths and array indices', () => {
    expect(eventType(generic({ eventTypePath: 'event.type' }), {}, { event: { type: 'build' } })).toBe('build');
    expect(eventType(generic({ eventTypePath: '$.items.1.kind' }), {}, { items: [{ kind: 'a' }, { kind: 'b' }] })).toBe('b');
  });

  it('falls back to X-Event-Type when the path finds nothing', () => {
    const source = generic({ eventTypePath: '$.event.type' });
    expect(eventType(source, { 'X-Event-Type': 'release' }, { event: {} })).toBe('release');
  });

  it('ends with default', () => {
    expect(eventType(generic(), {}, {})).toBe('default');
    expect(eventType(generic({ eventTypePath: 'a.b' }), {}, { a: { b: { nested: true } } })).toBe('default');
  });
});

describe('eventType (git and github)', () => {
  const git: WebhookSource = { id: 'g', orgId: 'o', kind: 'git', name: 'repo', verification: 'hmac_sha256' };
  const github: WebhookSource = { ...git, kind: 'github' };

  it('git: push, and tag for tag refs', () => {
    expect(eventType(git, {}, { ref: 'refs/heads/main' })).toBe('push');
    expect(eventType(git, {}, { ref: 'refs/tags/v1.0.0' })).toBe('tag');
  });

  it('github: X-GitHub-Event', () => {
    expect(eventType(github, { 'X-GitHub-Event': 'pull_request' }, {})).toBe('pull_request');
  });
});

describe('valueAtPath', () => {
  it('does not walk into inherited properties', () => {
    expect(valueAtPath({}, 'constructor')).toBeUndefined();
    expect(valueAtPath({ a: 1 }, '$')).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { deliveryIdentity } from '../../../src/webhooks/index.js';

const fresh = () => 'fresh-uuid';

describe('deliveryIdentity', () => {
  it('github: X-GitHub-Delivery kept as sent, dedup key scoped by source', () => {
    const id = deliveryIdentity('github', 'src_gh', { 'X-GitHub-Delivery': 'abc-123' }, fresh);
    expect(id).toEqual({ deliveryId: 'abc-123', dedupKey: 'src_gh:abc-123' });
  });

  it('git: the hook id already starts with the source id and is not prefixed twice', () => {
    const id = deliveryIdentity('git', 'src_a', { 'x-delivery-id': 'src_a:refs/heads/main:abc' }, fresh);
    expect(id).toEqual({ deliveryId: 'src_a:refs/heads/main:abc', dedupKey: 'src_a:refs/heads/main:abc' });
  });

  it('git: an id naming another source is scoped under this one', () => {
    const id = deliveryIdentity('git', 'src_a', { 'x-delivery-id': 'src_b:refs/heads/main:abc' }, fresh);
    expect(id.dedupKey).toBe('src_a:src_b:refs/heads/main:abc');
  });

  it('generic: X-Delivery-Id, then X-Request-Id, then X-Idempotency-Key', () => {
    expect(deliveryIdentity('generic', 's', { 'x-delivery-id': 'd1', 'x-request-id': 'r1' }, fresh).dedupKey).toBe('s:d1');
    expect(deliveryIdentity('generic', 's', { 'x-request-id': 'r1', 'x-idempotency-key': 'k1' }, fresh).dedupKey).toBe('s:r1');
    expect(deliveryIdentity('generic', 's', { 'X-Idempotency-Key': 'k1' }, fresh)).toEqual({ deliveryId: 's:k1', dedupKey: 's:k1' });
  });

  it('generic without an id: a fresh id and no dedup', () => {
    expect(deliveryIdentity('generic', 's', {}, fresh)).toEqual({ deliveryId: 'fresh-uuid', dedupKey: null });
  });

  it('the same sender id from two sources gives two dedup keys', () => {
    const a = deliveryIdentity('generic', 'src_a', { 'x-request-id': 'same' }, fresh);
    const b = deliveryIdentity('generic', 'src_b', { 'x-request-id': 'same' }, fresh);
    expect(a.dedupKey).not.toBe(b.dedupKey);
  });

  it('github ignores generic id headers', () => {
    expect(deliveryIdentity('github', 's', { 'x-request-id': 'r1' }, fresh)).toEqual({ deliveryId: 'fresh-uuid', dedupKey: null });
  });
});

import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signBody, verifyBearer, verifyHmacSha256 } from '../../../src/webhooks/index.js';

const secret = 'test-secret-value';
const body = Buffer.from('{"ref":"refs/heads/main"}');
const hex = createHmac('sha256', secret).update(body).digest('hex');

describe('verifyHmacSha256', () => {
  it('signBody produces sha256=<hex> of the body', () => {
    expect(signBody(secret, body)).toBe(`sha256=${hex}`);
  });

  it('accepts a correct prefixed signature', () => {
    expect(verifyHmacSha256(secret, body, `sha256=${hex}`, { requirePrefix: true })).toBe(true);
    expect(verifyHmacSha256(secret, body, `sha256=${hex.toUpperCase()}`, { requirePrefix: true })).toBe(true);
  });

  it('rejects a signature made with another secret', () => {
    expect(verifyHmacSha256(secret, body, signBody('other', body), { requirePrefix: true })).toBe(false);
  });

  it('rejects a signature of another body', () => {
    expect(verifyHmacSha256(secret, Buffer.from('{}'), `sha256=${hex}`, { requirePrefix: false })).toBe(false);
  });

  it('rejects a missing or empty header', () => {
    expect(verifyHmacSha256(secret, body, undefined, { requirePrefix: false })).toBe(false);
    expect(verifyHmacSha256(secret, body, '', { requirePrefix: false })).toBe(false);
    expect(verifyHmacSha256(secret, body, 'sha256=', { requirePrefix: true })).toBe(false);
  });

  it('rejects bad hex without throwing', () => {
    const notHex = `sha256=${'z'.repeat(64)}`;
    expect(verifyHmacSha256(secret, body, notHex, { requirePrefix: true })).toBe(false);
    // Half-valid hex would decode to fewer bytes; it must be refused, not compared.
    const halfHex = `sha256=${hex.slice(0, 62)}zz`;
    expect(verifyHmacSha256(secret, body, halfHex, { requirePrefix: true })).toBe(false);
  });

  it('rejects a signature of the wrong length', () => {
    expect(verifyHmacSha256(secret, body, `sha256=${hex.slice(0, 40)}`, { requirePrefix: true })).toBe(false);
    expect(verifyHmacSha256(secret, body, `sha256=${hex}00`, { requirePrefix: true })).toBe(false);
  });

  it('accepts bare hex only when the prefix is not required (generic sources)', () => {
    expect(verifyHmacSha256(secret, body, hex, { requirePrefix: false })).toBe(true);
    expect(verifyHmacSha256(secret, body, hex, { requirePrefix: true })).toBe(false);
  });

  it('rejects other algorithm prefixes', () => {
    expect(verifyHmacSha256(secret, body, `sha1=${hex}`, { requirePrefix: false })).toBe(false);
  });
});

describe('verifyBearer', () => {
  it('accepts the token with or without the Bearer prefix', () => {
    expect(verifyBearer('tok-123', 'Bearer tok-123')).toBe(true);
    expect(verifyBearer('tok-123', 'bearer tok-123')).toBe(true);
    expect(verifyBearer('tok-123', 'tok-123')).toBe(true);
  });

  it('rejects a wrong token, a token of another length, and a missing header', () => {
    expect(verifyBearer('tok-123', 'Bearer tok-124')).toBe(false);
    expect(verifyBearer('tok-123', 'Bearer tok-1234')).toBe(false);
    expect(verifyBearer('tok-123', 'Bearer tok')).toBe(false);
    expect(verifyBearer('tok-123', undefined)).toBe(false);
    expect(verifyBearer('tok-123', 'Bearer ')).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import {
  hashToken,
  issueAdminToken,
  issueAgentToken,
  looksLikeAdminToken,
  looksLikeAgentToken,
  tokenMatchesHash,
  tokensEqual,
} from '../../../src/secrets/index.js';

describe('tokens', () => {
  it('issues agent tokens as kat_ + 64 hex with a hash and a 12-character prefix', () => {
    const issued = issueAgentToken();
    expect(issued.token).toMatch(/^kat_[0-9a-f]{64}$/);
    expect(issued.hash).toBe(hashToken(issued.token));
    expect(issued.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(issued.prefix).toBe(issued.token.slice(0, 12));
    expect(looksLikeAgentToken(issued.token)).toBe(true);
    expect(looksLikeAdminToken(issued.token)).toBe(false);
  });

  it('issues admin tokens as kadm_ + 64 hex', () => {
    const issued = issueAdminToken();
    expect(issued.token).toMatch(/^kadm_[0-9a-f]{64}$/);
    expect(looksLikeAdminToken(issued.token)).toBe(true);
  });

  it('issues different tokens every time', () => {
    expect(issueAgentToken().token).not.toBe(issueAgentToken().token);
  });

  it('compares tokens and hashes', () => {
    const issued = issueAgentToken();
    expect(tokenMatchesHash(issued.token, issued.hash)).toBe(true);
    expect(tokenMatchesHash(issueAgentToken().token, issued.hash)).toBe(false);
    expect(tokensEqual('abc', 'abc')).toBe(true);
    expect(tokensEqual('abc', 'abd')).toBe(false);
    expect(tokensEqual('abc', 'abcd')).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { lockfileCommit, trustOfPermission } from '../../../src/deliveries/github-trust.js';
import type { CiEvent } from '../../../src/workflows/index.js';

const HEAD = 'e'.repeat(40);
const BASE = 'b'.repeat(40);

function pullRequest(trustTier: string | null, base: unknown = { sha: BASE }): CiEvent {
  return {
    type: 'pull_request',
    sha: HEAD,
    pullRequest: { number: 1, author: { login: 'someone', id: 7 }, trustTier },
    payload: { pull_request: { base } },
  };
}

describe('trust tiers of pull request authors', () => {
  it('write access or more is trusted, read or triage known, anything else unknown', () => {
    expect(['admin', 'maintain', 'write'].map(trustOfPermission)).toEqual(['trusted', 'trusted', 'trusted']);
    expect(['triage', 'read'].map(trustOfPermission)).toEqual(['known', 'known']);
    expect(['none', '', 'pull', 'WRITE'].map(trustOfPermission)).toEqual(['unknown', 'unknown', 'unknown', 'unknown']);
  });

  it("reads a trusted author's lock file at the head, anyone else's at the base", () => {
    expect(lockfileCommit(pullRequest('trusted'))).toBe(HEAD);
    expect(lockfileCommit(pullRequest('known'))).toBe(BASE);
    expect(lockfileCommit(pullRequest('unknown'))).toBe(BASE);
    // Not worked out: never the head.
    expect(lockfileCommit(pullRequest(null))).toBe(BASE);
  });

  it('events that are not pull requests use their own commit; a payload without a base sha falls back to it', () => {
    expect(lockfileCommit({ type: 'push', sha: HEAD })).toBe(HEAD);
    expect(lockfileCommit(pullRequest('known', {}))).toBe(HEAD);
  });
});

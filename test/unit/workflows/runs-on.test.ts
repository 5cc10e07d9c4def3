import { describe, it, expect } from 'vitest';
import { labelsSatisfy } from '../../../src/workflows/index.js';

describe('labelsSatisfy', () => {
  const labels = ['os:linux', 'arch:x64', 'pool-a'];

  it('needs every exact label', () => {
    expect(labelsSatisfy(['os:linux', 'arch:x64'], labels)).toBe(true);
    expect(labelsSatisfy(['os:linux', 'gpu'], labels)).toBe(false);
  });

  it('treats a string as exact, not as a glob', () => {
    expect(labelsSatisfy(['os:*'], labels)).toBe(false);
  });

  it('lets a regex match any one label', () => {
    expect(labelsSatisfy(['os:linux', { regex: '^pool-' }], labels)).toBe(true);
    expect(labelsSatisfy([{ regex: '^POOL-', flags: 'i' }], labels)).toBe(true);
    expect(labelsSatisfy([{ regex: '^gpu-' }], labels)).toBe(false);
  });

  it('is satisfied by any agent when runsOn is empty', () => {
    expect(labelsSatisfy([], [])).toBe(true);
  });
});

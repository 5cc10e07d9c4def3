import { describe, expect, it } from 'vitest';
import { failedRunError, MAX_RUN_ERROR_LENGTH } from '../../../src/runs/index.js';

describe('failedRunError', () => {
  it('keeps a short reason, trimmed, and says something for a blank one', () => {
    expect(failedRunError('  bad field  ')).toBe('bad field');
    expect(failedRunError('   ')).toBe('the run could not start');
  });

  it('cuts a long reason to the cap with an ellipsis, never through the middle of an emoji', () => {
    const plain = failedRunError('x'.repeat(MAX_RUN_ERROR_LENGTH + 10));
    expect(plain).toHaveLength(MAX_RUN_ERROR_LENGTH);
    expect(plain.endsWith('x…')).toBe(true);
    // The emoji's two halves straddle the cut: it goes whole, not halved.
    const reason = `${'x'.repeat(MAX_RUN_ERROR_LENGTH - 2)}😀${'y'.repeat(10)}`;
    const cut = failedRunError(reason);
    expect(cut.length).toBeLessThanOrEqual(MAX_RUN_ERROR_LENGTH);
    expect(cut).toBe(`${'x'.repeat(MAX_RUN_ERROR_LENGTH - 2)}…`);
    expect(/[\ud800-\udfff]/.test(cut)).toBe(false);
  });
});

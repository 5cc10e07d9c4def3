import { describe, expect, it } from 'vitest';
// Imported from the files themselves so this test does not load the admin API or the lock file schema.
import { logLinePrefix, stepNumber } from '../../../src/admin/cli/step-number.js';
import { stepName } from '../../../src/workflows/run-plan.js';

/**
 * A step a person reads about is counted the way its default name counts it: the first step of a
 * job is `step-1` and `#1`, although its stepIndex on the wire and in the store is 0.
 */
describe('step numbers shown to people', () => {
  it('shows an unnamed first step as #1 step-1, matching its default name', () => {
    const index = 0;
    expect(logLinePrefix({ job: 'build', step: index, stepName: stepName({ run: 'make' } as Parameters<typeof stepName>[0], index) })).toBe('[build #1 step-1]');
  });

  it('numbers named steps from 1 too, and leaves out a name the line does not carry', () => {
    expect(logLinePrefix({ job: 'test (20, 1)', step: 2, stepName: 'check' })).toBe('[test (20, 1) #3 check]');
    expect(logLinePrefix({ job: 'build', step: 0 })).toBe('[build #1]');
  });

  it('turns a 0-based stepIndex into the number shown', () => {
    expect([0, 1, 9].map(stepNumber)).toEqual([1, 2, 10]);
  });
});

import { describe, expect, it } from 'vitest';
import { changedEnvironmentShape, DEFAULT_PROTECTION, InvalidEnvironmentError, newEnvironmentShape } from '../../../src/environments/index.js';

describe('newEnvironmentShape', () => {
  it('fills in the seed defaults and infers the type from a glob', () => {
    expect(newEnvironmentShape({ orgId: 'acme', name: 'production' })).toEqual({ orgId: 'acme', name: 'production', type: 'fixed', globPattern: null, ...DEFAULT_PROTECTION });
    expect(newEnvironmentShape({ orgId: 'acme', name: 'reviews', globPattern: 'review/*' })).toMatchObject({ type: 'glob', globPattern: 'review/*' });
  });

  it('drops an id and stray fields from the record it returns', () => {
    const shape = newEnvironmentShape({ id: 'x', orgId: 'acme', name: 'p', ...({ stray: 1 } as object) });
    expect(shape).not.toHaveProperty('id');
    expect(shape).not.toHaveProperty('stray');
  });

  it("takes negated globs in rule lists (every branch but main), never as an environment's glob", () => {
    expect(newEnvironmentShape({ orgId: 'acme', name: 'p', branchRestrictions: ['!main'] }).branchRestrictions).toEqual(['!main']);
    expect(() => newEnvironmentShape({ orgId: 'acme', name: 'p', globPattern: '!main' })).toThrow('globPattern: a negated glob');
  });

  it('names the field of a broken rule', () => {
    const refusal = (() => {
      try {
        newEnvironmentShape({ orgId: 'acme', name: 'p', waitTimerSeconds: 40 * 24 * 3600 });
      } catch (e) {
        return e;
      }
    })();
    expect(refusal).toBeInstanceOf(InvalidEnvironmentError);
    expect((refusal as InvalidEnvironmentError).field).toBe('waitTimerSeconds');
  });
});

describe('changedEnvironmentShape', () => {
  const current = newEnvironmentShape({ orgId: 'acme', name: 'previews', globPattern: 'preview/*', waitTimerSeconds: 10 });

  it('keeps what is not changed', () => {
    expect(changedEnvironmentShape(current, { enabled: false })).toEqual({ ...current, enabled: false });
  });

  it('moves the type with the glob, and refuses a glob type without one', () => {
    expect(changedEnvironmentShape(current, { globPattern: null })).toMatchObject({ type: 'fixed', globPattern: null });
    expect(changedEnvironmentShape(current, { type: 'fixed' })).toMatchObject({ type: 'fixed', globPattern: null });
    const fixedOne = changedEnvironmentShape(current, { type: 'fixed' });
    expect(() => changedEnvironmentShape(fixedOne, { type: 'glob' })).toThrow('globPattern: required for a glob environment');
    expect(() => changedEnvironmentShape(current, { type: 'fixed', globPattern: 'x/*' })).toThrow('globPattern: only a glob environment has one');
  });
});

import { describe, expect, it } from 'vitest';
import {
  type EnvironmentVariable,
  foldVariables,
  overrideIgnored,
  type SourceOverride,
  VARIABLE_LIMITS,
  variableKeyProblem,
  variableKeySchema,
  variablesOf,
  variableValueProblem,
  variableValueSchema,
} from '../../../src/environments/index.js';

const v = (key: string, value: string, locked = false): EnvironmentVariable => ({ key, value, locked });
const o = (routingKey: string, key: string, value: string): SourceOverride => ({ routingKey, key, value });

describe('variablesOf', () => {
  const vars = [v('API_URL', 'https://api'), v('REGION', 'eu', true), v('LOG', 'info')];

  it('gives the environment its variables when no source is known', () => {
    expect(variablesOf(vars, [o('src_a', 'LOG', 'debug')], null)).toEqual({ API_URL: 'https://api', REGION: 'eu', LOG: 'info' });
    expect(variablesOf([], [], null)).toEqual({});
  });

  it("applies that source's overrides only: a new key, or a replaced unlocked one", () => {
    const overrides = [o('src_a', 'LOG', 'debug'), o('src_a', 'EXTRA', '1'), o('src_b', 'API_URL', 'https://b')];
    expect(variablesOf(vars, overrides, 'src_a')).toEqual({ API_URL: 'https://api', REGION: 'eu', LOG: 'debug', EXTRA: '1' });
    expect(variablesOf(vars, overrides, 'src_b')).toEqual({ API_URL: 'https://b', REGION: 'eu', LOG: 'info' });
    expect(variablesOf(vars, overrides, 'src_c')).toEqual({ API_URL: 'https://api', REGION: 'eu', LOG: 'info' });
  });

  it('ignores an override of a locked key', () => {
    expect(variablesOf(vars, [o('src_a', 'REGION', 'us')], 'src_a').REGION).toBe('eu');
    expect(overrideIgnored(vars, 'REGION')).toBe(true);
    expect(overrideIgnored(vars, 'LOG')).toBe(false);
    expect(overrideIgnored(vars, 'ABSENT')).toBe(false);
  });

  it('leaves out names written by hand that no variable may have (KICI_*, not a process name)', () => {
    const handWritten = [v('KICI_RUN_ID', 'spoofed'), v('kici_sha', 'x'), v('1ABC', 'x'), v('A-B', 'x'), v('OK', 'yes')];
    expect(variablesOf(handWritten, [o('s', 'KICI_REF', 'x'), o('s', 'B=C', 'x')], 's')).toEqual({ OK: 'yes' });
  });

  it('keeps a name like __proto__ as an ordinary key', () => {
    const result = variablesOf([v('__proto__', 'x')], [], null);
    expect(Object.keys(result)).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(result, '__proto__')?.value).toBe('x');
  });

  it('does not change its inputs', () => {
    const before = JSON.stringify(vars);
    variablesOf(vars, [o('src_a', 'LOG', 'x')], 'src_a');
    expect(JSON.stringify(vars)).toBe(before);
  });
});

describe('foldVariables', () => {
  it('folds environments in the order given, the later winning', () => {
    expect(foldVariables([{ A: 'eu', B: 'eu' }, { B: 'us', C: 'us' }])).toEqual({ A: 'eu', B: 'us', C: 'us' });
    expect(foldVariables([{ B: 'us', C: 'us' }, { A: 'eu', B: 'eu' }])).toEqual({ A: 'eu', B: 'eu', C: 'us' });
    expect(foldVariables([])).toEqual({});
  });

  it('folds what variablesOf gives, so a locked key of a later environment still beats an earlier one', () => {
    const eu = variablesOf([v('REGION', 'eu', true)], [], 's');
    const us = variablesOf([v('REGION', 'us')], [o('s', 'REGION', 'us-override')], 's');
    expect(foldVariables([eu, us])).toEqual({ REGION: 'us-override' });
    expect(foldVariables([us, eu])).toEqual({ REGION: 'eu' });
  });
});

describe('variable names', () => {
  it.each(['A', '_', 'API_URL', 'a1', '_X_9', 'X'.repeat(VARIABLE_LIMITS.keyLength)])('takes %s', (key) => {
    expect(variableKeyProblem(key)).toBeNull();
    expect(variableKeySchema.safeParse(key).success).toBe(true);
  });

  it.each([
    ['', 'must not be empty'],
    ['1ABC', 'a letter or "_" first'],
    ['A-B', 'letters, digits and "_" only'],
    ['A B', 'letters, digits and "_" only'],
    ['A=B', 'letters, digits and "_" only'],
    ['ÄPFEL', 'letters, digits and "_" only'],
    ['X'.repeat(VARIABLE_LIMITS.keyLength + 1), 'at most 256 characters'],
  ])('refuses %j', (key, message) => {
    expect(variableKeyProblem(key)).toContain(message);
    const parsed = variableKeySchema.safeParse(key);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toContain(message);
  });

  it.each(['KICI_X', 'KICI_RUN_ID', 'KICI_', 'kici_matrix_os', 'Kici_Anything'])('refuses the run metadata prefix: %s', (key) => {
    expect(variableKeyProblem(key)).toBe(`${key}: names starting with KICI_ (in any case) are reserved for run metadata (KICI_RUN_ID, KICI_SHA, …), which nothing may set or override`);
  });

  it('takes names that merely contain KICI', () => {
    expect(variableKeyProblem('MY_KICI_URL')).toBeNull();
    expect(variableKeyProblem('KICIX')).toBeNull();
  });
});

describe('variable values', () => {
  it('takes empty, multi-line and up to 64 KiB of UTF-8', () => {
    for (const value of ['', 'a\nb', 'x'.repeat(VARIABLE_LIMITS.valueBytes), 'é'.repeat(VARIABLE_LIMITS.valueBytes / 2)]) {
      expect(variableValueProblem(value)).toBeNull();
      expect(variableValueSchema.safeParse(value).success).toBe(true);
    }
  });

  it('refuses more than 64 KiB (counted in bytes) and NUL characters', () => {
    expect(variableValueProblem('x'.repeat(VARIABLE_LIMITS.valueBytes + 1))).toBe('at most 65536 bytes (64 KiB) of UTF-8, got 65537');
    expect(variableValueProblem('é'.repeat(VARIABLE_LIMITS.valueBytes / 2 + 1))).toContain('got 65538');
    expect(variableValueProblem('a\u0000b')).toBe('must not contain a NUL character');
    expect(variableValueSchema.safeParse(42).success).toBe(false);
  });
});

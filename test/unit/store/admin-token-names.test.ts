/** The admin token name rule (src/store/admin-token-names.ts): what the API and the store both refuse. */
import { describe, expect, it } from 'vitest';
import { adminTokenNameProblem } from '../../../src/store/index.js';

describe('adminTokenNameProblem', () => {
  it.each([['alice'], ['Alice'], ['alice@example.com'], ['ci.bot+deploy_1'], ['0day'], ['bootstrap-adm_1b9d6bcd-bbf'], ['a'.repeat(64)], ['systems'], ['ADM_x']])('takes %j', (name) => {
    expect(adminTokenNameProblem(name)).toBeNull();
  });

  it.each([
    ['', '1–64 characters'],
    ['a'.repeat(65), '1–64 characters'],
    ['al ice', '1–64 characters'],
    ['-alice', '1–64 characters'],
    ['.alice', '1–64 characters'],
    ['ålice', '1–64 characters'],
    ['alice\n', '1–64 characters'],
    ['a/b', '1–64 characters'],
    ['system', 'reserved'],
    ['SYSTEM', 'reserved'],
    ['adm_0123456789abcdef', 'token ids'],
  ])('refuses %j', (name, why) => {
    expect(adminTokenNameProblem(name)).toContain(why);
  });
});

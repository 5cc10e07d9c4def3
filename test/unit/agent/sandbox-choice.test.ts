import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseSandbox } from '../../../src/agent/sandbox/index.js';

let fakeDir: string;
beforeAll(() => {
  // A bwrap that exists but cannot work, as on a kernel without unprivileged user namespaces.
  fakeDir = mkdtempSync(join(tmpdir(), 'kici-fake-bwrap-'));
  writeFileSync(join(fakeDir, 'bwrap'), '#!/bin/sh\necho "bwrap: No permissions to create new namespace" >&2\nexit 1\n', { mode: 0o755 });
});
afterAll(() => rmSync(fakeDir, { recursive: true, force: true }));

const noBwrap = { PATH: '/nonexistent-kici-dir' };

describe('choosing where steps run', () => {
  it('none: no sandbox, and a warning that steps are not isolated', () => {
    const choice = chooseSandbox({ mode: 'none', hidden: [], hostEnv: process.env });
    expect(choice).toMatchObject({ ok: true, level: 'warn' });
    expect(choice.ok && choice.sandbox).toBeUndefined();
    expect(choice.ok && choice.message).toContain('not isolated');
  });

  it('bwrap: refuses when bwrap is not on PATH, saying how to install it', () => {
    const choice = chooseSandbox({ mode: 'bwrap', hidden: [], hostEnv: noBwrap });
    expect(choice.ok).toBe(false);
    expect(!choice.ok && choice.message).toContain('--sandbox bwrap: bubblewrap does not work here (bwrap is not on PATH)');
    expect(!choice.ok && choice.message).toContain('apt-get install bubblewrap');
  });

  it('bwrap: refuses when bwrap is there but fails, with what it said', () => {
    const choice = chooseSandbox({ mode: 'bwrap', hidden: [], hostEnv: { PATH: `${fakeDir}:/usr/bin:/bin` } });
    expect(!choice.ok && choice.message).toContain('No permissions to create new namespace');
  });

  it('auto: falls back to no sandbox with one warning that says how to install bubblewrap', () => {
    for (const hostEnv of [noBwrap, { PATH: `${fakeDir}:/usr/bin:/bin` }]) {
      const choice = chooseSandbox({ mode: 'auto', hidden: [], hostEnv });
      expect(choice).toMatchObject({ ok: true, level: 'warn' });
      expect(choice.ok && choice.sandbox).toBeUndefined();
      expect(choice.ok && choice.message).toContain('steps are not isolated');
      expect(choice.ok && choice.message).toContain('apt-get install bubblewrap');
    }
  });

  it('auto and bwrap: a sandbox once the probe has run a sandboxed command', () => {
    let probed = 0;
    const probe = () => {
      probed += 1;
      return { ok: true as const };
    };
    // Any bwrap on PATH will do: the probe decides.
    const hostEnv = { PATH: `${fakeDir}:/usr/bin:/bin` };
    for (const mode of ['auto', 'bwrap'] as const) {
      const choice = chooseSandbox({ mode, hidden: ['/srv/data'], hostEnv, probe });
      expect(choice).toMatchObject({ ok: true, level: 'info' });
      expect(choice.ok && choice.sandbox?.description).toBe(`bwrap (${join(fakeDir, 'bwrap')})`);
    }
    expect(probed).toBe(2);
  });
});

import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BwrapSandbox, bwrapArgv, type SandboxedRun } from '../../../src/agent/sandbox/index.js';

const programs = { bwrap: '/usr/bin/bwrap', env: '/usr/bin/env' };

/** The pairs `--flag a b` of an argv, in order, as "flag a b" strings. */
function mountsOf(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (['--bind', '--ro-bind'].includes(a)) out.push(`${a} ${argv[++i]} ${argv[++i]}`);
    else if (['--tmpfs', '--remount-ro', '--dev', '--proc', '--chdir'].includes(a)) out.push(`${a} ${argv[++i]}`);
  }
  return out;
}

describe('the bwrap command line', () => {
  const argv = bwrapArgv({
    ...programs,
    cwd: '/w/jobs/j/checkout',
    argv: ['bash', '-eo', 'pipefail', '-c', 'make'],
    mounts: [
      { kind: 'bind', source: '/w/jobs/j/checkout', path: '/w/jobs/j/checkout', readOnly: false },
      { kind: 'tmpfs', path: '/w', hide: true },
      { kind: 'mask-file', path: '/etc/kici/token' },
      { kind: 'tmpfs', path: '/tmp' },
    ],
  });

  it('ignores SIGTERM in bwrap itself and gives the step the default back', () => {
    expect(argv.slice(0, 3)).toEqual(['/usr/bin/env', '--ignore-signal=TERM', '/usr/bin/bwrap']);
    expect(argv.slice(argv.indexOf('--'))).toEqual(['--', '/usr/bin/env', '--default-signal=TERM', 'bash', '-eo', 'pipefail', '-c', 'make']);
  });

  it('drops every capability, unshares pid and ipc, keeps the network, dies with the agent', () => {
    const options = argv.slice(0, argv.indexOf('--'));
    expect(options).toEqual(expect.arrayContaining(['--die-with-parent', '--unshare-pid', '--unshare-ipc']));
    expect(options[options.indexOf('--cap-drop') + 1]).toBe('ALL');
    expect(options.some((o) => o === '--unshare-net' || o === '--unshare-all')).toBe(false);
    // No new session: it would take the step out of the process group the agent signals.
    expect(options).not.toContain('--new-session');
  });

  it('mounts parents before children, then makes hidden directories read-only', () => {
    expect(mountsOf(argv)).toEqual([
      '--ro-bind / /',
      '--dev /dev',
      '--proc /proc',
      '--tmpfs /w',
      '--tmpfs /tmp',
      '--ro-bind /dev/null /etc/kici/token',
      '--bind /w/jobs/j/checkout /w/jobs/j/checkout',
      '--remount-ro /w',
      '--chdir /w/jobs/j/checkout',
    ]);
  });
});

describe('what a step is given inside the sandbox', () => {
  let base: string;
  let run: SandboxedRun;
  beforeEach(() => {
    base = realpathSync(mkdtempSync(join(tmpdir(), 'kici-sandbox-argv-')));
    for (const d of ['work/jobs/j/checkout', 'work/jobs/j/meta', 'work/jobs/j/home', 'secrets', 'host-home', 'host-tmp']) {
      mkdirSync(join(base, d), { recursive: true });
    }
    writeFileSync(join(base, 'work/jobs/j/meta/needs.json'), '{}');
    writeFileSync(join(base, 'work/jobs/j/meta/out'), '');
    writeFileSync(join(base, 'secrets/token'), 'kat_x');
    run = {
      argv: ['true'],
      env: { PATH: '/usr/bin', HOME: join(base, 'host-home'), TMPDIR: join(base, 'host-tmp') },
      cwd: join(base, 'work/jobs/j/checkout'),
      checkoutDir: join(base, 'work/jobs/j/checkout'),
      homeDir: join(base, 'work/jobs/j/home'),
      readOnlyFiles: [join(base, 'work/jobs/j/meta/needs.json')],
      writableFiles: [join(base, 'work/jobs/j/meta/out')],
    };
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  it('hides directories and files, binds back only the job’s own, and keeps HOME and TMPDIR private', () => {
    const sandbox = new BwrapSandbox(programs, [join(base, 'work'), join(base, 'secrets/token'), join(base, 'not-there-yet')]);
    const { argv, env } = sandbox.wrap(run);
    expect(env).toEqual(run.env);
    expect(mountsOf(argv)).toEqual(
      expect.arrayContaining([
        `--tmpfs ${base}/work`,
        `--ro-bind /dev/null ${base}/secrets/token`,
        `--tmpfs ${base}/host-tmp`,
        `--bind ${base}/work/jobs/j/home ${base}/host-home`,
        `--bind ${base}/work/jobs/j/checkout ${base}/work/jobs/j/checkout`,
        `--ro-bind ${base}/work/jobs/j/meta/needs.json ${base}/work/jobs/j/meta/needs.json`,
        `--bind ${base}/work/jobs/j/meta/out ${base}/work/jobs/j/meta/out`,
        `--remount-ro ${base}/work`,
      ]),
    );
    // A hidden path that does not exist (yet) is skipped, not an error.
    expect(argv.join(' ')).not.toContain('not-there-yet');
  });

  it('gives a step the job’s home at its own path when the agent’s HOME cannot be used', () => {
    const sandbox = new BwrapSandbox(programs, []);
    for (const HOME of [undefined, '/', '/no/such/home']) {
      const env: Record<string, string> = { PATH: '/usr/bin' };
      if (HOME !== undefined) env.HOME = HOME;
      const wrapped = sandbox.wrap({ ...run, env });
      expect(wrapped.env.HOME).toBe(run.homeDir);
      expect(mountsOf(wrapped.argv)).toContain(`--bind ${run.homeDir} ${run.homeDir}`);
    }
  });

  it('lets the private home replace a hidden directory at the same path instead of being hidden read-only', () => {
    const sandbox = new BwrapSandbox(programs, [join(base, 'host-home')]);
    const mounts = mountsOf(sandbox.wrap(run).argv);
    expect(mounts).toContain(`--bind ${base}/work/jobs/j/home ${base}/host-home`);
    expect(mounts).not.toContain(`--tmpfs ${base}/host-home`);
    expect(mounts).not.toContain(`--remount-ro ${base}/host-home`);
  });
});

import { realpathSync, statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { bwrapArgv, covers, type Mount } from './bwrap-argv.js';
import type { SandboxedRun, StepSandbox, WrappedRun } from './step-sandbox.js';

export interface BwrapPrograms {
  bwrap: string;
  /** coreutils `env`, new enough (8.31+) for --ignore-signal / --default-signal. */
  env: string;
}

/**
 * Steps under bubblewrap: the host read-only, a private /tmp (and $TMPDIR) and HOME, the job's
 * checkout writable, and the hidden paths (the agent's work dir, the token file's directory, the
 * orchestrator's data dir…) replaced by empty read-only directories, with only this step's own
 * files bound back. Paths are looked at again for each step, so a hidden directory that appears
 * after the agent started is still hidden.
 */
export class BwrapSandbox implements StepSandbox {
  constructor(
    readonly programs: BwrapPrograms,
    /** Absolute paths; directories or files, existing or not (yet). */
    readonly hidden: readonly string[],
  ) {}

  get description(): string {
    return `bwrap (${this.programs.bwrap})`;
  }

  wrap(run: SandboxedRun): WrappedRun {
    const env = { ...run.env };
    const mounts: Mount[] = [];
    // A mount at the very path of an earlier one replaces it (HOME=/root with /root hidden: the
    // private home is what the step gets, and it stays writable).
    const place = (m: Mount): void => {
      const same = mounts.findIndex((o) => o.path === m.path);
      if (same >= 0) mounts.splice(same, 1);
      mounts.push(m);
    };
    for (const path of this.hidden) {
      const real = realOrUndefined(path);
      if (real === undefined) continue;
      place(isDirectory(real) ? { kind: 'tmpfs', path: real, hide: true } : { kind: 'mask-file', path: real });
    }
    place({ kind: 'tmpfs', path: '/tmp' });
    // bwrap can only create a mount point on the read-only host inside one of its own tmpfs mounts.
    const mountable = (path: string): boolean =>
      isDirectory(path) || mounts.some((m) => m.kind === 'tmpfs' && covers(m.path, path));

    const tmpdir = env.TMPDIR;
    if (usablePath(tmpdir) && mountable(tmpdir)) place({ kind: 'tmpfs', path: realOrSelf(tmpdir) });

    // HOME keeps its path when it can (tools that read the passwd entry find the same place); an
    // agent without a usable HOME gives steps the job's home directory at its own path.
    let home = env.HOME;
    if (!usablePath(home) || !mountable(home)) home = env.HOME = run.homeDir;
    place({ kind: 'bind', source: run.homeDir, path: realOrSelf(home), readOnly: false });

    const checkout = realpathSync(run.checkoutDir);
    place({ kind: 'bind', source: checkout, path: checkout, readOnly: false });
    for (const file of run.readOnlyFiles) place(sameBind(file, true));
    for (const file of run.writableFiles) place(sameBind(file, false));

    const argv = bwrapArgv({ ...this.programs, mounts, cwd: realpathSync(run.cwd), argv: run.argv });
    return { argv, env };
  }
}

function sameBind(file: string, readOnly: boolean): Mount {
  const real = realpathSync(file);
  return { kind: 'bind', source: real, path: real, readOnly };
}

function usablePath(path: string | undefined): path is string {
  return path !== undefined && isAbsolute(path) && path !== '/';
}

function realOrUndefined(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

function realOrSelf(path: string): string {
  return realOrUndefined(path) ?? path;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

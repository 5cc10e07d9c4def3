/**
 * The bubblewrap command line of one sandboxed step. Pure: paths in, argv out; which paths to use
 * is decided in bwrap-sandbox.ts.
 */

/** One mount inside the sandbox; `path` is where it shows up, the same absolute path as on the host. */
export type Mount =
  /** An empty tmpfs: private and writable, or (`hide`) read-only once everything under it is mounted. */
  | { kind: 'tmpfs'; path: string; hide?: boolean }
  | { kind: 'bind'; path: string; source: string; readOnly: boolean }
  /** A file that must not be read: /dev/null takes its place. */
  | { kind: 'mask-file'; path: string };

export interface BwrapCommand {
  /** Absolute paths of `bwrap` and of coreutils `env` (the same file inside the sandbox: / is bound). */
  bwrap: string;
  env: string;
  mounts: Mount[];
  /** The step's directory, inside the sandbox. */
  cwd: string;
  /** The step's own command. */
  argv: string[];
}

/**
 * `env --ignore-signal=TERM bwrap … -- env --default-signal=TERM <argv>`.
 *
 * The agent signals a step's whole process group, which holds bwrap's monitor process too. bwrap
 * does not forward signals, and a monitor killed by SIGTERM takes the sandbox down with it at once
 * (--die-with-parent), so a step could never trap SIGTERM and clean up. Hence the monitor starts
 * with SIGTERM ignored (an ignored disposition survives exec), and the step gets the default back
 * just before its own command starts; SIGKILL still ends everything, monitor included.
 *
 * No --new-session: the agent already starts each step in a session of its own with no terminal,
 * and a new session would also move the step out of the process group the agent signals.
 */
export function bwrapArgv(cmd: BwrapCommand): string[] {
  const args = [
    cmd.env, '--ignore-signal=TERM', cmd.bwrap,
    '--die-with-parent',
    // Own PID namespace: no other process (the agent least of all) can be seen or signalled.
    '--unshare-pid', '--unshare-ipc',
    // As root, bwrap without this keeps CAP_DAC_OVERRIDE & co., and a step could write through --ro-bind.
    '--cap-drop', 'ALL',
    '--ro-bind', '/', '/',
    '--dev', '/dev',
    '--proc', '/proc',
  ];
  // Parents first, so a mount inside a masked directory (this job's checkout inside the hidden work
  // dir) lands on top of the mask instead of under it. The sort is stable: ties keep their order.
  const ordered = [...cmd.mounts].sort((a, b) => depth(a.path) - depth(b.path));
  for (const m of ordered) {
    if (m.kind === 'tmpfs') args.push('--tmpfs', m.path);
    else if (m.kind === 'bind') args.push(m.readOnly ? '--ro-bind' : '--bind', m.source, m.path);
    else args.push('--ro-bind', '/dev/null', m.path);
  }
  // Only now: bwrap creates the mount points it needs inside these before they turn read-only.
  for (const m of ordered) if (m.kind === 'tmpfs' && m.hide) args.push('--remount-ro', m.path);
  args.push('--chdir', cmd.cwd, '--', cmd.env, '--default-signal=TERM', ...cmd.argv);
  return args;
}

function depth(path: string): number {
  return path.split('/').filter(Boolean).length;
}

/** True when `path` is `dir` or lies under it. */
export function covers(dir: string, path: string): boolean {
  return path === dir || path.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
}

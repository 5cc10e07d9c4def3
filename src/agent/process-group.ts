/**
 * Signal a whole process group. Steps run detached (their own group), so this reaches the
 * shell and everything it started, such as a `sleep` in the background.
 */
export function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone, which is what we wanted.
  }
}

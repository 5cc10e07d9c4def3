import { LoggedProcess } from '../../../cluster/processes.js';

/**
 * The environment a spawned kici program gets: PATH, HOME and LANG only, plus what the caller adds,
 * so nothing from the test runner's own environment (say a stray KICI_* variable) changes the outcome.
 */
export { baseEnv } from '../../../cluster/processes.js';

/**
 * A node program started by a test, its stdout and stderr appended to a log file so a failing
 * test can show what the process said. `killAll()` ends whatever a test file left running.
 */
export class NodeProcess extends LoggedProcess {
  constructor(
    name: string,
    script: string,
    args: string[],
    env: NodeJS.ProcessEnv,
    logFile: string,
    /** Where it runs; defaults that are relative paths (say ./.kici-data) land here. */
    cwd?: string,
  ) {
    super(name, script, args, env, logFile, { cwd });
    live.add(this);
    void this.exited.then(() => live.delete(this));
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  override stop(graceMs = 10_000): Promise<void> {
    return super.stop(graceMs);
  }

  /** Everything printed to the log file so far (across restarts that share it). */
  output(): string {
    return this.logText();
  }

  /** The last `lines` lines the process printed. */
  override tail(lines = 40): string {
    return super.tail(lines);
  }
}

const live = new Set<NodeProcess>();

/** Kill whatever a test file left running (called from afterAll; processes are only ever ours). */
export async function killAll(): Promise<void> {
  await Promise.all([...live].map((p) => p.kill9()));
}

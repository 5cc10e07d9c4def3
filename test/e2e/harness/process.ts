import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync, existsSync } from 'node:fs';

/**
 * A node program started by a test, its stdout and stderr appended to a log file so a failing
 * test can show what the process said.
 */
export class NodeProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly name: string,
    script: string,
    args: string[],
    env: NodeJS.ProcessEnv,
    readonly logFile: string,
    /** Where it runs; defaults that are relative paths (say ./.kici-data) land here. */
    cwd?: string,
  ) {
    const fd = openSync(logFile, 'a');
    try {
      this.child = spawn(process.execPath, [script, ...args], { env, cwd, stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    live.add(this);
    void this.exited.then(() => live.delete(this));
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** kill -9: no shutdown code runs. */
  async kill9(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** Everything printed to the log file so far (across restarts that share it). */
  output(): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8') : '';
  }

  /** The last `lines` lines the process printed. */
  tail(lines = 40): string {
    return this.output().split('\n').slice(-lines).join('\n');
  }
}

const live = new Set<NodeProcess>();

/** Kill whatever a test file left running (called from afterAll; processes are only ever ours). */
export async function killAll(): Promise<void> {
  await Promise.all([...live].map((p) => p.kill9()));
}

/**
 * The environment a spawned kici program gets: PATH and HOME only, plus what the caller adds, so
 * nothing from the test runner's own environment (say a stray KICI_* variable) changes the outcome.
 */
export function baseEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8' };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

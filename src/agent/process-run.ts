import { spawn, type ChildProcess } from 'node:child_process';
import type { Clock } from '../clock/index.js';
import type { JobControl, JobStop } from './job-control.js';
import { signalGroup } from './process-group.js';

export interface ProcessRun {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
  clock: Clock;
  control: JobControl;
  onOutput: (stream: 'stdout' | 'stderr', data: Buffer) => void;
}

export interface ProcessResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stoppedBy?: JobStop;
  spawnError?: string;
}

/** How long to wait for the pipes to close after the group was killed; beyond it a process escaped. */
const PIPE_CLOSE_WAIT_MS = 5000;

/**
 * Run one process in its own process group. Its timeout and a job stop signal the whole group; when
 * the main process ends, whatever it left behind in its group is killed too, so nothing a step
 * started outlives it.
 */
export function runProcess(run: ProcessRun): Promise<ProcessResult> {
  return new Promise((resolve) => {
    let child: ChildProcess;
    try {
      child = spawn(run.argv[0] ?? '', run.argv.slice(1), {
        cwd: run.cwd,
        env: run.env,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (err) {
      resolve({ exitCode: null, signal: null, timedOut: false, spawnError: errorText(err) });
      return;
    }
    const pid = child.pid;
    const cleanups: (() => void)[] = [];
    let timedOut = false;
    let stoppedBy: JobStop | undefined;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let settled = false;

    child.stdout?.on('data', (d: Buffer) => run.onOutput('stdout', d));
    child.stderr?.on('data', (d: Buffer) => run.onOutput('stderr', d));

    cleanups.push(
      run.clock.setTimer(run.timeoutMs, () => {
        timedOut = true;
        signalGroup(pid, 'SIGKILL');
      }),
    );
    cleanups.push(
      run.control.onStop((stop) => {
        stoppedBy = stop;
        if (stop.force) return signalGroup(pid, 'SIGKILL');
        signalGroup(pid, 'SIGTERM');
        cleanups.push(run.clock.setTimer(run.control.graceMs, () => signalGroup(pid, 'SIGKILL')));
      }),
    );

    const settle = (spawnError?: string): void => {
      if (settled) return;
      settled = true;
      for (const cleanup of cleanups) cleanup();
      resolve({ exitCode: exit?.code ?? null, signal: exit?.signal ?? null, timedOut, stoppedBy, spawnError });
    };

    child.on('error', (err) => settle(errorText(err)));
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      signalGroup(pid, 'SIGKILL');
      // 'close' follows once every holder of the pipes is gone; don't wait forever for an escapee.
      cleanups.push(
        run.clock.setTimer(PIPE_CLOSE_WAIT_MS, () => {
          child.stdout?.destroy();
          child.stderr?.destroy();
          settle();
        }),
      );
    });
    child.on('close', () => settle());
  });
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

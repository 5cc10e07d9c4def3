import path from 'node:path';
import { ROOT } from './build.js';
import { baseEnv, NodeProcess } from './process.js';
import { waitUntil } from './wait.js';

/** The line kici-dev prints once its local agent is registered; it names the orchestrator's URL. */
const CONNECTED = /^kici: orchestrator at (\S+), one local agent connected\./m;

/**
 * `npm start` as a user runs it: the real kici-dev (orchestrator plus one local agent) in `cwd`,
 * with only the given variables on top of PATH and HOME, its output in `logFile`.
 */
export class DevProcess extends NodeProcess {
  constructor(env: Record<string, string | undefined>, logFile: string, cwd?: string) {
    super('kici-dev', path.join(ROOT, 'dist', 'src', 'bin', 'kici-dev.js'), [], baseEnv({ KICI_LOG_LEVEL: 'info', ...env }), logFile, cwd);
  }

  /**
   * The URL from the "one local agent connected" line, as soon as it is printed (looked for every
   * 10 ms); fails at once if kici-dev exits without printing it.
   */
  connected(timeoutMs = 90_000): Promise<string> {
    const said = () => CONNECTED.exec(this.output())?.[1];
    const exited = this.exited.then(({ code, signal }) => {
      const url = said();
      if (url) return url;
      throw new Error(`kici-dev exited (${signal ?? code}) without saying its agent is connected:\n${this.tail()}`);
    });
    const printed = waitUntil('kici-dev to say its local agent is connected', said, { timeoutMs, intervalMs: 10, describe: () => this.tail(15) });
    return Promise.race([printed, exited]);
  }

  /** Whether the "one local agent connected" line was printed. */
  saidConnected(): boolean {
    return CONNECTED.test(this.output());
  }
}

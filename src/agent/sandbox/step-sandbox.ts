/** What one step attempt brings to a sandbox, in the agent's own paths. */
export interface SandboxedRun {
  argv: string[];
  /** The step's environment (never the agent's): the sandbox's first process inherits it. */
  env: Record<string, string>;
  cwd: string;
  /** Writable inside: the job's checkout. */
  checkoutDir: string;
  /** This job's private home directory, shown at the step's HOME. */
  homeDir: string;
  /** Files the step is given from the agent's own directories: its script, the needs document. */
  readOnlyFiles: string[];
  /** Its output file. */
  writableFiles: string[];
}

/** The process to start instead of the step's own, and the environment to start it with. */
export interface WrappedRun {
  argv: string[];
  env: Record<string, string>;
}

export interface StepSandbox {
  /** What the agent logs at start. */
  readonly description: string;
  wrap(run: SandboxedRun): WrappedRun;
}

import { BwrapSandbox } from './bwrap-sandbox.js';
import { findProgram } from './find-program.js';
import { probeSandbox } from './probe.js';
import type { StepSandbox } from './step-sandbox.js';

export const SANDBOX_MODES = ['auto', 'bwrap', 'none'] as const;
export type SandboxMode = (typeof SANDBOX_MODES)[number];

export const INSTALL_HINT = 'install it with `apt-get install bubblewrap` (Fedora: `dnf install bubblewrap`)';

/** What steps run in, and the one line the agent says about it at start. */
export type SandboxChoice =
  | { ok: true; sandbox?: StepSandbox; level: 'info' | 'warn'; message: string }
  | { ok: false; message: string };

export interface SandboxRequest {
  mode: SandboxMode;
  /** Absolute paths steps must not see. */
  hidden: readonly string[];
  /** The agent's environment: its PATH finds bwrap and env; the probe runs with its HOME/TMPDIR. */
  hostEnv: NodeJS.ProcessEnv;
  /** Tests point this elsewhere; defaults to running the real thing. */
  probe?: typeof probeSandbox;
}

/**
 * `none` never sandboxes; `bwrap` sandboxes or refuses to start; `auto` sandboxes when bubblewrap
 * works here and otherwise runs steps as before, so a fresh machine still runs jobs.
 */
export function chooseSandbox(req: SandboxRequest): SandboxChoice {
  if (req.mode === 'none') {
    return { ok: true, level: 'warn', message: 'steps are not isolated (--sandbox none): they can read and write whatever the agent can, and signal it' };
  }
  const usable = bwrapSandbox(req);
  if (usable.ok) return { ok: true, sandbox: usable.sandbox, level: 'info', message: `steps run in a bubblewrap sandbox: ${usable.sandbox.description}` };
  if (req.mode === 'bwrap') {
    return { ok: false, message: `--sandbox bwrap: bubblewrap does not work here (${usable.reason}); ${INSTALL_HINT}, or start with --sandbox auto` };
  }
  return {
    ok: true,
    level: 'warn',
    message: `bubblewrap does not work here (${usable.reason}), so steps are not isolated: they can read the agent's files and token; ${INSTALL_HINT}`,
  };
}

function bwrapSandbox(req: SandboxRequest): { ok: true; sandbox: BwrapSandbox } | { ok: false; reason: string } {
  const bwrap = findProgram('bwrap', req.hostEnv.PATH);
  if (!bwrap) return { ok: false, reason: 'bwrap is not on PATH' };
  const env = findProgram('env', req.hostEnv.PATH);
  if (!env) return { ok: false, reason: 'env (coreutils) is not on PATH' };
  const sandbox = new BwrapSandbox({ bwrap, env }, req.hidden);
  const probed = (req.probe ?? probeSandbox)(sandbox, req.hostEnv);
  return probed.ok ? { ok: true, sandbox } : { ok: false, reason: probed.reason };
}

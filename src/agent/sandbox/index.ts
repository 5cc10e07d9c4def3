/**
 * Where steps run: a bubblewrap sandbox that shows them the host read-only and nothing of the
 * agent's own (its token, work dir, other jobs, the orchestrator's data), or, when asked or when
 * bubblewrap is missing, the host itself.
 */
export { bwrapArgv, covers, type BwrapCommand, type Mount } from './bwrap-argv.js';
export { BwrapSandbox, type BwrapPrograms } from './bwrap-sandbox.js';
export { chooseSandbox, INSTALL_HINT, SANDBOX_MODES, type SandboxChoice, type SandboxMode, type SandboxRequest } from './choose-sandbox.js';
export { findProgram } from './find-program.js';
export { neededUnder } from './hidden-paths.js';
export { probeSandbox } from './probe.js';
export type { SandboxedRun, StepSandbox, WrappedRun } from './step-sandbox.js';

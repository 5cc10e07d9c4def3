export { startOrchestrator, VERSION, type Orchestrator, type StartOptions } from './orchestrator.js';
export { loadConfig, ConfigError, type OrchestratorConfig } from './config.js';
export { ORCHESTRATOR_VARIABLES, AGENT_VARIABLES, ADMIN_VARIABLES, STEP_VARIABLES, ownerOf } from './variables.js';
export { startWorker, type WorkerNode } from './worker.js';
export { jobInputSource } from './wiring/job-inputs.js';

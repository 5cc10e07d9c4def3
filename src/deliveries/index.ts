/**
 * The deliveries room: what arrives — webhook deliveries, manual triggers, reruns — becomes runs.
 * It owns delivery processing (lock file at the commit, trigger matching, the outcome on the
 * delivery row), run creation, reruns built from a stored run, operator-triggered runs, and the
 * node's cache of sources and their secrets that the webhook intake and processing both read.
 */
export { DeliveryProcessor, retryDelayMs, type AcceptedDelivery, type ProcessorDeps, type ResumeFilter } from './processor.js';
export { createWorkflowRun, createFailedRun, newRunPlace, type RunCreationDeps, type RunOrigin } from './run-creation.js';
export { rerunRun, type RerunResult } from './reruns.js';
export { triggerRuns, type ManualTriggerDeps, type TriggerInput, type TriggerResult } from './manual-trigger.js';
export { wouldRun } from './manual-runs.js';
export { SourceCatalog, parsePreviousSecret, type PreviousSecret, type SourceSecretName } from './source-catalog.js';
export { toWebhookSource } from './webhook-sources.js';
export { WEBHOOK_RESULTS, type DeliveryMetrics, type WebhookResult } from './metrics.js';
export { RunNotFound, NothingToRerun, TriggerRefused, LockfileUnusable } from './errors.js';
export { dedupKeySweep } from './dedup-key-sweep.js';
export { DeliveryRetryLater, GITHUB_API_NOT_WIRED, type GithubLockfileRequest, type GithubRepoRequest, type GithubRepos } from './github-repos.js';

/**
 * The github room: one GitHub App's client (app JWT → installation tokens cached by the injected
 * clock, the lock file at a commit through the contents API with an LRU, a pull request's changed
 * files, check runs, clone credentials), its error kinds (retryable or not, messages redacted), and
 * the pure check-run summary helper. No sockets but GitHub's HTTPS, no database.
 */
export {
  GitHubApp,
  GITHUB_API_URL,
  LOCKFILE_PATH,
  PERMISSIONS,
  PULL_FILES_CAP,
  type RepositoryPermission,
  type RefTip,
  type RepositoryFacts,
  type ChangedFiles,
  type CloneCredentials,
  type GitHubAppOptions,
  type GitHubLockfile,
  type InstallationHint,
} from './client.js';
export type { CheckRun, CheckRunConclusion, CheckRunFields, CheckRunOutput, CheckRunStatus, NewCheckRun } from './check-runs.js';
export { nextLink } from './http.js';
export { GitHubAppPool, splitRepo, type AppCredentials } from './pool.js';
export { GitHubError, redact, type GitHubErrorKind } from './errors.js';
export {
  byteLength,
  capText,
  CHECK_RUN_TEXT_MAX_BYTES,
  LOG_CONTEXT_STEPS,
  renderCheckRunSummary,
  stripAnsi,
  type LogContextLines,
  type RenderedSummary,
  type SummaryInput,
  type SummaryStep,
} from './summary.js';
export {
  DEFAULT_REFRESH_BEFORE_MS,
  InstallationTokenCache,
  type InstallationToken,
  type MintToken,
  type TokenCacheOptions,
} from './token-cache.js';

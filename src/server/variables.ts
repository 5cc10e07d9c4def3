/**
 * The registry of every KICI_* name any kici program reads or sets. The orchestrator refuses a
 * KICI_* variable that is in none of these lists (a likely typo) and ignores names that belong
 * to another kici program, so one shared environment file can serve the whole fleet.
 */

/** Names the orchestrator reads. */
export const ORCHESTRATOR_VARIABLES = [
  'KICI_MODE',
  'KICI_INSTANCE_MODE',
  'KICI_PORT',
  'KICI_HOST',
  'KICI_BASE_PATH',
  'KICI_DATA_DIR',
  'KICI_DATABASE_URL',
  'KICI_AUTO_MIGRATE',
  'KICI_SECRET_KEY',
  'KICI_SECRET_KEY_FILE',
  'KICI_SECRET_KEY_OLD',
  'KICI_SECRET_KEY_FILE_OLD',
  'KICI_BOOTSTRAP_ADMIN_TOKEN',
  'KICI_PLATFORM_URL',
  'KICI_PLATFORM_TOKEN',
  'KICI_LOG_LEVEL',
  'KICI_LOG_FORMAT',
  'KICI_LOG_DIR',
  'KICI_CONFIG',
  'KICI_STORAGE_TYPE',
  'KICI_STORAGE_BUCKET',
  'KICI_STORAGE_LOG_BUCKET',
  'KICI_STORAGE_REGION',
  'KICI_STORAGE_ENDPOINT',
  'KICI_STORAGE_EXTERNAL_ENDPOINT',
  'KICI_STORAGE_UPLOAD_ENDPOINT',
  'KICI_STORAGE_FORCE_PATH_STYLE',
  'KICI_STORAGE_PREFIX',
  'KICI_STORAGE_FS_PATH',
  'KICI_STORAGE_FS_BASE_URL',
  'KICI_SKIP_S3_SENTINEL_VALIDATION',
  'KICI_CACHE_TTL_DAYS',
  'KICI_CACHE_MAX_TARBALL_BYTES',
  'KICI_CACHE_BUILD_TIMEOUT_MS',
  'KICI_USER_CACHE_TTL_MS',
  'KICI_USER_CACHE_QUOTA_BYTES',
  'KICI_DISPATCH_ACK_TIMEOUT_MS',
  'KICI_JOB_HEARTBEAT_INTERVAL_MS',
  'KICI_AGENT_RECOVERY_WINDOW_MS',
  'KICI_AGENT_HEARTBEAT_TIMEOUT_MS',
  'KICI_AGENT_AUTH',
  'KICI_AGENT_TOKEN_TTL_MS',
  'KICI_STALE_DETECTOR_THRESHOLD_MULTIPLIER',
  'KICI_STALE_DETECTOR_SCAN_INTERVAL_MS',
  'KICI_CONCURRENCY_WAIT_TIMEOUT_MS',
  'KICI_QUEUE_MAX_DEPTH',
  'KICI_EVENT_LOG_MAX_PAYLOAD_BYTES',
  'KICI_EVENT_ROUTER_RETRY_SCAN_INTERVAL_MS',
  'KICI_EVENT_ROUTER_RETRY_BASE',
  'KICI_EVENT_ROUTER_MAX_DISPATCH_ATTEMPTS',
  'KICI_ORCH_RECONNECT_REPLAY_WINDOW_HOURS',
  'KICI_COLD_STORE_BUCKET',
  'KICI_ROSTER_TTL_MS',
  'KICI_ROSTER_GRACE_MS',
  'KICI_SCALER_CONFIG_PATH',
  'KICI_CLUSTER_ROLE',
  'KICI_CLUSTER_PEERS',
  'KICI_CLUSTER_JOIN_TOKEN',
  'KICI_CLUSTER_INSTANCE_ID',
  'KICI_CLUSTER_ADDRESS',
  'KICI_CLUSTER_SINGLE_NODE',
  'KICI_CLUSTER_TRUSTED_PROXIES',
  'KICI_CLUSTER_RAFT_HEARTBEAT_MS',
  'KICI_CLUSTER_RAFT_ELECTION_TIMEOUT_MIN',
  'KICI_CLUSTER_RAFT_ELECTION_TIMEOUT_MAX',
  'KICI_CLUSTER_PEER_STALE_TIMEOUT_MS',
  'KICI_CLUSTER_PEER_MAX_RECONNECT_DELAY_MS',
  'KICI_CLUSTER_PEER_HEARTBEAT_INTERVAL_MS',
  'KICI_CLUSTER_ELECTION_GRACE_PERIOD_MS',
  'KICI_CLUSTER_CREDENTIAL_FILE',
  'KICI_CLUSTER_COORDINATOR_URL',
  'KICI_CLUSTER_COORDINATOR_URLS',
  'KICI_CLUSTER_AUTO_ROTATE_CREDENTIALS',
  'KICI_DEV',
  'KICI_ENV',
] as const;

/** Names the agent reads. */
export const AGENT_VARIABLES = [
  'KICI_AGENT_URL',
  'KICI_AGENT_TOKEN',
  'KICI_AGENT_ID',
  'KICI_AGENT_LABELS',
  'KICI_AGENT_WORK_DIR',
  'KICI_AGENT_MAX_CONCURRENCY',
  'KICI_AGENT_MAX_RECONNECT_DELAY_MS',
  'KICI_ORCHESTRATOR_URL',
  'KICI_SCALER_IDLE_TIMEOUT',
] as const;

/** Names kici-admin reads. */
export const ADMIN_VARIABLES = ['KICI_ADMIN_URL', 'KICI_ADMIN_TOKEN'] as const;

/** Names the agent sets for a step (they may leak into an operator's shell when testing). */
export const STEP_VARIABLES = [
  'KICI_RUN_ID',
  'KICI_JOB_ID',
  'KICI_JOB_NAME',
  'KICI_WORKFLOW',
  'KICI_ATTEMPT',
  'KICI_EVENT',
  'KICI_REPO',
  'KICI_REF',
  'KICI_BRANCH',
  'KICI_SHA',
  'KICI_OUTPUT',
  'KICI_NEEDS_FILE',
] as const;

/** Step variables that carry a suffix chosen by the lock file. */
export const STEP_VARIABLE_PREFIXES = ['KICI_MATRIX_', 'KICI_NEEDS_', 'KICI_VAULT_', 'KICI_COLD_STORE_'] as const;

export type VariableOwner = 'orchestrator' | 'agent' | 'admin' | 'step';

const owners = new Map<string, VariableOwner>([
  ...ORCHESTRATOR_VARIABLES.map((n) => [n, 'orchestrator'] as const),
  ...AGENT_VARIABLES.map((n) => [n, 'agent'] as const),
  ...ADMIN_VARIABLES.map((n) => [n, 'admin'] as const),
  ...STEP_VARIABLES.map((n) => [n, 'step'] as const),
]);

export function ownerOf(name: string): VariableOwner | undefined {
  const owner = owners.get(name);
  if (owner) return owner;
  return STEP_VARIABLE_PREFIXES.some((p) => name.startsWith(p) && name.length > p.length) ? 'step' : undefined;
}

/** The closest known name, for "did you mean" hints on typos. */
export function closestVariable(name: string): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const known of owners.keys()) {
    const d = editDistance(name, known);
    if (d < bestDistance) {
      bestDistance = d;
      best = known;
    }
  }
  return bestDistance <= 3 ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

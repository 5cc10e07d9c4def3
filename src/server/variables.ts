/**
 * The registry of every KICI_* name any kici program reads or sets. The orchestrator refuses a
 * KICI_* variable that is in none of these lists (a likely typo) and ignores names that belong
 * to another kici program, so one shared environment file can serve the whole fleet.
 */

import { STEP_METADATA_PREFIXES, STEP_METADATA_VARIABLES } from '../workflows/index.js';

/**
 * How the orchestrator treats a name it knows: `read` (used), `ignored` (accepted so one KiCI
 * environment file keeps working, logged at start with the reason) or `refused` (the process does
 * not start, and says why). Values a `read` variable refuses are described in its meaning.
 */
export type Handling = 'read' | 'ignored' | 'refused';

export interface OrchestratorVariable {
  name: string;
  default: string;
  meaning: string;
  handling: Handling;
  /** Why an ignored or refused variable is not read (shown at start and in the README). */
  reason?: string;
}

const PLATFORM = 'read only in platform and hybrid modes, which are refused until the Platform relay exists';
const CACHE = 'there is no dependency or user cache yet';
const EVENT_ROUTER = 'there is no event router: deliveries are processed from the store and resumed after a restart';
const QUEUE = 'the dispatch queue has no depth cap or backpressure yet (KICI_QUEUE_TIMEOUT_MS bounds the wait)';
const ROSTER = 'there is no auto-scaler or host roster yet';

const read = (name: string, dflt: string, meaning: string): OrchestratorVariable => ({ name, default: dflt, meaning, handling: 'read' });
const ignored = (name: string, meaning: string, reason: string): OrchestratorVariable => ({ name, default: '—', meaning, handling: 'ignored', reason });
const refused = (name: string, meaning: string, reason: string): OrchestratorVariable => ({ name, default: '—', meaning, handling: 'refused', reason });

/** Every name the orchestrator knows, in the order the README lists them. */
export const ORCHESTRATOR_VARIABLE_TABLE: readonly OrchestratorVariable[] = [
  read('KICI_MODE', 'independent', '`independent`; `platform` and `hybrid` need KiCI\'s hosted relay and are refused for now'),
  read('KICI_INSTANCE_MODE', '—', 'the same as `KICI_MODE` (KiCI\'s YAML-path name); wins when both are set'),
  read('KICI_PORT', '4000', 'HTTP + WebSocket port (`0` picks a free one; the URL is written to `<data dir>/orchestrator-url`)'),
  read('KICI_HOST', '0.0.0.0', 'listen address'),
  read('KICI_BASE_PATH', '—', 'prefix for every route, `/ws` and webhooks included, e.g. `/orchestrator` behind a reverse proxy'),
  read('KICI_TRUSTED_PROXIES', '—', 'comma-separated IP addresses of reverse proxies whose `X-Forwarded-For` names the client, for the failed-authentication limit and the warnings; any other peer\'s header is ignored'),
  read('KICI_DATA_DIR', './.kici-data', 'PGlite, blobs, generated key, admin token, node id, the cluster CA (`cluster/`), git mirrors'),
  read('KICI_DATABASE_URL', 'PGlite', '`postgres://…` for a real PostgreSQL 15+'),
  read('KICI_DATABASE_PREPARED_STATEMENTS', 'true', 'PostgreSQL only: `false` sends every statement unnamed, for a connection pooler that cannot keep prepared statements (PgBouncer before 1.21 in transaction mode); on, each connection prepares a statement once and PostgreSQL reuses its plan'),
  read('KICI_AUTO_MIGRATE', 'true', '`false`: refuse to start on a schema that is behind (run `kici-admin db migrate`)'),
  read('KICI_SECRET_KEY', 'generated', 'master key: 32 bytes as 64 hex characters or base64 (generated once into the data directory when unset)'),
  read('KICI_SECRET_KEY_FILE', '—', 'a file holding the master key instead of `KICI_SECRET_KEY` (not both)'),
  read('KICI_BOOTSTRAP_ADMIN_TOKEN', '—', 'an admin token (16+ characters) registered at start as `bootstrap`; a new value replaces (revokes) the previous one, so give every coordinator the same value; a revoked value is never registered again'),
  read('KICI_LOG_LEVEL', 'info', 'pino level: `fatal` `error` `warn` `info` `debug` `trace` `silent`'),
  read('KICI_LOG_FORMAT', 'json', 'logs are JSON on stderr; `auto` is accepted and means JSON; `pretty`/`text` are refused (pipe through pino-pretty)'),
  read('KICI_STORAGE_TYPE', 'filesystem', '`filesystem` (under `KICI_DATA_DIR`), `database` (blobs and step logs in PostgreSQL) or `s3` (an S3 bucket, AWS or compatible); a member of a cluster needs storage every member shares: `database` or `s3`'),
  read('KICI_STORAGE_BUCKET', '—', 's3: the bucket for blobs (webhook payload copies), and for step logs unless `KICI_STORAGE_LOG_BUCKET` is set; required with `KICI_STORAGE_TYPE=s3`. At start each bucket must answer HeadBucket and take a probe write, or the orchestrator does not start. Credentials come from the AWS SDK\'s default chain (`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, a profile, an instance role) and are never logged'),
  read('KICI_STORAGE_LOG_BUCKET', 'KICI_STORAGE_BUCKET', 's3: the bucket for step logs, when they should have their own lifecycle or access policy'),
  read('KICI_STORAGE_REGION', 'us-east-1', 's3: the bucket\'s region; the SDK needs one even for servers that ignore it (MinIO, SeaweedFS, R2)'),
  read('KICI_STORAGE_ENDPOINT', 'AWS', 's3: an S3-compatible server\'s http(s) URL, e.g. `http://minio:9000`'),
  read('KICI_STORAGE_FORCE_PATH_STYLE', 'false', 's3: `true` addresses objects as `ENDPOINT/bucket/key` instead of `bucket.ENDPOINT/key`, which most non-AWS servers need'),
  read('KICI_STORAGE_PREFIX', '—', 's3: a folder every key is kept under (`ci` and `ci/` both mean `ci/…`), to share a bucket'),
  read('KICI_STORAGE_CHECKSUMS', 'when_required', 's3: `when_required` sends request checksums only where S3\'s API demands them, which every S3-compatible server accepts; `when_supported` (the AWS SDK\'s own default since 2025) adds a CRC checksum to every upload, which some compatible servers refuse'),
  read('KICI_STORAGE_EXTERNAL_ENDPOINT', '—', 's3: the endpoint as agents reach it (an http(s) URL); accepted and checked, not used yet: nothing is pre-signed for agents'),
  read('KICI_STORAGE_UPLOAD_ENDPOINT', '—', 's3: the endpoint as `kici run remote` reaches it (an http(s) URL); accepted and checked, not used yet: nothing is pre-signed for uploads'),
  read('KICI_CACHE_TTL_DAYS', '30', 'dependency cache lifetime in days; under 30 is refused at start (keep bucket lifecycle rules at least this long). There is no dependency cache yet, so nothing else reads it'),
  read('KICI_DISPATCH_ACK_TIMEOUT_MS', '10000', 'an agent must acknowledge a dispatch within this (else close 4031 and redispatch); the node holding the agent\'s socket judges it, a turn after the deadline (an ack read late because an event loop stalled keeps the agent and its job); for an agent on another node the job is placed again only on that node\'s word that the agent is closed or gone — until then it waits, and fails with the reason if no word comes within `KICI_AGENT_RECOVERY_WINDOW_MS` past the deadline: a job is never given to a second agent while the first may run it'),
  read('KICI_JOB_HEARTBEAT_INTERVAL_MS', '60000', 'per-job heartbeat interval the stale scan expects'),
  read('KICI_STALE_DETECTOR_THRESHOLD_MULTIPLIER', '2', 'a running job with no heartbeat for interval × this is `timed_out_stale`'),
  read('KICI_STALE_DETECTOR_SCAN_INTERVAL_MS', '60000', 'how often the stale scan runs'),
  read('KICI_AGENT_RECOVERY_WINDOW_MS', '120000', 'how long a started job waits for its disconnected agent to come back, and an unacknowledged job for the word of the node holding its agent'),
  read('KICI_QUEUE_TIMEOUT_MS', '86400000', 'how long a job may wait for an agent to take it (from when it is first queued); past it the job fails with the reason'),
  read('KICI_GITHUB_API_URL', 'https://api.github.com', "GitHub's REST API, through which GitHub sources' lock files, refs, pull request files and authors' roles are read, installation tokens minted for cloning, and check runs reported (GitHub Enterprise Server: `https://HOST/api/v3`)"),
  read('KICI_PUBLIC_URL', '—', 'the address people\'s browsers reach this orchestrator at, base path included (`https://ci.example.com`, or `https://example.com/orchestrator` behind a proxy); when set, GitHub check runs link to their run\'s and job\'s page in the web view (`<url>/ui/#/runs/<id>`)'),
  read('KICI_GIT_RECONCILE_INTERVAL_MS', '60000', 'how often (and once at start) each enabled git source\'s mirror is fetched; a branch whose tip moved without a delivery gets the runs of a push of its newest commit'),
  read('KICI_RETENTION_DELIVERY_DAYS', '30', 'days a webhook delivery\'s raw body (and its gzipped copy in object storage) is kept after it was received; then the coordinator drops it, and the event log row (status, trace, hash, size, times) stays and says when; deliveries still `received` are never touched; `0` keeps bodies forever'),
  read('KICI_RETENTION_LOG_DAYS', '90', 'days the step logs of a finished run are kept after it finished; then the coordinator deletes them, and the run says when (`runs logs` answers `logs removed by retention on <date>`); `0` keeps logs forever'),
  read('KICI_UI_SESSION_HOURS', '12', 'hours a web view sign-in lasts (fractions allowed, at most 720); a session also ends when its admin token is revoked or at sign-out'),
  read('KICI_AGENT_HEARTBEAT_TIMEOUT_MS', '180000', 'an agent silent this long (no message, WebSocket ping or pong) is closed (4004), within this time: checked every tenth of it (50 ms–5 s), so after between 0.9 × and 1 × it (for timeouts of 500 ms or more)'),
  read('KICI_AGENT_AUTH', 'token', 'how agents authenticate: `token` (the only kind kici has; anything else is refused)'),
  read('KICI_CLUSTER_ROLE', 'coordinator', '`coordinator` (a member with the database, a Raft voter once promoted, owner of shards) or `worker` (an edge node with no database that is never dialled: it dials the coordinators named by `KICI_CLUSTER_COORDINATOR_URLS` and hosts only the agents connected to it; not with `KICI_DATABASE_URL` or `KICI_CLUSTER_PEERS`)'),
  read('KICI_CLUSTER_INSTANCE_ID', 'generated', 'this node\'s id (letters, digits, `.` `-` `_`); generated once into `KICI_DATA_DIR/node-id` when unset'),
  read('KICI_CLUSTER_PORT', '4001', 'the cluster port: TLS with client certificates for `/ws/peer`, and joining; opened only when `KICI_CLUSTER_ADDRESS` is set'),
  read('KICI_CLUSTER_ADDRESS', '—', '`host:port` the other nodes reach this node\'s cluster port at; a node without it cannot be joined'),
  read('KICI_CLUSTER_PEERS', '—', 'comma-separated `host:port` cluster ports of members, to join through (with `KICI_CLUSTER_JOIN_TOKEN`) and to find the cluster at after a restart'),
  read('KICI_CLUSTER_JOIN_TOKEN', '—', 'a token from `kici-admin peer create-token --role coordinator` (or `--role worker` for a worker): on the first start the node joins through `KICI_CLUSTER_PEERS` (a worker: through `KICI_CLUSTER_COORDINATOR_URLS`) and keeps what the join hands over under `KICI_DATA_DIR/cluster/`; not used once joined'),
  read('KICI_CLUSTER_COORDINATOR_URL', '—', 'workers only: a coordinator\'s cluster port (`KICI_CLUSTER_PORT`, not its HTTP port) this worker dials, `host:port`; `ws://host:port/ws/peer`, `wss://…` and `http(s)://host:port` are accepted and read as `host:port`'),
  read('KICI_CLUSTER_COORDINATOR_URLS', '—', 'workers only: comma-separated coordinators\' cluster ports, as `KICI_CLUSTER_COORDINATOR_URL`; both may be set (merged, each address once); a worker needs at least one'),
  read('KICI_CLUSTER_WORKER_OUTAGE_MAX_MS', '600000', 'coordinators: how long run owners hold the jobs of agents behind an unreachable worker as `recovering` before they fail them (at least 1000)'),
  read('KICI_WORKER_OUTBOX_MAX_BYTES', '67108864', 'workers only: what a worker holds of its agents\' results, step statuses and log chunks while no coordinator is reachable (64 MiB; at least 1 MiB)'),
  read('KICI_CLUSTER_RAFT_HEARTBEAT_MS', '50', 'Raft leader heartbeat, and the tick of the Raft clock'),
  read('KICI_CLUSTER_RAFT_ELECTION_TIMEOUT_MIN_MS', '500', 'a follower that hears no leader for a timeout drawn from [min, max) campaigns; min ≥ 5 × heartbeat'),
  read('KICI_CLUSTER_RAFT_ELECTION_TIMEOUT_MAX_MS', '1000', 'upper bound of the election timeout; max > min + heartbeat'),
  read('KICI_CLUSTER_PEER_HEARTBEAT_INTERVAL_MS', '500', 'pings on a quiet peer link'),
  read('KICI_CLUSTER_PEER_STALE_TIMEOUT_MS', '1500', 'a peer link silent this long is closed and its node considered dead (≥ 2 × the peer heartbeat)'),
  read('KICI_CLUSTER_PEER_MAX_RECONNECT_DELAY_MS', '5000', 'cap on the delay between attempts to reach a peer (exponential backoff with jitter from 100 ms)'),
  read('KICI_CLUSTER_SHARD_LEASE_MS', '1300', 'an owner that has heard from no quorum for this long stops acting on its shards (its runs\' actors passivate) until it hears from one again; at most the peer stale timeout less a drift margin (a tenth of it plus a Raft heartbeat), which is the default'),
  read('KICI_CLUSTER_REBALANCE_SHARDS_PER_SECOND', '16', 'shards moved between live coordinators per second, at most, to even them out: a node that joins gets its share gradually (about 5 s for a third node), while a dead node\'s shards move at once; 0 turns rebalancing off'),
  read('KICI_DEV', 'false', '`true`: an unknown `KICI_*` name is a warning instead of a refusal'),
  read('KICI_FAULT_INJECTION', 'false', '`true` (only with `KICI_DEV=true`): the peer links\' fault hook, driven through `POST /api/v1/cluster/faults`, for tests and chaos runs'),
  read('KICI_FAULT_CLOCK_OFFSET_MS', '—', 'only with `KICI_FAULT_INJECTION=true` (refused otherwise, even `0`): milliseconds added to every time this node reads, a whole number within a day either way (`-3600000`: an hour behind), so a chaos run has a node whose machine clock is wrong; a coordinator\'s deadlines still follow the database\'s clock (`kici_clock_skew_seconds` shows the correction), everything else it stamps and judges is shifted'),
  ignored('KICI_PLATFORM_URL', 'Platform relay WebSocket URL', PLATFORM),
  ignored('KICI_PLATFORM_TOKEN', 'Platform API key', PLATFORM),
  ignored('KICI_ORCH_RECONNECT_REPLAY_WINDOW_HOURS', 'Platform reconnect replay window', PLATFORM),
  ignored('KICI_SKIP_S3_SENTINEL_VALIDATION', 'skip the S3 bucket sentinel check', 'the start-time check of each bucket (HeadBucket, then a probe object written and deleted) always runs: a bucket that fails it would fail every write later'),
  ignored('KICI_COLD_STORE_BUCKET', 'S3 bucket for cold storage', 'there is no cold storage yet'),
  refused('KICI_STORAGE_FS_PATH', 'filesystem blob directory', 'blobs are kept under KICI_DATA_DIR/blobs; point KICI_DATA_DIR where they should go'),
  ignored('KICI_STORAGE_FS_BASE_URL', 'URL agents fetch cache blobs from', CACHE),
  ignored('KICI_CACHE_MAX_TARBALL_BYTES', 'dependency cache tarball cap', CACHE),
  ignored('KICI_CACHE_BUILD_TIMEOUT_MS', 'dependency cache build timeout', CACHE),
  ignored('KICI_USER_CACHE_TTL_MS', 'user cache lifetime', CACHE),
  ignored('KICI_USER_CACHE_QUOTA_BYTES', 'user cache quota', CACHE),
  ignored('KICI_AGENT_TOKEN_TTL_MS', 'agent token lifetime', 'agent tokens stay valid until revoked (`kici-admin agent token revoke`)'),
  ignored('KICI_CONCURRENCY_WAIT_TIMEOUT_MS', 'how long a run waits for its concurrency group', 'not read by this version: a waiting run waits until its group frees up or it is cancelled'),
  ignored('KICI_QUEUE_MAX_DEPTH', 'dispatch queue cap', QUEUE),
  ignored('KICI_QUEUE_BACKPRESSURE_THRESHOLD', 'dispatch queue backpressure threshold', QUEUE),
  ignored('KICI_EVENT_LOG_MAX_PAYLOAD_BYTES', 'stored webhook payload cap', 'webhook bodies are capped per source (`--max-payload`) and per route'),
  ignored('KICI_EVENT_ROUTER_RETRY_SCAN_INTERVAL_MS', 'event retry scan interval', EVENT_ROUTER),
  ignored('KICI_EVENT_ROUTER_RETRY_BASE_BACKOFF_MS', 'event retry base backoff', EVENT_ROUTER),
  ignored('KICI_EVENT_ROUTER_RETRY_MAX_BACKOFF_MS', 'event retry maximum backoff', EVENT_ROUTER),
  ignored('KICI_EVENT_ROUTER_MAX_DISPATCH_ATTEMPTS', 'event dispatch attempts', EVENT_ROUTER),
  ignored('KICI_EVENT_ROUTER_LEASE_DURATION_MS', 'event lease duration', EVENT_ROUTER),
  ignored('KICI_ROSTER_TTL_MS', 'ephemeral host lifetime', ROSTER),
  ignored('KICI_ROSTER_GRACE_MS', 'host roster grace period', ROSTER),
  refused('KICI_SCALER_CONFIG_PATH', 'auto-scaler configuration', 'the auto-scaler is not implemented: start agents yourself with kici-agent'),
  refused('KICI_CONFIG', 'YAML configuration file', 'kici reads its configuration from KICI_* variables only; YAML files are not supported'),
  read('KICI_SECRET_KEY_OLD', '—', 'previous master key during a rotation: values sealed with it are still read, new ones are sealed with `KICI_SECRET_KEY` only; remove it once `kici-admin rotate-key` reports nothing left (docs/key-rotation.md)'),
  read('KICI_SECRET_KEY_FILE_OLD', '—', 'a file holding the previous master key instead of `KICI_SECRET_KEY_OLD` (not both)'),
  refused('KICI_LOG_DIR', 'directory for rotated log files', 'file logs are not implemented: logs are JSON on stderr, collect them there'),
  ignored('KICI_LOG_MAX_SIZE', 'log file size cap', 'read only with KICI_LOG_DIR, which is refused'),
  ignored('KICI_LOG_RETENTION_DAYS', 'log file retention', 'read only with KICI_LOG_DIR, which is refused'),
  ignored('KICI_CLUSTER_SINGLE_NODE', 'skip the election grace period', 'there is no grace period: a node that is the only voter leads at once'),
  ignored('KICI_CLUSTER_TRUSTED_PROXIES', 'proxies trusted for X-Forwarded-For on peer sockets', 'the cluster port speaks TLS with client certificates end to end; no proxy may stand between peers'),
  ignored('KICI_CLUSTER_CREDENTIAL_FILE', 'peer credential file', 'a node\'s credentials are its certificate and key under KICI_DATA_DIR/cluster/'),
  ignored('KICI_CLUSTER_AUTO_ROTATE_CREDENTIALS', 'peer credential rotation', 'node certificates last a year; rotation is not implemented yet'),
  ignored('KICI_CLUSTER_ELECTION_GRACE_PERIOD_MS', 'election grace period after start', 'there is no grace period: a node that is the only voter leads at once'),
];

/** Names the orchestrator knows (read, ignored with a reason, or refused with a reason). */
export const ORCHESTRATOR_VARIABLES: readonly string[] = ORCHESTRATOR_VARIABLE_TABLE.map((v) => v.name);

const byName = new Map(ORCHESTRATOR_VARIABLE_TABLE.map((v) => [v.name, v]));

export function orchestratorVariable(name: string): OrchestratorVariable | undefined {
  return byName.get(name);
}

/** The README's configuration table, generated so the two cannot drift apart. */
export function orchestratorVariableTable(): string {
  const cell = (t: string) => t.replace(/\|/g, '\\|');
  const rows = ORCHESTRATOR_VARIABLE_TABLE.map((v) => {
    const dflt = v.default === '—' ? '—' : `\`${v.default}\``;
    const handling = v.handling === 'read' ? 'read' : `${v.handling}: ${v.reason}`;
    return `| \`${v.name}\` | ${dflt} | ${cell(v.meaning)} | ${cell(handling)} |`;
  });
  return ['| variable | default | meaning | handling |', '|---|---|---|---|', ...rows].join('\n');
}

/** Names the agent reads. */
export const AGENT_VARIABLES = [
  'KICI_AGENT_URL',
  'KICI_AGENT_TOKEN',
  'KICI_AGENT_ID',
  'KICI_AGENT_LABELS',
  'KICI_AGENT_WORK_DIR',
  'KICI_AGENT_MAX_CONCURRENCY',
  'KICI_AGENT_MAX_RECONNECT_DELAY_MS',
  'KICI_AGENT_PING_TIMEOUT_MS',
  'KICI_AGENT_OUTBOX_MAX_BYTES',
  'KICI_AGENT_TOKEN_FILE',
  'KICI_AGENT_SANDBOX',
  'KICI_AGENT_HIDE',
  'KICI_ORCHESTRATOR_URL',
  'KICI_SCALER_IDLE_TIMEOUT',
] as const;

/** Names kici-admin reads. */
export const ADMIN_VARIABLES = ['KICI_ADMIN_URL', 'KICI_ADMIN_TOKEN'] as const;

/** Names the agent sets for a step (they may leak into an operator's shell when testing). */
export const STEP_VARIABLES = [...STEP_METADATA_VARIABLES, 'KICI_ENV'] as const;

/** Step variables that carry a suffix chosen by the lock file (and secret backends' later). */
export const STEP_VARIABLE_PREFIXES = [...STEP_METADATA_PREFIXES, 'KICI_VAULT_', 'KICI_COLD_STORE_'] as const;

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

import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { z } from 'zod';
import { MAX_CLOCK_OFFSET_MS } from '../clock/index.js';
import { DEFAULT_RETENTION, type RetentionPolicy } from '../retention/index.js';
import type { S3StorageSettings } from '../store/index.js';
import { isPeerAddress } from '../vocabulary/index.js';
import { closestVariable, orchestratorVariable, ownerOf } from './variables.js';

/**
 * Orchestrator configuration: zod over KICI_* variables. Every refusal names the variable and
 * says why, and never echoes a secret value back.
 */

const boolean = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const millis = (min: number) => z.coerce.number().int().min(min);
const httpUrl = z.string().refine((u) => /^https?:\/\/[^/?#]+/i.test(u) && URL.canParse(u), 'must be an http(s) URL');

const MIB = 1024 * 1024;

/** Whole days, 0 for forever; at most 100 years, so a typo of extra digits is caught rather than obeyed. */
const retentionDays = z.coerce
  .number()
  .int('must be a whole number of days')
  .min(0, 'must be 0 (keep forever) or a number of days')
  .max(36_500, 'must be at most 36500 days (0 keeps forever)');

/** The shortest shard lease taken: anything shorter would lapse on an ordinary scheduling hiccup. */
const SHARD_LEASE_FLOOR_MS = 50;

/**
 * The longest shard lease the cluster's timings allow: the peer stale timeout (after which the
 * leader judges a silent node dead and gives its shards away) less a drift margin: a tenth of it
 * for clocks that run at different rates, and a Raft heartbeat because the lease is judged once
 * per heartbeat and may lapse up to one late.
 */
export function shardLeaseLimit(timings: { peerStaleMs: number; raftHeartbeatMs: number }): number {
  return timings.peerStaleMs - Math.ceil(timings.peerStaleMs / 10) - timings.raftHeartbeatMs;
}

const basePath = z
  .string()
  .regex(/^(\/[A-Za-z0-9._~-]+)*\/?$/, 'must be a path such as /orchestrator')
  .transform((p) => p.replace(/\/+$/, ''));

/** Comma-separated IP addresses; every entry must be one (a typo would silently trust nobody). */
const addressList = z.string().transform((value, ctx) => {
  const list = value.split(',').map((a) => a.trim()).filter((a) => a.length > 0);
  for (const a of list) {
    if (isIP(a) === 0) ctx.addIssue({ code: 'custom', message: `${a} is not an IP address (list the proxies' addresses, comma-separated)` });
  }
  return list;
});

/** `host:port` or `[v6]:port`, as other nodes reach a cluster port. */
const peerAddress = z.string().trim().refine(isPeerAddress, 'must be host:port (the host and cluster port other nodes reach)');
const peerList = z.string().transform((value, ctx) => {
  const list = value.split(',').map((a) => a.trim()).filter((a) => a.length > 0);
  for (const a of list) if (!peerAddress.safeParse(a).success) ctx.addIssue({ code: 'custom', message: `${a} is not host:port (list the members' cluster ports, comma-separated)` });
  return list;
});

/**
 * A coordinator's cluster port as a worker is told it: `host:port`, or a URL KiCI users paste
 * (`ws://host:port/ws/peer`, `wss://…`, `http(s)://host:port`), rewritten to `host:port`. The port
 * must be named: a URL's default port (80, 443) is never a cluster port.
 */
export function coordinatorAddress(text: string): string | undefined {
  const value = text.trim();
  if (isPeerAddress(value)) return value;
  const url = /^(?:wss?|https?):\/\/([^/?#@]+)(?:[/?#].*)?$/i.exec(value);
  return url && isPeerAddress(url[1]!) ? url[1]! : undefined;
}

const coordinatorList = (name: string, one: boolean) =>
  z.string().transform((value, ctx) => {
    const list: string[] = [];
    const entries = value.split(',').map((a) => a.trim()).filter((a) => a.length > 0);
    if (one && entries.length > 1) {
      ctx.addIssue({ code: 'custom', message: 'names one coordinator; list several in KICI_CLUSTER_COORDINATOR_URLS (comma-separated)' });
      return list;
    }
    for (const entry of entries) {
      const address = coordinatorAddress(entry);
      if (address) list.push(address);
      // A URL with credentials is never quoted back (a worker authenticates with its certificate).
      else if (/^[a-z]+:\/\/[^/?#]*@/i.test(entry)) ctx.addIssue({ code: 'custom', message: `a URL with credentials (user:password@) is refused and not quoted: ${name} names the coordinators' cluster ports, host:port, and a worker authenticates with its certificate` });
      else ctx.addIssue({ code: 'custom', message: `${entry} is not host:port or a ws://, wss://, http:// or https:// URL with a port (${name} names the coordinators' cluster ports, KICI_CLUSTER_PORT)` });
    }
    return list;
  });

/** An http(s) URL; one with credentials in it is refused without quoting it back. */
const endpointUrl = z
  .string()
  .trim()
  .refine((u) => !/^[a-z]+:\/\/[^/?#]*@/i.test(u), 'must not hold credentials (user:password@); the SDK takes them from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY')
  .refine((u) => /^https?:\/\/[^/?#]+/i.test(u) && URL.canParse(u), 'must be an http(s) URL such as http://minio:9000');

/** S3's bucket naming rules (3–63 lowercase letters, digits, dots and dashes), which compatible servers keep too. */
const bucketName = z.string().trim().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name: 3–63 lowercase letters, digits, dots and dashes');

/** The S3 variables (read only with KICI_STORAGE_TYPE=s3, but checked whenever set). */
const s3Variables = {
  KICI_STORAGE_BUCKET: bucketName.optional(),
  KICI_STORAGE_LOG_BUCKET: bucketName.optional(),
  KICI_STORAGE_REGION: z.string().trim().regex(/^[a-z0-9-]{1,64}$/, 'must be a region name such as us-east-1').default('us-east-1'),
  KICI_STORAGE_ENDPOINT: endpointUrl.optional(),
  KICI_STORAGE_EXTERNAL_ENDPOINT: endpointUrl.optional(),
  KICI_STORAGE_UPLOAD_ENDPOINT: endpointUrl.optional(),
  KICI_STORAGE_FORCE_PATH_STYLE: boolean.default(false),
  KICI_STORAGE_PREFIX: z
    .string()
    .regex(/^\/*([A-Za-z0-9._~:@+=-]+\/)*[A-Za-z0-9._~:@+=-]*\/*$/, 'must be a key prefix such as ci or ci/kici (letters, digits and . _ ~ : @ + = -, folders separated by /)')
    .refine((p) => !p.split('/').some((s) => s === '.' || s === '..'), 'must not hold . or .. folders')
    .default(''),
  KICI_STORAGE_CHECKSUMS: z.enum(['when_supported', 'when_required'], { error: 'must be when_required or when_supported' }).default('when_required'),
  // No cache exists yet; the floor is KiCI's, so bucket lifecycle rules written against it stay valid.
  KICI_CACHE_TTL_DAYS: z.coerce
    .number()
    .int('must be a whole number of days')
    .min(30, 'must be at least 30 (days): cached entries are relied on for 30 days, so bucket lifecycle rules must keep objects at least that long')
    .default(30),
};

const schema = z.object({
  KICI_MODE: z.enum(['independent', 'platform', 'hybrid']).default('independent'),
  KICI_INSTANCE_MODE: z.enum(['independent', 'platform', 'hybrid']).optional(),
  KICI_PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  KICI_HOST: z.string().min(1).default('0.0.0.0'),
  KICI_BASE_PATH: basePath.default(''),
  KICI_TRUSTED_PROXIES: addressList.optional(),
  KICI_DATA_DIR: z.string().min(1).default('./.kici-data'),
  KICI_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  KICI_AUTO_MIGRATE: boolean.default(true),
  KICI_DATABASE_PREPARED_STATEMENTS: boolean.default(true),
  KICI_SECRET_KEY: z.string().optional(),
  KICI_SECRET_KEY_FILE: z.string().optional(),
  KICI_SECRET_KEY_OLD: z.string().optional(),
  KICI_SECRET_KEY_FILE_OLD: z.string().optional(),
  KICI_BOOTSTRAP_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  KICI_PLATFORM_URL: z.string().optional(),
  KICI_PLATFORM_TOKEN: z.string().optional(),
  KICI_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  KICI_LOG_FORMAT: z
    .enum(['json', 'auto'], { error: 'must be json or auto (logs are JSON on stderr; pipe them through pino-pretty to read them)' })
    .default('json')
    .transform((): 'json' => 'json'),
  KICI_STORAGE_TYPE: z.enum(['filesystem', 'fs', 'database', 's3']).default('filesystem'),
  ...s3Variables,
  KICI_AGENT_AUTH: z.string().default('token'),
  KICI_CLUSTER_ROLE: z.enum(['coordinator', 'worker']).default('coordinator'),
  KICI_DEV: boolean.default(false),
  KICI_FAULT_INJECTION: boolean.default(false),
  KICI_FAULT_CLOCK_OFFSET_MS: z.coerce
    .number()
    .int('must be a whole number of milliseconds')
    .min(-MAX_CLOCK_OFFSET_MS, `must be within a day either way (±${MAX_CLOCK_OFFSET_MS})`)
    .max(MAX_CLOCK_OFFSET_MS, `must be within a day either way (±${MAX_CLOCK_OFFSET_MS})`)
    .optional(),
  KICI_CLUSTER_INSTANCE_ID: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1–64 letters, digits, dots, dashes or underscores').optional(),
  KICI_DISPATCH_ACK_TIMEOUT_MS: millis(1000).default(10_000),
  KICI_JOB_HEARTBEAT_INTERVAL_MS: millis(100).default(60_000),
  KICI_AGENT_RECOVERY_WINDOW_MS: millis(100).default(120_000),
  KICI_QUEUE_TIMEOUT_MS: millis(100).default(86_400_000),
  KICI_GITHUB_API_URL: httpUrl.default('https://api.github.com'),
  KICI_PUBLIC_URL: httpUrl.refine((u) => !/[?#]/.test(u), 'must not have a query or a fragment').optional(),
  KICI_AGENT_HEARTBEAT_TIMEOUT_MS: millis(100).default(180_000),
  KICI_STALE_DETECTOR_THRESHOLD_MULTIPLIER: z.coerce.number().min(1).default(2),
  KICI_STALE_DETECTOR_SCAN_INTERVAL_MS: millis(100).default(60_000),
  KICI_GIT_RECONCILE_INTERVAL_MS: millis(100).default(60_000),
  KICI_RETENTION_DELIVERY_DAYS: retentionDays.default(DEFAULT_RETENTION.deliveryDays),
  KICI_RETENTION_LOG_DAYS: retentionDays.default(DEFAULT_RETENTION.logDays),
  KICI_UI_SESSION_HOURS: z.coerce.number().positive('must be a number of hours above 0').max(720, 'must be at most 720 hours (30 days)').default(12),
  KICI_CLUSTER_PORT: z.coerce.number().int().min(0).max(65535).default(4001),
  KICI_CLUSTER_ADDRESS: peerAddress.optional(),
  KICI_CLUSTER_PEERS: peerList.optional(),
  KICI_CLUSTER_JOIN_TOKEN: z.string().regex(/^kici1\./, 'must be a join token from kici-admin peer create-token (it starts with kici1.)').optional(),
  KICI_CLUSTER_RAFT_HEARTBEAT_MS: millis(10).default(50),
  KICI_CLUSTER_RAFT_ELECTION_TIMEOUT_MIN_MS: millis(50).default(500),
  KICI_CLUSTER_RAFT_ELECTION_TIMEOUT_MAX_MS: millis(60).default(1000),
  KICI_CLUSTER_PEER_HEARTBEAT_INTERVAL_MS: millis(10).default(500),
  KICI_CLUSTER_PEER_STALE_TIMEOUT_MS: millis(50).default(1500),
  KICI_CLUSTER_PEER_MAX_RECONNECT_DELAY_MS: millis(100).default(5000),
  /** Absent: the longest the peer stale timeout allows (`shardLeaseLimit`). */
  KICI_CLUSTER_SHARD_LEASE_MS: millis(SHARD_LEASE_FLOOR_MS).optional(),
  KICI_CLUSTER_REBALANCE_SHARDS_PER_SECOND: z.coerce.number().int().min(0).max(256).default(16),
  KICI_CLUSTER_COORDINATOR_URL: coordinatorList('KICI_CLUSTER_COORDINATOR_URL', true).optional(),
  KICI_CLUSTER_COORDINATOR_URLS: coordinatorList('KICI_CLUSTER_COORDINATOR_URLS', false).optional(),
  KICI_CLUSTER_WORKER_OUTAGE_MAX_MS: millis(1000).default(600_000),
  KICI_WORKER_OUTBOX_MAX_BYTES: z.coerce.number().int().min(MIB, `must be at least ${MIB} (1 MiB)`).default(64 * MIB),
});

export type RawConfig = z.infer<typeof schema>;

export interface OrchestratorConfig {
  mode: 'independent';
  /**
   * `coordinator`: a member with the database, a Raft voter once promoted, owner of shards.
   * `worker`: an edge node with no database, never dialled, that dials the coordinators
   * (`cluster.coordinators`) and hosts only the agents connected to it.
   */
  role: 'coordinator' | 'worker';
  port: number;
  host: string;
  basePath: string;
  /** Peers whose X-Forwarded-For names the client (failed-auth limit, warnings); nobody's when empty. */
  trustedProxies: string[];
  dataDir: string;
  /** This node's id; generated once into the data directory when absent. */
  instanceId?: string;
  databaseUrl?: string;
  autoMigrate: boolean;
  /** Prepare the store's parameterised statements once per PostgreSQL connection. */
  preparedStatements: boolean;
  secretKey?: string;
  secretKeyFile?: string;
  /** The previous master key while a rotation is in progress (read with, never sealed with). */
  secretKeyOld?: string;
  bootstrapAdminToken?: string;
  logLevel: RawConfig['KICI_LOG_LEVEL'];
  logFormat: RawConfig['KICI_LOG_FORMAT'];
  /** Variables that were set but are not read, with the reason; the orchestrator logs them at start. */
  warnings?: string[];
  dispatchAckTimeoutMs: number;
  jobHeartbeatIntervalMs: number;
  agentRecoveryWindowMs: number;
  /** How long a job may wait for an agent, from when it is first queued. */
  queueTimeoutMs: number;
  /** GitHub's REST API (GitHub Enterprise Server: `https://HOST/api/v3`). */
  githubApiUrl: string;
  /** Where people's browsers reach this orchestrator, base path included; check runs link into its web view. */
  publicUrl?: string;
  agentHeartbeatTimeoutMs: number;
  staleThresholdMs: number;
  staleScanIntervalMs: number;
  /** How often git sources' mirrors are fetched to find pushes no delivery brought. */
  gitReconcileIntervalMs: number;
  /** Days raw webhook bodies and finished runs' step logs are kept (0: forever); the coordinator enforces it. */
  retention: RetentionPolicy;
  /** How long a web view sign-in lasts (KICI_UI_SESSION_HOURS). */
  uiSessionMs: number;
  /** Where blobs and step logs are kept: under the data directory, in the database, or in S3 (the last two for clusters). */
  storageType: 'filesystem' | 'database' | 's3';
  /** With `storageType` s3: the bucket(s) and how to reach them. */
  s3?: S3Config;
  /** Dependency cache lifetime (days, at least 30); nothing reads it until a cache exists. */
  cacheTtlDays: number;
  /**
   * A worker's bound on what it holds of its agents' results, step statuses and log chunks while
   * no coordinator is reachable (bytes).
   */
  workerOutboxMaxBytes: number;
  cluster: ClusterConfig;
  /** The fault hook on the peer links (tests and chaos runs; only with KICI_DEV=true). */
  faultInjection: boolean;
  /**
   * Milliseconds added to every time this node reads (a chaos run's skewed machine; only with
   * fault injection); 0 when unset.
   */
  faultClockOffsetMs: number;
}

/** S3 settings, and the endpoints agents and `kici run remote` will reach the bucket at (accepted, not used yet). */
export interface S3Config extends S3StorageSettings {
  externalEndpoint?: string;
  uploadEndpoint?: string;
}

export interface ClusterConfig {
  /** The cluster port (TLS, `/ws/peer`, joining); opened only when `address` is set. */
  port: number;
  /** `host:port` other nodes reach this node's cluster port at; without it the node cannot be joined. */
  address?: string;
  /** Members' cluster ports to join through (and to find the cluster at after a restart). */
  peers: string[];
  joinToken?: string;
  raft: { heartbeatMs: number; electionMinMs: number; electionMaxMs: number };
  /** Pings on a quiet peer link; a link silent for `peerStaleMs` is closed and its node reported unreachable. */
  peerHeartbeatMs: number;
  peerStaleMs: number;
  maxReconnectDelayMs: number;
  /** An owner that has heard from no quorum for this long stops acting on its shards until it does. */
  shardLeaseMs: number;
  /** Shards moved between live coordinators per second, at most, to even them out (0: never). */
  rebalanceShardsPerSecond: number;
  /**
   * The coordinators' cluster ports (`host:port`) a worker dials, deduplicated, in the order given
   * (KICI_CLUSTER_COORDINATOR_URL first); empty on a coordinator.
   */
  coordinators: string[];
  /**
   * How long run owners hold the jobs of agents behind an unreachable worker as `recovering`
   * before they fail them (a coordinator setting).
   */
  workerOutageMaxMs: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Read the orchestrator's configuration from an environment; throws ConfigError listing every problem. */
export function loadConfig(env: NodeJS.ProcessEnv): OrchestratorConfig {
  const own: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && value !== '' && ownerOf(name) === 'orchestrator') own[name] = value;
  }
  const dev = boolean.safeParse(own.KICI_DEV);
  const unknown = unknownVariables(env);
  const problems = dev.success && dev.data ? [] : unknown;
  const warnings = dev.success && dev.data ? unknown.map((u) => `${u} (accepted because KICI_DEV=true)`) : [];
  for (const name of Object.keys(own)) {
    const known = orchestratorVariable(name);
    if (known?.handling === 'refused') problems.push(`${name}: ${known.reason}`);
    if (known?.handling === 'ignored') warnings.push(`${name} is ignored: ${known.reason}`);
  }
  const parsed = schema.safeParse(own);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(problems);
  }
  const c = parsed.data;
  problems.push(...refusedValues(c), ...clusterProblems(c), ...roleProblems(c));
  warnings.push(...roleWarnings(c, own), ...faultWarnings(c), ...s3Warnings(c, own));
  const secretKey = c.KICI_SECRET_KEY ?? readKeyFile(c.KICI_SECRET_KEY_FILE, problems);
  const secretKeyOld = c.KICI_SECRET_KEY_OLD ?? readKeyFile(c.KICI_SECRET_KEY_FILE_OLD, problems, 'KICI_SECRET_KEY_FILE_OLD');
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    mode: 'independent',
    role: c.KICI_CLUSTER_ROLE,
    port: c.KICI_PORT,
    host: c.KICI_HOST,
    basePath: c.KICI_BASE_PATH,
    trustedProxies: c.KICI_TRUSTED_PROXIES ?? [],
    dataDir: path.resolve(c.KICI_DATA_DIR),
    instanceId: c.KICI_CLUSTER_INSTANCE_ID,
    databaseUrl: c.KICI_DATABASE_URL,
    autoMigrate: c.KICI_AUTO_MIGRATE,
    preparedStatements: c.KICI_DATABASE_PREPARED_STATEMENTS,
    secretKey,
    secretKeyFile: c.KICI_SECRET_KEY_FILE,
    secretKeyOld,
    bootstrapAdminToken: c.KICI_BOOTSTRAP_ADMIN_TOKEN,
    logLevel: c.KICI_LOG_LEVEL,
    logFormat: c.KICI_LOG_FORMAT,
    warnings,
    dispatchAckTimeoutMs: c.KICI_DISPATCH_ACK_TIMEOUT_MS,
    jobHeartbeatIntervalMs: c.KICI_JOB_HEARTBEAT_INTERVAL_MS,
    agentRecoveryWindowMs: c.KICI_AGENT_RECOVERY_WINDOW_MS,
    queueTimeoutMs: c.KICI_QUEUE_TIMEOUT_MS,
    githubApiUrl: c.KICI_GITHUB_API_URL.replace(/\/+$/, ''),
    publicUrl: c.KICI_PUBLIC_URL?.replace(/\/+$/, ''),
    agentHeartbeatTimeoutMs: c.KICI_AGENT_HEARTBEAT_TIMEOUT_MS,
    staleThresholdMs: c.KICI_JOB_HEARTBEAT_INTERVAL_MS * c.KICI_STALE_DETECTOR_THRESHOLD_MULTIPLIER,
    staleScanIntervalMs: c.KICI_STALE_DETECTOR_SCAN_INTERVAL_MS,
    gitReconcileIntervalMs: c.KICI_GIT_RECONCILE_INTERVAL_MS,
    retention: { deliveryDays: c.KICI_RETENTION_DELIVERY_DAYS, logDays: c.KICI_RETENTION_LOG_DAYS },
    uiSessionMs: Math.round(c.KICI_UI_SESSION_HOURS * 3_600_000),
    storageType: c.KICI_STORAGE_TYPE === 'fs' ? 'filesystem' : c.KICI_STORAGE_TYPE,
    s3: c.KICI_STORAGE_TYPE === 's3' ? s3ConfigOf(c) : undefined,
    cacheTtlDays: c.KICI_CACHE_TTL_DAYS,
    faultInjection: c.KICI_FAULT_INJECTION,
    faultClockOffsetMs: c.KICI_FAULT_CLOCK_OFFSET_MS ?? 0,
    workerOutboxMaxBytes: c.KICI_WORKER_OUTBOX_MAX_BYTES,
    cluster: {
      port: c.KICI_CLUSTER_PORT,
      address: c.KICI_CLUSTER_ADDRESS,
      peers: c.KICI_CLUSTER_PEERS ?? [],
      joinToken: c.KICI_CLUSTER_JOIN_TOKEN,
      raft: { heartbeatMs: c.KICI_CLUSTER_RAFT_HEARTBEAT_MS, electionMinMs: c.KICI_CLUSTER_RAFT_ELECTION_TIMEOUT_MIN_MS, electionMaxMs: c.KICI_CLUSTER_RAFT_ELECTION_TIMEOUT_MAX_MS },
      peerHeartbeatMs: c.KICI_CLUSTER_PEER_HEARTBEAT_INTERVAL_MS,
      peerStaleMs: c.KICI_CLUSTER_PEER_STALE_TIMEOUT_MS,
      maxReconnectDelayMs: c.KICI_CLUSTER_PEER_MAX_RECONNECT_DELAY_MS,
      shardLeaseMs: c.KICI_CLUSTER_SHARD_LEASE_MS ?? shardLeaseLimit({ peerStaleMs: c.KICI_CLUSTER_PEER_STALE_TIMEOUT_MS, raftHeartbeatMs: c.KICI_CLUSTER_RAFT_HEARTBEAT_MS }),
      rebalanceShardsPerSecond: c.KICI_CLUSTER_REBALANCE_SHARDS_PER_SECOND,
      coordinators: c.KICI_CLUSTER_ROLE === 'worker' ? coordinatorsOf(c) : [],
      workerOutageMaxMs: c.KICI_CLUSTER_WORKER_OUTAGE_MAX_MS,
    },
  };
}

/** The cluster's timings must fit together; each problem names the variables and why. */
function clusterTimingProblems(c: RawConfig): string[] {
  const problems: string[] = [];
  const beat = c.KICI_CLUSTER_RAFT_HEARTBEAT_MS;
  const min = c.KICI_CLUSTER_RAFT_ELECTION_TIMEOUT_MIN_MS;
  const max = c.KICI_CLUSTER_RAFT_ELECTION_TIMEOUT_MAX_MS;
  if (min < 5 * beat) problems.push(`KICI_CLUSTER_RAFT_ELECTION_TIMEOUT_MIN_MS (${min}) must be at least 5 × KICI_CLUSTER_RAFT_HEARTBEAT_MS (${beat}): followers must hear several heartbeats before they give up on a leader`);
  if (max <= min + beat) problems.push(`KICI_CLUSTER_RAFT_ELECTION_TIMEOUT_MAX_MS (${max}) must exceed KICI_CLUSTER_RAFT_ELECTION_TIMEOUT_MIN_MS (${min}) by more than a heartbeat (${beat}): timeouts drawn from too narrow a range make split votes likely`);
  const ping = c.KICI_CLUSTER_PEER_HEARTBEAT_INTERVAL_MS;
  const stale = c.KICI_CLUSTER_PEER_STALE_TIMEOUT_MS;
  if (stale < 2 * ping) problems.push(`KICI_CLUSTER_PEER_STALE_TIMEOUT_MS (${stale}) must be at least 2 × KICI_CLUSTER_PEER_HEARTBEAT_INTERVAL_MS (${ping}): one late heartbeat must not declare a node dead`);
  problems.push(...shardLeaseProblems(c));
  return problems;
}

/** The shard lease must run out before the leader can judge this node dead and give its shards away. */
function shardLeaseProblems(c: RawConfig): string[] {
  const stale = c.KICI_CLUSTER_PEER_STALE_TIMEOUT_MS;
  const beat = c.KICI_CLUSTER_RAFT_HEARTBEAT_MS;
  const limit = shardLeaseLimit({ peerStaleMs: stale, raftHeartbeatMs: beat });
  const margin = `KICI_CLUSTER_PEER_STALE_TIMEOUT_MS (${stale}) less a drift margin (a tenth of it plus KICI_CLUSTER_RAFT_HEARTBEAT_MS, ${stale - limit})`;
  const why = 'an owner cut off from the quorum must stop acting on its shards before the leader judges it dead and gives them to another node';
  const lease = c.KICI_CLUSTER_SHARD_LEASE_MS;
  if (lease === undefined) {
    return limit < SHARD_LEASE_FLOOR_MS ? [`KICI_CLUSTER_PEER_STALE_TIMEOUT_MS (${stale}) leaves no room for the shard lease: the lease (at most ${margin} = ${limit}) must be at least ${SHARD_LEASE_FLOOR_MS} ms, since ${why}`] : [];
  }
  return lease > limit ? [`KICI_CLUSTER_SHARD_LEASE_MS (${lease}) must be at most ${margin} = ${limit}: ${why}`] : [];
}

/** The cluster settings that only make sense together. */
function clusterProblems(c: RawConfig): string[] {
  const problems = clusterTimingProblems(c);
  // A worker joins through the coordinators it dials and is never dialled itself: roleProblems judges it.
  if (c.KICI_CLUSTER_ROLE === 'worker') return problems;
  if (c.KICI_CLUSTER_JOIN_TOKEN && !c.KICI_CLUSTER_PEERS?.length) problems.push('KICI_CLUSTER_JOIN_TOKEN: set KICI_CLUSTER_PEERS too (the cluster ports of members to join through)');
  if (c.KICI_CLUSTER_PEERS?.length && !c.KICI_CLUSTER_ADDRESS) problems.push('KICI_CLUSTER_PEERS: set KICI_CLUSTER_ADDRESS too (the host:port the other nodes reach this node\'s cluster port at)');
  return problems;
}

/** Both coordinator variables, merged in order (KICI_CLUSTER_COORDINATOR_URL first), each address once. */
function coordinatorsOf(c: RawConfig): string[] {
  return [...new Set([...(c.KICI_CLUSTER_COORDINATOR_URL ?? []), ...(c.KICI_CLUSTER_COORDINATOR_URLS ?? [])])];
}

/** What a worker must and must not be given, and the worker settings a coordinator must not be given. */
function roleProblems(c: RawConfig): string[] {
  const problems: string[] = [];
  if (c.KICI_CLUSTER_ROLE === 'coordinator') {
    for (const name of ['KICI_CLUSTER_COORDINATOR_URL', 'KICI_CLUSTER_COORDINATOR_URLS'] as const) {
      if (c[name]) problems.push(`${name}: is for workers (KICI_CLUSTER_ROLE=worker), which dial the coordinators; a coordinator joins through KICI_CLUSTER_PEERS`);
    }
    return problems;
  }
  if (coordinatorsOf(c).length === 0) {
    problems.push('KICI_CLUSTER_ROLE=worker: set KICI_CLUSTER_COORDINATOR_URL or KICI_CLUSTER_COORDINATOR_URLS (the coordinators\' cluster ports, host:port, that this worker dials)');
  }
  if (c.KICI_DATABASE_URL) problems.push('KICI_DATABASE_URL: a worker keeps no database (its runs live on the coordinators); unset it');
  if (c.KICI_CLUSTER_PEERS?.length) problems.push('KICI_CLUSTER_PEERS: workers dial coordinators through KICI_CLUSTER_COORDINATOR_URLS; unset it');
  return problems;
}

/** Settings that are accepted but not read in this node's role (`given`: the variables set). */
function roleWarnings(c: RawConfig, given: Record<string, string>): string[] {
  const warnings: string[] = [];
  if (c.KICI_CLUSTER_ROLE === 'worker') {
    if (given.KICI_CLUSTER_ADDRESS) warnings.push('KICI_CLUSTER_ADDRESS is not used on a worker: a worker is never dialled, it dials the coordinators');
    if (given.KICI_CLUSTER_WORKER_OUTAGE_MAX_MS) warnings.push('KICI_CLUSTER_WORKER_OUTAGE_MAX_MS is not used on a worker: the coordinators that own the runs decide how long they wait for an unreachable worker');
  } else if (given.KICI_WORKER_OUTBOX_MAX_BYTES) {
    warnings.push('KICI_WORKER_OUTBOX_MAX_BYTES is not used on a coordinator: it bounds what a worker holds while no coordinator is reachable');
  }
  return warnings;
}

/** The S3 settings as the store takes them (only called with KICI_STORAGE_TYPE=s3 and a bucket). */
function s3ConfigOf(c: RawConfig): S3Config {
  return {
    bucket: c.KICI_STORAGE_BUCKET!,
    logBucket: c.KICI_STORAGE_LOG_BUCKET,
    region: c.KICI_STORAGE_REGION,
    endpoint: c.KICI_STORAGE_ENDPOINT,
    forcePathStyle: c.KICI_STORAGE_FORCE_PATH_STYLE,
    prefix: c.KICI_STORAGE_PREFIX,
    checksums: c.KICI_STORAGE_CHECKSUMS,
    externalEndpoint: c.KICI_STORAGE_EXTERNAL_ENDPOINT,
    uploadEndpoint: c.KICI_STORAGE_UPLOAD_ENDPOINT,
  };
}

/** S3 settings given without S3 storage: checked, but unused, and said so at start. */
function s3Warnings(c: RawConfig, given: Record<string, string>): string[] {
  if (c.KICI_STORAGE_TYPE === 's3') return [];
  const unused = Object.keys(s3Variables).filter((name) => name.startsWith('KICI_STORAGE_') && given[name] !== undefined);
  return unused.map((name) => `${name} is not used: KICI_STORAGE_TYPE is ${c.KICI_STORAGE_TYPE}, not s3`);
}

/** Faults in effect, told at start so a node's log says it was skewed on purpose. */
function faultWarnings(c: RawConfig): string[] {
  const offset = c.KICI_FAULT_CLOCK_OFFSET_MS;
  if (!offset) return [];
  return [`KICI_FAULT_CLOCK_OFFSET_MS=${offset}: this node's clock reads ${Math.abs(offset)} ms ${offset > 0 ? 'ahead of' : 'behind'} the machine's, on purpose (fault injection)`];
}

/** Values kici recognises but cannot honour yet; each refusal names the variable and the reason. */
function refusedValues(c: RawConfig): string[] {
  const problems: string[] = [];
  const mode = c.KICI_INSTANCE_MODE ?? c.KICI_MODE;
  if (mode !== 'independent') {
    const name = c.KICI_INSTANCE_MODE ? 'KICI_INSTANCE_MODE' : 'KICI_MODE';
    problems.push(`${name}=${mode}: the ${mode} mode needs the KiCI Platform relay, which kici does not implement yet; use KICI_MODE=independent`);
  }
  if (c.KICI_STORAGE_TYPE === 's3' && !c.KICI_STORAGE_BUCKET) {
    problems.push('KICI_STORAGE_TYPE=s3: set KICI_STORAGE_BUCKET (the bucket blobs, and step logs unless KICI_STORAGE_LOG_BUCKET is set, are kept in)');
  }
  if (c.KICI_AGENT_AUTH !== 'token') problems.push('KICI_AGENT_AUTH: agents authenticate with tokens only; the only accepted value is token');
  if (c.KICI_FAULT_INJECTION && !c.KICI_DEV) {
    problems.push('KICI_FAULT_INJECTION=true is refused unless KICI_DEV=true: fault injection drops, delays and cuts cluster traffic on purpose and is for tests and chaos runs only');
  }
  // Set at all (even 0) without fault injection is refused: a production environment file must not carry it.
  if (c.KICI_FAULT_CLOCK_OFFSET_MS !== undefined && !c.KICI_FAULT_INJECTION) {
    problems.push('KICI_FAULT_CLOCK_OFFSET_MS is refused unless KICI_FAULT_INJECTION=true (with KICI_DEV=true): it sets this node\'s clock wrong on purpose, which skews every time it writes and judges, and is for chaos runs only');
  }
  if (c.KICI_SECRET_KEY && c.KICI_SECRET_KEY_FILE) problems.push('KICI_SECRET_KEY_FILE: set either KICI_SECRET_KEY or KICI_SECRET_KEY_FILE, not both');
  if (c.KICI_SECRET_KEY_OLD && c.KICI_SECRET_KEY_FILE_OLD) problems.push('KICI_SECRET_KEY_FILE_OLD: set either KICI_SECRET_KEY_OLD or KICI_SECRET_KEY_FILE_OLD, not both');
  return problems;
}

/** The key file's content; a read error names the variable and the path, never any content. */
function readKeyFile(file: string | undefined, problems: string[], variable = 'KICI_SECRET_KEY_FILE'): string | undefined {
  if (!file) return undefined;
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (e) {
    problems.push(`${variable}: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    return undefined;
  }
}

function unknownVariables(env: NodeJS.ProcessEnv): string[] {
  const problems: string[] = [];
  for (const name of Object.keys(env)) {
    if (!name.startsWith('KICI_') || ownerOf(name)) continue;
    const hint = closestVariable(name);
    problems.push(`${name}: not a kici variable${hint ? ` (did you mean ${hint}?)` : ''}`);
  }
  return problems;
}

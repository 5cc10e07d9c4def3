import { delimiter, dirname, resolve } from 'node:path';
import { Command, CommanderError } from 'commander';
import { pino } from 'pino';
import { z } from 'zod';
import { isValidAgentId } from './agent-id.js';
import { startAgent, type AgentOptions, type RunningAgent } from './agent.js';
import { parseLabelList } from './labels.js';
import { chooseSandbox, neededUnder, SANDBOX_MODES, type SandboxMode } from './sandbox/index.js';
import { readAgentToken } from './token-source.js';
import { AGENT_VERSION } from './version.js';

export const EXIT_USAGE = 2;
export const EXIT_AUTH_FAILED = 1;

const positiveInt = (max: number) => z.coerce.number().int().min(1).max(max);

const wsUrl = z.string().regex(/^wss?:\/\/[^\s,]+$/, 'must be a ws:// or wss:// URL, e.g. ws://host:4000/ws');

const cliSchema = z.object({
  // Several nodes of one cluster: the agent fails over between them in turn.
  url: z
    .array(wsUrl, { error: 'is required (--url or KICI_AGENT_URL)' })
    .min(1, 'is required (--url or KICI_AGENT_URL)')
    .max(64, 'takes at most 64 orchestrator URLs'),
  token: z
    .string({ error: 'is required (--token, --token-file, KICI_AGENT_TOKEN or KICI_AGENT_TOKEN_FILE)' })
    .min(1, 'must not be empty'),
  labels: z.string().optional(),
  maxConcurrency: positiveInt(1000).default(1),
  agentId: z.string().refine(isValidAgentId, 'may hold letters, digits and . _ : - (at most 128)').optional(),
  workDir: z.string().min(1).default('.kici-agent'),
  jobHeartbeatIntervalMs: positiveInt(24 * 3600 * 1000).optional(),
  maxReconnectDelayMs: positiveInt(3600 * 1000).optional(),
  pingTimeoutMs: z.coerce.number().int().min(100).max(3600 * 1000).optional(),
  outboxMaxBytes: z.coerce.number().int().min(1024).max(Number.MAX_SAFE_INTEGER).optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  sandbox: z.enum(SANDBOX_MODES, { error: `must be one of ${SANDBOX_MODES.join(', ')}` }).default('auto'),
  hide: z.array(z.string().min(1, 'must not be empty')),
});

export type AgentArgs = Omit<AgentOptions, 'logger' | 'sandbox'> & {
  logLevel: string;
  sandbox: SandboxMode;
  /** Absolute paths steps must not see: the work dir, the token file's directory, every --hide. */
  hidden: string[];
};
export type ParsedArgs = { ok: true; args: AgentArgs } | { ok: false; exitCode: number; message: string };

function program(): Command {
  return new Command('kici-agent')
    .description('Connects to a kici orchestrator and runs the jobs it dispatches.')
    .version(AGENT_VERSION)
    .option(
      '--url <url>',
      'orchestrator WebSocket URL, e.g. ws://host:4000/ws; repeat it or give a comma list for several nodes, tried in turn (env: KICI_AGENT_URL)',
      collect,
    )
    .option('--token <token>', 'agent token from `kici-admin agent token create` (env: KICI_AGENT_TOKEN)')
    .option('--token-file <path>', 'read the token from this file instead; its directory is hidden from steps (env: KICI_AGENT_TOKEN_FILE)')
    .option('--labels <list>', 'comma-separated labels; os: and arch: are added (env: KICI_AGENT_LABELS)')
    .option('--max-concurrency <n>', 'jobs run at the same time, default 1 (env: KICI_AGENT_MAX_CONCURRENCY)')
    .option('--agent-id <id>', 'fixed agent id; default: kept in the work dir (env: KICI_AGENT_ID)')
    .option('--work-dir <dir>', 'agent id file and job checkouts, default ./.kici-agent (env: KICI_AGENT_WORK_DIR)')
    .option('--sandbox <mode>', 'auto (bubblewrap when it works), bwrap (or refuse to start) or none (env: KICI_AGENT_SANDBOX)')
    .option('--hide <path>', `a file or directory steps must not see; repeatable (env: KICI_AGENT_HIDE, ${delimiter}-separated)`, collect)
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: (s) => process.stdout.write(s) });
}

/** Arguments and environment → agent options, or the exit code and message of bad usage. */
export function parseAgentArgs(argv: string[], env: NodeJS.ProcessEnv): ParsedArgs {
  const cmd = program();
  try {
    cmd.parse(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError && err.exitCode === 0) return { ok: false, exitCode: 0, message: '' };
    return { ok: false, exitCode: EXIT_USAGE, message: `${(err as Error).message}\n\n${cmd.helpInformation()}` };
  }
  const { hide: hideFlags = [], url: urlFlags = [], ...o } = cmd.opts<Record<string, string | undefined> & { hide?: string[]; url?: string[] }>();
  const token = readAgentToken({
    flag: o.token,
    flagFile: o.tokenFile,
    env: env.KICI_AGENT_TOKEN || undefined,
    envFile: env.KICI_AGENT_TOKEN_FILE || undefined,
  });
  if (!token.ok) return { ok: false, exitCode: EXIT_USAGE, message: `${token.message}\n\n${cmd.helpInformation()}` };
  // The environment fills what the command line left out (commander's own env lookup reads only process.env).
  const parsed = cliSchema.safeParse({
    url: urlList(urlFlags.length > 0 ? urlFlags : env.KICI_AGENT_URL ? [env.KICI_AGENT_URL] : undefined),
    token: token.token,
    labels: o.labels ?? env.KICI_AGENT_LABELS,
    maxConcurrency: o.maxConcurrency ?? env.KICI_AGENT_MAX_CONCURRENCY,
    agentId: o.agentId ?? env.KICI_AGENT_ID,
    workDir: o.workDir ?? env.KICI_AGENT_WORK_DIR,
    jobHeartbeatIntervalMs: env.KICI_JOB_HEARTBEAT_INTERVAL_MS,
    maxReconnectDelayMs: env.KICI_AGENT_MAX_RECONNECT_DELAY_MS,
    pingTimeoutMs: env.KICI_AGENT_PING_TIMEOUT_MS || undefined,
    outboxMaxBytes: env.KICI_AGENT_OUTBOX_MAX_BYTES || undefined,
    logLevel: env.KICI_LOG_LEVEL,
    sandbox: o.sandbox ?? (env.KICI_AGENT_SANDBOX || undefined),
    hide: hideFlags.length > 0 ? hideFlags : (env.KICI_AGENT_HIDE ?? '').split(delimiter).filter(Boolean),
  });
  if (!parsed.success) {
    // Names the option and the rule, never the value given (it may be the token).
    const why = parsed.error.issues.map((i) => `${optionName(String(i.path[0]))}${entryOf(i.path)} ${i.message}`).join('\n');
    return { ok: false, exitCode: EXIT_USAGE, message: `${why}\n\n${cmd.helpInformation()}` };
  }
  const { labels, workDir, hide, ...rest } = parsed.data;
  const hidden = hiddenPaths(resolve(workDir), token.file, hide, env.PATH);
  if (!hidden.ok) return { ok: false, exitCode: EXIT_USAGE, message: `${hidden.message}\n\n${cmd.helpInformation()}` };
  return { ok: true, args: { ...rest, labels: parseLabelList(labels), workDir: resolve(workDir), hidden: hidden.paths } };
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Every --url (or KICI_AGENT_URL) value split at commas, blanks and repeats left out, order kept. */
function urlList(values: string[] | undefined): string[] | undefined {
  if (values === undefined) return undefined;
  return [...new Set(values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean))];
}

/** " (entry N)" for an issue about one URL of several, so the operator knows which one. */
function entryOf(path: PropertyKey[]): string {
  return path[0] === 'url' && typeof path[1] === 'number' ? ` (entry ${path[1] + 1})` : '';
}

/**
 * The work dir (other jobs' checkouts, scripts and output files), the token file's directory (not
 * just the file: an editor's backup or the next token written beside it would show) and every
 * --hide; none may take away what steps need to run.
 */
function hiddenPaths(
  workDir: string,
  tokenFile: string | undefined,
  hide: string[],
  path: string | undefined,
): { ok: true; paths: string[] } | { ok: false; message: string } {
  const named: [string, string][] = [[workDir, '--work-dir']];
  if (tokenFile !== undefined) named.push([dirname(resolve(tokenFile)), "--token-file's directory"]);
  for (const h of hide) named.push([resolve(h), '--hide']);
  for (const [dir, what] of named) {
    const needed = neededUnder(dir, path);
    if (needed !== undefined) {
      const advice = what === '--hide' ? '' : '; give it a directory of its own';
      return { ok: false, message: `${what} ${dir} is hidden from steps, but steps need ${needed}${advice}` };
    }
  }
  return { ok: true, paths: [...new Set(named.map(([dir]) => dir))] };
}

function optionName(key: string): string {
  const names: Record<string, string> = {
    url: '--url',
    token: '--token',
    maxConcurrency: '--max-concurrency',
    agentId: '--agent-id',
    workDir: '--work-dir',
    sandbox: '--sandbox',
    hide: '--hide',
    jobHeartbeatIntervalMs: 'KICI_JOB_HEARTBEAT_INTERVAL_MS',
    maxReconnectDelayMs: 'KICI_AGENT_MAX_RECONNECT_DELAY_MS',
    pingTimeoutMs: 'KICI_AGENT_PING_TIMEOUT_MS',
    outboxMaxBytes: 'KICI_AGENT_OUTBOX_MAX_BYTES',
    logLevel: 'KICI_LOG_LEVEL',
  };
  return names[key] ?? key;
}

/**
 * The whole `kici-agent` program; resolves with its exit code. The first SIGINT/SIGTERM stops
 * taking jobs, cancels running ones gracefully and closes with 1000; a second one kills at once.
 */
export async function runAgentCli(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const parsed = parseAgentArgs(argv, env);
  if (!parsed.ok) {
    if (parsed.message) process.stderr.write(`kici-agent: ${parsed.message}\n`);
    return parsed.exitCode;
  }
  const { logLevel, sandbox: mode, hidden, ...options } = parsed.args;
  const logger = pino({ name: 'kici-agent', level: logLevel, redact: ['token', '*.token', 'secrets', '*.secrets', 'gitAuth', '*.gitAuth'] }, pino.destination({ fd: 2, sync: true }));
  const sandbox = chooseSandbox({ mode, hidden, hostEnv: env });
  if (!sandbox.ok) {
    process.stderr.write(`kici-agent: ${sandbox.message}\n`);
    return EXIT_USAGE;
  }
  logger[sandbox.level]({ sandbox: sandbox.sandbox ? 'bwrap' : 'none', mode, hidden: sandbox.sandbox ? hidden : undefined }, sandbox.message);
  let agent: RunningAgent;
  try {
    agent = startAgent({ ...options, sandbox: sandbox.sandbox, hostEnv: env, logger });
  } catch (err) {
    process.stderr.write(`kici-agent: ${(err as Error).message}\n`);
    return EXIT_USAGE;
  }
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals += 1;
    logger.info({ signal }, signals === 1 ? 'stopping: no new jobs, cancelling running ones' : 'stopping now');
    void agent.shutdown({ force: signals > 1, settleMs: signals > 1 ? 2000 : 35_000 });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const end = await agent.ended;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  if (end.kind === 'auth_failed') {
    agent.runner.cancelAll('agent_auth_failed', true);
    process.stderr.write(
      `kici-agent: the orchestrator refused this agent's token (${end.reason}); not reconnecting. ` +
        'Create a token with `kici-admin agent token create` and start the agent with it.\n',
    );
    return EXIT_AUTH_FAILED;
  }
  return 0;
}

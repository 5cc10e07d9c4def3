import { execFile } from 'node:child_process';

export interface RunGitOptions {
  cwd?: string;
  /** Added to a cleaned copy of this process's environment. */
  env?: Record<string, string>;
  timeoutMs?: number;
  /** Values (tokens, header values) to blank out of error messages. */
  redact?: readonly string[];
}

export type RunGit = (args: readonly string[], options?: RunGitOptions) => Promise<string>;

const DEFAULT_TIMEOUT_MS = 120_000;
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

/**
 * Variables that would point git at another repository than `cwd` (set when kici itself runs
 * inside a git hook) or that could make it prompt for a password and hang.
 */
const INHERITED_GIT_VARIABLES = [
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_INDEX_FILE',
  'GIT_OBJECT_DIRECTORY',
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_QUARANTINE_PATH',
  'GIT_NAMESPACE',
  'GIT_CONFIG_COUNT',
];

export class GitError extends Error {
  constructor(
    message: string,
    readonly args: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'GitError';
  }
}

/** Blanks known secrets, any Authorization header value and user:password in URLs. */
export function redactCredentials(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join('***');
  }
  out = out.replace(/(authorization:\s*)[^\r\n'"]+/gi, '$1***');
  return out.replace(/(\w+:\/\/)[^/@\s]+@/g, '$1***@');
}

function gitEnvironment(extra: Record<string, string> | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of INHERITED_GIT_VARIABLES) delete env[name];
  return { ...env, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: '', LC_ALL: 'C', ...extra };
}

/** Runs git without a shell and returns its stdout; failures carry redacted stderr. */
export const runGit: RunGit = (args, options = {}) =>
  new Promise((resolve, reject) => {
    const child = execFile(
      'git',
      [...args],
      {
        cwd: options.cwd,
        env: gitEnvironment(options.env),
        timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        maxBuffer: MAX_OUTPUT_BYTES,
        encoding: 'utf8',
      },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        const secrets = options.redact ?? [];
        const cleanStderr = redactCredentials(String(stderr ?? ''), secrets).trim();
        const cleanArgs = args.map((arg) => redactCredentials(arg, secrets));
        const code = typeof error.code === 'number' ? error.code : null;
        const why = error.killed ? 'timed out' : `exit ${code ?? error.code ?? 'unknown'}`;
        const detail = cleanStderr ? `: ${cleanStderr.split('\n').slice(0, 5).join(' | ')}` : '';
        reject(new GitError(`git ${cleanArgs[0] ?? ''} failed (${why})${detail}`, cleanArgs, code, cleanStderr));
      },
    );
    child.stdin?.end();
  });

/** The all-zero object id git uses for a ref that did not exist or was deleted. */
/** The all-zero object id git uses for a ref that did not exist before, or no longer exists. */
export const ZERO_SHA = /^0+$/;
export const isZeroSha = (sha: string): boolean => ZERO_SHA.test(sha);

/** Refuses revisions git could read as options or that carry path syntax. */
export function assertRevision(revision: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(revision) || revision.includes('..')) {
    throw new Error(`not a valid git revision: ${JSON.stringify(revision.slice(0, 80))}`);
  }
}

/** Resolves a revision to its full commit id, or null when the repository has no such commit. */
export async function resolveCommit(run: RunGit, repoDir: string, revision: string): Promise<string | null> {
  assertRevision(revision);
  try {
    return (await run(['rev-parse', '--verify', '--quiet', `${revision}^{commit}`], { cwd: repoDir })).trim() || null;
  } catch (error) {
    if (error instanceof GitError && error.exitCode === 1) return null;
    throw error;
  }
}

import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { RunGit, RunGitOptions } from './run-git.js';
import { resolveCommit, runGit as defaultRunGit } from './run-git.js';

/** What the provider needs of a git source. */
export interface GitSource {
  id: string;
  url: string;
  /** Access token for http(s) remotes; sent as a header, never placed in the URL. */
  token?: string | null;
  /** Basic-auth user name paired with the token; GitHub-style servers accept any. */
  username?: string;
}

export interface GitMirrorsOptions {
  dataDir: string;
  runGit?: RunGit;
  timeoutMs?: number;
}

/** A branch and the commit it points at, as a mirror has them. */
export interface BranchTip {
  /** The full ref name, `refs/heads/<branch>`. */
  ref: string;
  sha: string;
}

export interface SyncOptions {
  /** Skip the fetch when the mirror already holds this commit. */
  wantSha?: string;
}

interface Slot {
  running: Promise<string> | null;
  pending: Promise<string> | null;
}

const SOURCE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export function assertRemoteUrl(url: string): void {
  if (!/^(https?|file):\/\/\S+$/i.test(url)) {
    throw new Error('git source URL must be http(s):// or file://');
  }
  // A password in the URL would be written into the mirror's config; tokens go in the header.
  const parsed = new URL(url);
  if (parsed.username || parsed.password) throw new Error('git source URL must not carry credentials; use a token');
}

/**
 * Credentials reach git through GIT_CONFIG_* variables rather than `-c` on the command line: the
 * effect is the same as `-c http.extraHeader=…`, but the token never appears in the process list,
 * in the mirror's config or in an error message.
 */
function credentialOptions(source: GitSource): Pick<RunGitOptions, 'env' | 'redact'> {
  const env: Record<string, string> = { GIT_ALLOW_PROTOCOL: 'file:http:https' };
  if (!source.token) return { env, redact: [] };
  const basic = Buffer.from(`${source.username ?? 'x-access-token'}:${source.token}`).toString('base64');
  const header = `Authorization: Basic ${basic}`;
  Object.assign(env, { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'http.extraHeader', GIT_CONFIG_VALUE_0: header });
  return { env, redact: [source.token, basic, header] };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

const KNOWN_COMMITS_PER_MIRROR = 10_000;

/**
 * Bare mirrors of git sources under `<dataDir>/mirrors/<sourceId>.git`. Syncs of one mirror are
 * serialised: while one runs, later callers share a single follow-up sync, so a push that landed
 * after the running fetch started is still seen, and git never races itself on one directory.
 */
export class GitMirrors {
  private readonly slots = new Map<string, Slot>();
  /**
   * Commits seen in each mirror. A commit, once fetched, stays (its objects outlive ref pruning),
   * so repeated deliveries for one sha skip spawning git at all: the hot path of a busy repository.
   */
  private readonly known = new Map<string, Set<string>>();
  private readonly run: RunGit;
  private readonly timeoutMs: number;
  private temporaryCount = 0;

  constructor(private readonly options: GitMirrorsOptions) {
    this.run = options.runGit ?? defaultRunGit;
    this.timeoutMs = options.timeoutMs ?? 300_000;
  }

  mirrorDir(sourceId: string): string {
    if (!SOURCE_ID.test(sourceId)) throw new Error('invalid source id for a mirror directory');
    return join(this.options.dataDir, 'mirrors', `${sourceId}.git`);
  }

  /** Clones or fetches the mirror and returns its directory. */
  async syncMirror(source: GitSource, options: SyncOptions = {}): Promise<string> {
    const dir = this.mirrorDir(source.id);
    assertRemoteUrl(source.url);
    if (options.wantSha && (await this.hasCommit(dir, options.wantSha))) return dir;
    return this.schedule(source);
  }

  /**
   * Fetches the mirror and lists its branches with their tip commits (`refs/heads/…`), sorted by
   * ref. Reconcile compares these with the tips deliveries recorded.
   */
  async branchTips(source: GitSource): Promise<BranchTip[]> {
    const dir = await this.syncMirror(source);
    const out = await this.run(['for-each-ref', '--format=%(objectname) %(refname)', 'refs/heads/'], { cwd: dir, timeoutMs: this.timeoutMs });
    const tips: BranchTip[] = [];
    for (const line of out.split('\n')) {
      const [sha, ref] = line.trim().split(' ');
      if (sha && ref) tips.push({ ref, sha });
    }
    return tips.sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0));
  }

  private async hasCommit(dir: string, sha: string): Promise<boolean> {
    if (this.known.get(dir)?.has(sha)) return true;
    if (!(await exists(join(dir, 'HEAD')))) return false;
    const found = (await resolveCommit(this.run, dir, sha)) !== null;
    if (found && /^[0-9a-f]{40,64}$/.test(sha)) this.remember(dir, sha);
    return found;
  }

  private remember(dir: string, sha: string): void {
    let set = this.known.get(dir);
    if (!set) this.known.set(dir, (set = new Set()));
    if (set.size >= KNOWN_COMMITS_PER_MIRROR) set.clear();
    set.add(sha);
  }

  private schedule(source: GitSource): Promise<string> {
    const slot = this.slots.get(source.id) ?? { running: null, pending: null };
    this.slots.set(source.id, slot);
    if (slot.pending) return slot.pending;
    if (!slot.running) return this.start(slot, source);
    const pending = slot.running
      .catch(() => undefined)
      .then(() => {
        slot.pending = null;
        return this.start(slot, source);
      });
    slot.pending = pending;
    return pending;
  }

  private start(slot: Slot, source: GitSource): Promise<string> {
    const running: Promise<string> = this.cloneOrFetch(source).finally(() => {
      if (slot.running === running) slot.running = null;
    });
    slot.running = running;
    return running;
  }

  private async cloneOrFetch(source: GitSource): Promise<string> {
    const dir = this.mirrorDir(source.id);
    const credentials = credentialOptions(source);
    const options = { ...credentials, timeoutMs: this.timeoutMs };
    if (await exists(join(dir, 'HEAD'))) {
      // The URL may have been edited since the clone.
      await this.run(['remote', 'set-url', 'origin', source.url], { ...options, cwd: dir });
      await this.run(['fetch', '--prune', '--quiet', 'origin', '+refs/*:refs/*'], { ...options, cwd: dir });
      return dir;
    }
    return this.clone(source, dir, options);
  }

  /** Clones beside the final path and renames, so a failed clone never leaves a broken mirror. */
  private async clone(source: GitSource, dir: string, options: RunGitOptions): Promise<string> {
    await mkdir(dirname(dir), { recursive: true });
    const temporary = `${dir}.partial-${process.pid}-${++this.temporaryCount}`;
    try {
      await this.run(['clone', '--mirror', '--quiet', '--', source.url, temporary], options);
      await rename(temporary, dir);
    } finally {
      await rm(temporary, { recursive: true, force: true });
    }
    return dir;
  }
}

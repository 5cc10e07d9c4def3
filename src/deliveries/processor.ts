import type { Logger } from 'pino';
import { deliveryShard, FencedWriteError, storeDeliveryCopy, type BlobStore, type DeliveryOutcome, type ReceivedFilter, type Source, type Store } from '../store/index.js';
import { contentTypeOf, normaliseDelivery, parseBody, ROUTE_BODY_ENCODINGS, type DeliveryRecord as IntakeRecord, type ParsedBody } from '../webhooks/index.js';
import {
  changedFiles,
  checkLockfile,
  LOCKFILE_PATH,
  matchWorkflow,
  matchWorkflows,
  needsChangedFiles,
  type CiEvent,
  type GitMirrors,
  type Lockfile,
  type LockfileAt,
  type LockfileReader,
  type Workflow,
} from '../workflows/index.js';
import type { DeliveryMetrics, WebhookResult } from './metrics.js';
import type { SourceCatalog } from './source-catalog.js';
import { claimPush, duplicateOutcome, pushClaim, type Push } from './push-claims.js';
import { planFailedRun, planWorkflowRun, type PlannedRun, type RunCreationDeps, type RunOrigin } from './run-creation.js';
import { WorkflowRegistrations } from './workflow-registrations.js';
import { decided, type Decision } from './decision.js';
import { GithubDeliveries } from './github-delivery.js';
import { DeliveryRetryLater, type GithubRepos } from './github-repos.js';

export interface ProcessorDeps extends RunCreationDeps {
  store: Pick<Store, 'runs' | 'deliveries' | 'registrations' | 'sources' | 'refTips'>;
  mirrors: GitMirrors;
  lockfiles: LockfileReader;
  blobs: BlobStore;
  /** Sources and their clone tokens (the node's cached catalog). */
  sources: Pick<SourceCatalog, 'source' | 'secret'>;
  metrics: DeliveryMetrics;
  log: Logger;
  /**
   * Lock files of GitHub sources, through the GitHub API. Absent until that client is wired: GitHub
   * deliveries then stay `received` with `GITHUB_API_NOT_WIRED` in the event log.
   */
  github?: GithubRepos;
  /**
   * Deliveries processed at once; each is I/O bound (git, database) and holds at most one database
   * connection at a time. The default fits the store's default pool (10) with room for the rest.
   */
  concurrency?: number;
}

type DeliveryKey = { orgId: string; deliveryId: string };

/** A delivery the intake has just committed, as the intake holds it (`webhooks` DeliveryRecord). */
export type AcceptedDelivery = Pick<IntakeRecord, 'orgId' | 'deliveryId' | 'sourceId' | 'eventType' | 'headers' | 'rawBody' | 'payload'>;

/** What processing needs of a delivery: its row read back, or what the intake that wrote the row held. */
interface DeliveryInHand {
  orgId: string;
  deliveryId: string;
  sourceId: string;
  eventType: string;
  headers: Record<string, string>;
  body: Buffer;
  /** The body as the intake parsed it; absent on a row read back, which is parsed here. */
  parsed?: ParsedBody;
  /** Earlier tries that ended "not yet" (absent: none, a delivery just accepted). */
  attempts?: number;
}

type Queued = DeliveryKey & { inHand?: DeliveryInHand };

const DEFAULT_CONCURRENCY = 8;

/**
 * Bytes of accepted bodies held in memory while they wait for their turn. Past it (a backlog of
 * large payloads), an accepted delivery is queued by key alone and its row is read back when its
 * turn comes, as a resumed one is.
 */
const IN_HAND_BYTES = 64 * 1024 * 1024;


/** Which deliveries left `received` to resume: those of the shards this node owns, or has just gained. */
export type ResumeFilter = Omit<ReceivedFilter, 'limit'>;

/**
 * A delivery kept for a later try waits 30 s, then twice as long after each try that fails again,
 * up to 15 min: GitHub's own redelivery gaps are similar, and a long outage costs a few calls an hour.
 */
export function retryDelayMs(attempts: number): number {
  return Math.min(15 * 60_000, 30_000 * 2 ** Math.min(attempts, 10));
}

/** Deliveries resumed per call at most; a sweep comes back for the rest. */
const RESUME_BATCH = 10_000;

/** KiCI's decision label: a delivery that could not be judged (bad lock file, failure) is an error, never a match. */
function processedResult(outcome: DeliveryOutcome): WebhookResult {
  if (outcome.status === 'failed' || outcome.status === 'lockfile_corrupt') return 'error';
  return (outcome.matchedCount ?? 0) > 0 ? 'matched' : 'skipped';
}

/**
 * Steps 3–4 of the webhook path: normalise, read the lock file at the commit, match, create runs,
 * and record the outcome on the delivery row. Runs outside the HTTP request so a 202 never waits
 * for git. The node that accepted a delivery processes it at once, from what its intake holds (no
 * read-back, no second parse of the body), whoever owns its shard; one it does not finish (a crash,
 * or a run creation fenced off because a shard moved past the epoch this node knew) stays
 * `received` and is picked up by `resume()` on the owner of the delivery's shard.
 * Processing a delivery twice is harmless: a run is created once per delivery and workflow, a push
 * is claimed once, and the outcome is recorded only from `received`.
 */
export class DeliveryProcessor {
  private readonly queue: Queued[] = [];
  private readonly queued = new Set<string>();
  private active = 0;
  private inHandBytes = 0;
  private readonly registrations: WorkflowRegistrations;
  private readonly github: GithubDeliveries;
  private idleWaiters: (() => void)[] = [];
  /** Callers of deliver() waiting for one delivery's outcome, by `<org>/<delivery id>`. */
  private readonly doneWaiters = new Map<string, (() => void)[]>();

  constructor(private readonly deps: ProcessorDeps) {
    this.registrations = new WorkflowRegistrations(deps.store.registrations);
    this.github = new GithubDeliveries({
      github: deps.github,
      lockfiles: deps.lockfiles,
      metrics: deps.metrics,
      register: (source, sha, lockfile) => this.registrations.register(source.id, sha, lockfile, new Date(this.deps.clock.now())),
      matched: (lockfile, event, origin) => this.matched(lockfile, event, origin),
      corrupt: (origin, error) => this.corruptLockfile(origin, error),
    });
  }

  enqueue(key: DeliveryKey, body?: Buffer): void {
    if (body) void this.keepCopy(key, body);
    this.queueOnce({ orgId: key.orgId, deliveryId: key.deliveryId });
  }

  /**
   * A delivery the intake has just committed (so `received`, by construction): its copy kept, and
   * processed from what the intake holds, without reading the row back or parsing the body again.
   */
  accepted(d: AcceptedDelivery): void {
    void this.keepCopy(d, d.rawBody);
    const key = { orgId: d.orgId, deliveryId: d.deliveryId };
    if (this.inHandBytes + d.rawBody.length > IN_HAND_BYTES) {
      this.queueOnce(key);
      return;
    }
    const inHand: DeliveryInHand = {
      orgId: d.orgId,
      deliveryId: d.deliveryId,
      sourceId: d.sourceId,
      eventType: d.eventType,
      headers: d.headers,
      body: d.rawBody,
      parsed: { ok: true, payload: d.payload },
    };
    this.queueOnce({ ...key, inHand });
  }

  /** Queues a delivery unless it is already queued or in progress (then the one queued serves). */
  private queueOnce(item: Queued): void {
    const id = `${item.orgId}/${item.deliveryId}`;
    if (this.queued.has(id)) return;
    this.queued.add(id);
    if (item.inHand) this.inHandBytes += item.inHand.body.length;
    this.queue.push(item);
    this.pump();
  }

  /** Enqueue, and resolve once this delivery's outcome is recorded (a reconcile answers with it). */
  deliver(key: DeliveryKey, body?: Buffer): Promise<void> {
    const id = `${key.orgId}/${key.deliveryId}`;
    const done = new Promise<void>((resolve) => this.doneWaiters.set(id, [...(this.doneWaiters.get(id) ?? []), resolve]));
    this.enqueue(key, body);
    return done;
  }

  /** Queue the deliveries still `received` that `filter` picks (every one when absent); returns how many. */
  async resume(filter: ResumeFilter = {}): Promise<number> {
    const dueBy = new Date(this.deps.clock.now());
    const left = await this.deps.store.deliveries.listReceived({ dueBy, ...filter, limit: RESUME_BATCH });
    for (const d of left) this.queueOnce({ orgId: d.orgId, deliveryId: d.deliveryId });
    return left.length;
  }

  /** Resolves when nothing is queued or in progress (for shutdown and tests). */
  idle(): Promise<void> {
    if (this.active === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    const limit = this.deps.concurrency ?? DEFAULT_CONCURRENCY;
    while (this.active < limit && this.queue.length > 0) {
      const item = this.queue.shift()!;
      this.active++;
      void this.process(item).finally(() => {
        this.active--;
        if (item.inHand) this.inHandBytes -= item.inHand.body.length;
        const id = `${item.orgId}/${item.deliveryId}`;
        this.queued.delete(id);
        for (const w of this.doneWaiters.get(id) ?? []) w();
        this.doneWaiters.delete(id);
        if (this.active === 0 && this.queue.length === 0) for (const w of this.idleWaiters.splice(0)) w();
        this.pump();
      });
    }
  }

  private async keepCopy(key: DeliveryKey, body: Buffer): Promise<void> {
    try {
      await storeDeliveryCopy(this.deps.blobs, key.orgId, key.deliveryId, body);
    } catch (e) {
      this.deps.log.warn({ deliveryId: key.deliveryId, err: (e as Error).message }, 'delivery copy not stored (the row is kept)');
    }
  }

  private async process(item: Queued): Promise<void> {
    const delivery = item.inHand ?? (await this.readBack(item));
    if (!delivery) return;
    let decision: Decision;
    try {
      decision = await this.decide(delivery);
    } catch (e) {
      if (e instanceof DeliveryRetryLater) return this.retryLater(delivery, e.reason);
      if (this.leftForOwner(delivery, e)) return;
      decision = this.failed(delivery, e);
    }
    const now = new Date(this.deps.clock.now());
    let runs: string[] = [];
    let writeFailed = false;
    try {
      ({ decision, runs } = await this.record(delivery, decision, now));
    } catch (e) {
      if (this.leftForOwner(delivery, e)) return;
      decision = this.failed(delivery, e);
      writeFailed = true;
    }
    this.deps.metrics.webhooksProcessed.inc({ result: processedResult(decision.outcome) });
    // The runs could not be written (not fenced: the database refused them): the delivery failed.
    if (writeFailed) {
      // Not recorded either (the database is away): left received, for a resume to try again.
      await this.deps.store.deliveries
        .complete(delivery.orgId, delivery.deliveryId, decision.outcome, now, 'received')
        .catch((e: Error) => this.deps.log.error({ deliveryId: delivery.deliveryId, err: e.message }, 'delivery outcome not recorded; it stays received'));
    }
    // Once committed: a run already there (a delivery resumed after a crash) is started again, as
    // its actor is idempotent; a run created failed has no actor to start.
    for (const [i, runId] of runs.entries()) {
      const start = decision.runs[i]!.start;
      if (start) this.deps.start(runId, start);
    }
  }

  /**
   * The outcome and every run in one transaction, only from `received` (another node that resumed
   * the same delivery may have recorded it first: then nothing is written here), and for a push
   * only if the push is this delivery's, claimed in that same statement. Otherwise the delivery is
   * a duplicate of the one that has the push's runs, and says so. Returns the runs written.
   */
  private async record(delivery: DeliveryInHand, decision: Decision, now: Date, askedAgain = false): Promise<{ decision: Decision; runs: string[] }> {
    const { orgId, deliveryId } = delivery;
    const runs = decision.runs.map(({ run, epoch }) => ({ run, epoch }));
    const push = decision.push;
    const written = await this.deps.store.runs.createForDelivery({ orgId, deliveryId, runs, outcome: decision.outcome, ...(push && { push: pushClaim(push) }) }, now);
    if (!push || written.pushOwner === undefined) return { decision, runs: written.recorded ? written.runs.map((r) => r.runId) : [] };
    // A claim committed after the statement began is not visible to it: a statement of its own sees it.
    const owner = written.pushOwner ?? (await claimPush(this.deps, push));
    if (owner === deliveryId) {
      // Never a duplicate of itself: a claim that came and went twice fails the delivery instead.
      if (askedAgain) throw new Error(`the claim of ${push.ref} at ${push.sha} changed while the runs were written; deliver it again`);
      return this.record(delivery, decision, now, true);
    }
    const duplicate = decided(duplicateOutcome(push, owner));
    await this.deps.store.deliveries.complete(orgId, deliveryId, duplicate.outcome, now, 'received');
    return { decision: duplicate, runs: [] };
  }

  /**
   * A run the delivery starts is fenced off here: not a failure of the delivery, this node's map is
   * behind the shard the run goes to (it is cut off, or a move has not reached it). The owner of the
   * delivery's shard resumes it.
   */
  private leftForOwner(delivery: DeliveryInHand, e: unknown): boolean {
    if (!(e instanceof FencedWriteError)) return false;
    this.deps.log.warn({ deliveryId: delivery.deliveryId, shard: deliveryShard(delivery.deliveryId), err: e.message }, 'delivery left received for the owner of its shard: a run it starts is fenced off here');
    return true;
  }

  /** Not decided now, and not failed: left `received` for the sweep, with the reason in the event log. */
  private async retryLater(delivery: DeliveryInHand, reason: string): Promise<void> {
    const attempts = (delivery.attempts ?? 0) + 1;
    const retryAfter = new Date(this.deps.clock.now() + retryDelayMs(attempts - 1));
    this.deps.log.warn({ deliveryId: delivery.deliveryId, reason, attempts, retryAfter }, 'delivery kept for a later try');
    await this.deps.store.deliveries
      .keepForRetry(delivery.orgId, delivery.deliveryId, reason, retryAfter)
      .catch((e: Error) => this.deps.log.error({ deliveryId: delivery.deliveryId, err: e.message }, 'retry reason not recorded; the delivery stays received'));
  }

  private failed(delivery: DeliveryInHand, e: unknown): Decision {
    this.deps.log.error({ deliveryId: delivery.deliveryId, err: (e as Error).message }, 'delivery processing failed');
    return decided({ status: 'failed', error: (e as Error).message.slice(0, 2000), matchedCount: 0 });
  }

  /** A resumed (or re-delivered) delivery: its row, if it is still `received`. */
  private async readBack(key: DeliveryKey): Promise<DeliveryInHand | null> {
    const row = await this.deps.store.deliveries.getWithBody(key.orgId, key.deliveryId).catch(() => null);
    return row && row.status === 'received' ? row : null;
  }

  private async decide(delivery: DeliveryInHand): Promise<Decision> {
    const source = await this.deps.sources.source(delivery.sourceId);
    if (!source) return decided({ status: 'failed', error: 'the source was removed before the delivery was processed', matchedCount: 0 });
    const parsed = delivery.parsed ?? parseBody(delivery.body, contentTypeOf(delivery.headers), ROUTE_BODY_ENCODINGS[source.kind]);
    if (!parsed.ok) return decided({ status: 'failed', error: parsed.reason, matchedCount: 0 });
    const normalised = normaliseDelivery({ sourceKind: source.kind, sourceName: source.name, eventType: delivery.eventType, payload: parsed.payload });
    if (normalised.kind === 'deleted') return decided({ status: 'processed', matchedCount: 0, trace: { summary: `ref ${normalised.ref} deleted: nothing to run` } });
    if (normalised.kind === 'ignored') return decided({ status: 'processed', matchedCount: 0, trace: { summary: normalised.reason } });
    const event: CiEvent = { ...normalised.event, sourceKind: source.kind };
    if (source.kind === 'git') return this.gitDelivery(delivery, source, event);
    if (source.kind === 'github') return this.github.decide(delivery, source, event);
    return this.registeredDelivery(delivery, source, event);
  }

  /** A push to a git source: the lock file at the pushed commit decides what runs. */
  private async gitDelivery(delivery: DeliveryInHand, source: Source, event: CiEvent): Promise<Decision> {
    const sha = event.sha!;
    const token = await this.deps.sources.secret(source, 'token');
    const mirror = await this.deps.mirrors.syncMirror({ id: source.id, url: source.url!, token: token ?? undefined }, { wantSha: sha });
    const before = this.deps.lockfiles.stats().hits;
    const lock = await this.deps.lockfiles.readAt(mirror, sha);
    if (this.deps.lockfiles.stats().hits > before) this.deps.metrics.lockfileCacheHits.inc();
    else this.deps.metrics.lockfileCacheMisses.inc();
    // The commit is in the mirror: the push is claimed when its outcome and runs are written
    // (`record`), and they are written only if no other delivery already has it.
    const push: Push = { sourceId: source.id, ref: event.ref ?? `refs/heads/${event.branch}`, sha, deliveryId: delivery.deliveryId };
    return { ...(await this.pushedCommit(delivery, source, event, mirror, lock)), push };
  }

  /** The pushed commit: its lock file decides what runs. */
  private async pushedCommit(delivery: DeliveryInHand, source: Source, event: CiEvent, mirror: string, lock: LockfileAt): Promise<Decision> {
    const sha = event.sha!;
    if (lock.kind === 'missing') return decided({ status: 'lockfile_missing', matchedCount: 0, trace: { summary: `no ${LOCKFILE_PATH} at ${sha}: nothing to run` } });
    const origin: RunOrigin = { orgId: source.orgId, sourceId: source.id, deliveryId: delivery.deliveryId, repoUrl: source.url!, sha, ref: event.ref, branch: event.branch, event };
    // Checked once per lock file content: most pushes change code, not the lock file.
    const parsed = this.deps.lockfiles.parse(lock);
    if (!parsed.ok) return this.corruptLockfile(origin, parsed.error);
    const lockfile = parsed.lockfile;
    if (event.type === 'push' && event.branch === (source.defaultBranch ?? 'main')) {
      await this.registrations.register(source.id, sha, lockfile, new Date(this.deps.clock.now()));
    }
    if (needsChangedFiles(lockfile) && event.before) {
      event.changedFiles = await changedFiles(mirror, event.before, sha, source.defaultBranch ?? 'main', undefined, event.branch);
    }
    return this.matched(lockfile, event, origin);
  }

  /** No workflow could be read, so none matched: the failed run is how the pusher hears of it. */
  private corruptLockfile(origin: RunOrigin, error: string): Decision {
    const failed = planFailedRun(this.deps, origin, '(lock file)', `lock file ${LOCKFILE_PATH}: ${error}`);
    const runId = failed.run.id;
    const summary = `${LOCKFILE_PATH} at ${origin.sha} is not a valid lock file (${error}): no workflow was matched; failed run ${runId} reports it`;
    return { outcome: { status: 'lockfile_corrupt', matchedCount: 0, error, trace: { summary, runId } }, runs: [failed] };
  }

  /** The lock file's workflows matched against the event: one planned run per match. */
  private matched(lockfile: Lockfile, event: CiEvent, origin: RunOrigin): Decision {
    const timer = this.deps.metrics.triggerMatchDuration.startTimer();
    const decisions = matchWorkflows(lockfile, event);
    timer();
    const runs: PlannedRun[] = [];
    for (const [index, decision] of decisions.entries()) {
      if (decision.matched) runs.push(planWorkflowRun(this.deps, origin, lockfile.workflows[index], index));
    }
    return { outcome: { status: 'processed', matchedCount: runs.length, trace: decisions }, runs };
  }

  /**
   * A delivery not tied to a commit (generic sources): run the workflows that git sources of the
   * same organisation registered from their default branch, at the registered commit.
   */
  private async registeredDelivery(delivery: DeliveryInHand, source: Source, event: CiEvent): Promise<Decision> {
    const gitSources = await this.deps.store.sources.list({ orgId: source.orgId, kind: 'git' });
    const decisions = [];
    const runs: PlannedRun[] = [];
    // Matching is timed apart from the store reads and run creation around it, as for git pushes.
    let matchSeconds = 0;
    for (const git of gitSources) {
      for (const reg of await this.deps.store.registrations.list(git.id)) {
        const checked = checkLockfile({ schemaVersion: 1, workflows: [reg.lockfile] });
        if (!checked.ok) continue;
        const workflow: Workflow = checked.lockfile.workflows[0];
        const started = performance.now();
        const decision = matchWorkflow(workflow, event);
        matchSeconds += (performance.now() - started) / 1000;
        decisions.push({ ...decision, sourceId: git.id, sha: reg.sha });
        if (!decision.matched) continue;
        const origin: RunOrigin = {
          orgId: source.orgId,
          sourceId: git.id,
          deliveryId: delivery.deliveryId,
          repoUrl: git.url!,
          sha: reg.sha,
          ref: `refs/heads/${git.defaultBranch ?? 'main'}`,
          branch: git.defaultBranch ?? 'main',
          event,
        };
        runs.push(planWorkflowRun(this.deps, origin, workflow, 0));
      }
    }
    this.deps.metrics.triggerMatchDuration.observe(matchSeconds);
    return { outcome: { status: 'processed', matchedCount: runs.length, trace: decisions }, runs };
  }
}

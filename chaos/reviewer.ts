/**
 * The harness's reviewer (invariant 5): an admin token's name that the workload's `release`
 * environment lists, voting on the holds its jobs wait in. It polls `held_runs` (a few times a
 * second, through one connection it opens again after PostgreSQL restarts) and decides each new
 * hold from the seed and the hold's delivery: most are approved, some rejected, some left to expire,
 * and some voted on around their expiry, so that the vote and the coordinators' expiry duty race
 * for the same hold. A vote goes to a coordinator that is up; one the cluster did not answer (503,
 * a timeout, a refused connection) is asked again of the next, which a second vote by the same name
 * makes safe. Every answer is kept, with every change of status the polls saw, for the checker.
 */
import pg from 'pg';
import { SeededRandom } from '../src/clock/index.js';
import { sleep } from '../cluster/processes.js';
import { type HoldRowStatus, readHoldRows, type HoldView } from './database-view.js';
import type { HoldSighting, VoteAnswer } from './invariants/holds-decided-once.js';

/** The admin token the reviewer votes with is named so; the workload's release environment lists it. */
export const REVIEWER_NAME = 'chaos-reviewer';

export type ReviewKind = 'approve' | 'reject' | 'expire' | 'race';

/** What the reviewer does with one hold. */
export interface ReviewPlan {
  kind: ReviewKind;
  /** The vote; none for `expire` (nobody decides, the hold expires). */
  verdict?: 'approve' | 'reject';
  /** When: ms after the hold is first seen (`approve`, `reject`), or after its expiry (`race`; negative: before). */
  delayMs: number;
}

/** The shares of each kind (they add up to 1). */
export const REVIEW_MIX: Readonly<Record<ReviewKind, number>> = { approve: 0.55, reject: 0.15, expire: 0.1, race: 0.2 };
/**
 * A racing vote lands between half a second before the expiry and 4 s after it; the expiry duty
 * scans every 10 s, so a vote after the expiry wins or loses depending on where the scan stands.
 */
export const RACE_WINDOW_MS: readonly [number, number] = [-500, 4000];

/**
 * The plan for the hold named by `key` (its delivery's branch and job: see `reviewKey`), a pure
 * function of the seed and the key, so a replay of a seed decides each delivery's hold alike.
 */
export function reviewPlan(seed: number, key: string): ReviewPlan {
  const random = new SeededRandom(fnv1a(`${seed >>> 0}:${key}`));
  const draw = random.next();
  let kind: ReviewKind = 'race';
  let acc = 0;
  for (const k of ['approve', 'reject', 'expire', 'race'] as const) {
    acc += REVIEW_MIX[k];
    if (draw < acc) {
      kind = k;
      break;
    }
  }
  switch (kind) {
    case 'approve':
    case 'reject':
      return { kind, verdict: kind, delayMs: random.int(0, 400) };
    case 'expire':
      return { kind, delayMs: 0 };
    case 'race':
      return { kind, verdict: random.next() < 2 / 3 ? 'approve' : 'reject', delayMs: random.int(RACE_WINDOW_MS[0], RACE_WINDOW_MS[1]) };
  }
}

/**
 * What names a hold across replays: the branch its delivery pushed (`chaos/d-17`: run ids are
 * drawn anew each time) and its job; the run id for a run no workload delivery made.
 */
export function reviewKey(hold: Pick<HoldView, 'deliveryId' | 'runId' | 'jobName'>): string {
  const branch = hold.deliveryId ? /refs\/heads\/([^:]+)/.exec(hold.deliveryId)?.[1] : undefined;
  return `${branch ?? hold.runId}/${hold.jobName}`;
}

/** 32-bit FNV-1a of a string. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A coordinator the reviewer may vote through. */
export interface VoteTarget {
  readonly name: string;
  readonly url: string;
  readonly running: boolean;
}

export interface ReviewerOptions {
  databaseUrl: string;
  seed: number;
  /** The admin token named `REVIEWER_NAME`. */
  token: string;
  /** The coordinators (the live ones are asked, in turn). */
  targets: () => readonly VoteTarget[];
  /** Pause between polls; default 300 ms. */
  pollMs?: number;
}

/** What the reviewer did and heard, for the checker and the report. */
export interface ReviewRecord {
  answers: VoteAnswer[];
  sightings: HoldSighting[];
  /** Holds planned, by kind. */
  plans: Record<ReviewKind, number>;
  /** Holds voted on at once because the workload ended, rather than left to expire (they are approved) or raced later. */
  hurried: number;
  /** Polls the database did not answer (it was down, or restarting). */
  pollFailures: number;
}

interface Planned {
  hold: HoldView;
  plan: ReviewPlan;
  /** performance.now() at which to vote; Infinity: never (left to expire). */
  dueAt: number;
  voted: boolean;
}

/** A vote that has no answer worth stopping for is given up after this long. */
const VOTE_PATIENCE_MS = 30_000;
/** One ask's longest wait: past the run actor's own 10 s, a paused node is left for the next. */
const ASK_TIMEOUT_MS = 6000;
const RETRY_PAUSE_MS = 250;
const POLL_MS = 300;

export class Reviewer {
  private readonly planned = new Map<string, Planned>();
  private readonly lastSeen = new Map<string, HoldRowStatus>();
  private readonly votes = new Set<Promise<void>>();
  private readonly record: ReviewRecord = { answers: [], sightings: [], plans: { approve: 0, reject: 0, expire: 0, race: 0 }, hurried: 0, pollFailures: 0 };
  private client: pg.Client | undefined;
  private stopping = false;
  private hurrying = false;
  private loop: Promise<void> | undefined;
  private next = 0;

  constructor(private readonly options: ReviewerOptions) {}

  start(): void {
    this.loop = this.run();
  }

  /**
   * The workload is over: every hold not voted on yet is voted on now (an `expire` plan approves),
   * so the cluster settles without waiting out expiries; holds seen from now on too.
   */
  hurry(): void {
    this.hurrying = true;
    for (const p of this.planned.values()) this.hurryOne(p);
  }

  /** Stop polling, wait for the votes under way, and hand back the record. */
  async stop(): Promise<ReviewRecord> {
    this.stopping = true;
    await this.loop;
    await Promise.all([...this.votes]);
    await this.client?.end().catch(() => undefined);
    this.client = undefined;
    return this.record;
  }

  private async run(): Promise<void> {
    const pollMs = this.options.pollMs ?? POLL_MS;
    while (!this.stopping) {
      await this.poll();
      this.voteDue();
      await sleep(pollMs);
    }
    // One last look, so the record sees what the last votes did.
    await this.poll();
  }

  private async poll(): Promise<void> {
    let rows: HoldView[];
    try {
      if (!this.client) {
        const client = new pg.Client({ connectionString: this.options.databaseUrl });
        // PostgreSQL crashed on purpose: the next poll connects again.
        client.on('error', () => undefined);
        await client.connect();
        this.client = client;
      }
      rows = await readHoldRows(this.client);
    } catch {
      this.record.pollFailures++;
      await this.client?.end().catch(() => undefined);
      this.client = undefined;
      return;
    }
    const atMs = Date.now();
    for (const hold of rows) {
      if (this.lastSeen.get(hold.id) !== hold.status) {
        this.lastSeen.set(hold.id, hold.status);
        this.record.sightings.push({ holdId: hold.id, status: hold.status, atMs });
      }
      if (hold.status === 'pending' && !this.planned.has(hold.id) && hold.requiredReviewers.includes(REVIEWER_NAME)) this.plan(hold, atMs);
    }
  }

  private plan(hold: HoldView, seenAtMs: number): void {
    const plan = reviewPlan(this.options.seed, reviewKey(hold));
    this.record.plans[plan.kind]++;
    const now = performance.now();
    const dueAt = plan.kind === 'expire' ? Infinity : plan.kind === 'race' ? now + (hold.expiresAt.getTime() - seenAtMs) + plan.delayMs : now + plan.delayMs;
    const p: Planned = { hold, plan, dueAt, voted: false };
    this.planned.set(hold.id, p);
    if (this.hurrying) this.hurryOne(p);
  }

  /** Due now; counted when that changes the plan (an expiry not waited for, a race run early), not a vote due within the next poll anyway. */
  private hurryOne(p: Planned): void {
    const now = performance.now();
    if (p.voted || p.dueAt <= now) return;
    if (p.plan.kind === 'expire' || p.dueAt - now > (this.options.pollMs ?? POLL_MS)) this.record.hurried++;
    p.dueAt = now;
  }

  private voteDue(): void {
    const now = performance.now();
    for (const p of this.planned.values()) {
      if (p.voted || p.dueAt > now) continue;
      p.voted = true;
      // Planned to expire, hurried: approved.
      const vote = this.vote(p.hold, p.plan.verdict ?? 'approve');
      this.votes.add(vote);
      void vote.finally(() => this.votes.delete(vote));
    }
  }

  /** Ask coordinators in turn until one answers the vote for itself (200, 404, 409, 4xx), or patience runs out. */
  private async vote(hold: HoldView, verdict: 'approve' | 'reject'): Promise<void> {
    const giveUpAt = performance.now() + VOTE_PATIENCE_MS;
    for (let attempt = 1; performance.now() < giveUpAt; attempt++) {
      const live = this.options.targets().filter((t) => t.running);
      const target = live[this.next++ % Math.max(1, live.length)];
      if (!target) {
        await sleep(RETRY_PAUSE_MS);
        continue;
      }
      const answer = await this.ask(target, hold, verdict, attempt);
      this.record.answers.push(answer);
      if (answer.status !== 0 && answer.status !== 503 && answer.status < 500) return;
      await sleep(RETRY_PAUSE_MS);
    }
  }

  private async ask(target: VoteTarget, hold: HoldView, verdict: 'approve' | 'reject', attempt: number): Promise<VoteAnswer> {
    const base = { holdId: hold.id, runId: hold.runId, job: hold.jobName, verdict, node: target.name, attempt };
    try {
      const res = await fetch(`${target.url}/api/v1/runs/${hold.runId}/${verdict}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.options.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ job: hold.jobName, reason: `chaos: ${verdict}` }),
        signal: AbortSignal.timeout(ASK_TIMEOUT_MS),
      });
      const text = await res.text();
      const body = parseJson(text) as { holds?: VoteAnswer['holds']; error?: { code?: unknown } } | undefined;
      const code = typeof body?.error?.code === 'string' ? body.error.code : undefined;
      return { ...base, atMs: Date.now(), status: res.status, ...(res.status === 200 ? { holds: body?.holds ?? [] } : code !== undefined && { code }) };
    } catch (e) {
      return { ...base, atMs: Date.now(), status: 0, code: (e as Error).name === 'TimeoutError' ? 'timeout' : (e as Error).message };
    }
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

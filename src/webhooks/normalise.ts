import { z } from 'zod';
import type { CiEvent } from '../workflows/index.js';
import type { RouteKind } from './source.js';

/** The event trigger matching reads, as defined by the workflows room. */
export type NormalisedEvent = CiEvent;

export type Normalised =
  | { kind: 'event'; event: NormalisedEvent }
  /** A deleted branch or tag: recorded, but it starts nothing. */
  | { kind: 'deleted'; ref: string; type: 'push' | 'tag'; branch: string }
  | { kind: 'ignored'; reason: string };

export interface NormaliseInput {
  sourceKind: RouteKind;
  sourceName: string;
  eventType: string;
  payload: unknown;
}

const objectId = z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/i);

/** What the kici post-receive hook posts for each updated ref. */
export const gitPushPayload = z.looseObject({
  ref: z.string().min(1),
  before: objectId,
  after: objectId,
  repository: z.looseObject({ url: z.string().optional(), name: z.string().min(1) }),
});
export type GitPushPayload = z.infer<typeof gitPushPayload>;

const githubPush = z.looseObject({
  ref: z.string().min(1),
  before: z.string().optional(),
  after: z.string().optional(),
  deleted: z.boolean().optional(),
  repository: z.looseObject({ full_name: z.string() }).optional(),
});

const githubBranch = z.looseObject({
  ref: z.string(),
  sha: z.string().optional(),
  repo: z.looseObject({ full_name: z.string() }).nullable().optional(),
});

const githubPullRequest = z.looseObject({
  action: z.string().optional(),
  pull_request: z.looseObject({ base: githubBranch, head: githubBranch }),
  repository: z.looseObject({ full_name: z.string() }).optional(),
});

const githubRepoOnly = z.looseObject({
  action: z.string().optional(),
  repository: z.looseObject({ full_name: z.string() }).optional(),
});

const isZeroId = (id: string | undefined): boolean => id !== undefined && /^0+$/.test(id);

/** `refs/tags/X` is a tag event on X; `refs/heads/` is stripped from branch pushes. */
function refEvent(ref: string): { type: 'push' | 'tag'; branch: string } {
  if (ref.startsWith('refs/tags/')) return { type: 'tag', branch: ref.slice('refs/tags/'.length) };
  if (ref.startsWith('refs/heads/')) return { type: 'push', branch: ref.slice('refs/heads/'.length) };
  return { type: 'push', branch: ref };
}

interface PushFacts {
  ref: string;
  before?: string;
  after?: string;
  deleted: boolean;
  repo?: string;
}

function pushEvent(facts: PushFacts, sourceName: string, payload: unknown): Normalised {
  const { type, branch } = refEvent(facts.ref);
  if (facts.deleted) return { kind: 'deleted', ref: facts.ref, type, branch };
  const event: NormalisedEvent = { type, branch, ref: facts.ref, sha: facts.after, sourceName, payload };
  if (facts.before !== undefined) event.before = facts.before;
  if (facts.repo !== undefined) event.repo = facts.repo;
  return { kind: 'event', event };
}

function normaliseGit(input: NormaliseInput): Normalised {
  const parsed = gitPushPayload.safeParse(input.payload);
  if (!parsed.success) return { kind: 'ignored', reason: 'git push payload does not have ref, before, after and repository.name' };
  const { ref, before, after, repository } = parsed.data;
  return pushEvent({ ref, before, after, deleted: isZeroId(after), repo: repository.name }, input.sourceName, input.payload);
}

function normaliseGithubPush(input: NormaliseInput): Normalised {
  const parsed = githubPush.safeParse(input.payload);
  if (!parsed.success) return { kind: 'ignored', reason: 'push payload has no ref' };
  const push = parsed.data;
  const deleted = push.deleted === true || isZeroId(push.after);
  const facts = { ref: push.ref, before: push.before, after: push.after, deleted, repo: push.repository?.full_name };
  return pushEvent(facts, input.sourceName, input.payload);
}

function normalisePullRequest(input: NormaliseInput): Normalised {
  const parsed = githubPullRequest.safeParse(input.payload);
  if (!parsed.success) return { kind: 'ignored', reason: 'pull_request payload has no base and head' };
  const { action, pull_request: pr, repository } = parsed.data;
  const event: NormalisedEvent = {
    type: 'pull_request',
    action: action ?? '',
    branch: pr.base.ref,
    sourceBranch: pr.head.ref,
    sha: pr.head.sha,
    ref: `refs/heads/${pr.head.ref}`,
    sourceName: input.sourceName,
    payload: input.payload,
  };
  const repo = repository?.full_name ?? pr.base.repo?.full_name;
  if (repo !== undefined) event.repo = repo;
  return { kind: 'event', event };
}

/** GitHub event names that map onto a trigger type directly; anything else is ignored. */
const GITHUB_RENAMES: Record<string, string> = {
  issue_comment: 'comment',
  pull_request_review: 'review',
  repository_dispatch: 'dispatch',
};

function normaliseGithub(input: NormaliseInput): Normalised {
  if (input.eventType === 'push') return normaliseGithubPush(input);
  if (input.eventType === 'pull_request') return normalisePullRequest(input);
  const renamed = GITHUB_RENAMES[input.eventType];
  if (!renamed) return { kind: 'ignored', reason: `GitHub event ${input.eventType} starts nothing` };
  const parsed = githubRepoOnly.safeParse(input.payload);
  const data = parsed.success ? parsed.data : {};
  const event: NormalisedEvent = { type: renamed, action: data.action ?? '', sourceName: input.sourceName, payload: input.payload };
  if (data.repository) event.repo = data.repository.full_name;
  return { kind: 'event', event };
}

function normaliseGeneric(input: NormaliseInput): Normalised {
  const event: NormalisedEvent = { type: input.eventType, sourceName: input.sourceName, payload: input.payload };
  const action = input.payload !== null && typeof input.payload === 'object' ? (input.payload as Record<string, unknown>).action : undefined;
  if (typeof action === 'string') event.action = action;
  return { kind: 'event', event };
}

/** Turns an admitted delivery into the event trigger matching reads (reference/execution.md §2). */
export function normaliseDelivery(input: NormaliseInput): Normalised {
  if (input.sourceKind === 'git') return normaliseGit(input);
  if (input.sourceKind === 'github') return normaliseGithub(input);
  return normaliseGeneric(input);
}

/**
 * GitHub deliveries into the event trigger matching reads (issue 18). Pure: the payload in, an
 * event or the reason it starts nothing out. Supported: push (branch and tag; a deletion is
 * recorded and starts nothing), pull_request (opened, synchronize, reopened), issue_comment,
 * pull_request_review, release, create, delete, workflow_dispatch (and repository_dispatch, as
 * before). Every other event is recorded and ignored, with the reason in the event log.
 */
import { z } from 'zod';
import type { CiEvent } from '../workflows/index.js';
import type { Normalised, NormaliseInput } from './normalise.js';

const repository = z.looseObject({ full_name: z.string() });
const user = z.looseObject({ login: z.string(), id: z.number() });
const installation = z.looseObject({ id: z.number() }).nullable().optional();

const branch = z.looseObject({
  ref: z.string(),
  sha: z.string(),
  repo: repository.nullable().optional(),
});

const pushPayload = z.looseObject({
  ref: z.string().min(1),
  before: z.string().optional(),
  after: z.string().optional(),
  deleted: z.boolean().optional(),
  repository: repository.optional(),
  installation,
});

const pullRequest = z.looseObject({ number: z.number(), user, base: branch, head: branch });

const pullRequestPayload = z.looseObject({
  action: z.string(),
  number: z.number().optional(),
  pull_request: pullRequest,
  repository: repository.optional(),
  installation,
});

const commentPayload = z.looseObject({
  action: z.string(),
  issue: z.looseObject({ number: z.number(), user, pull_request: z.looseObject({}).nullable().optional() }),
  repository: repository.optional(),
  installation,
});

const reviewPayload = z.looseObject({
  action: z.string(),
  pull_request: pullRequest,
  repository: repository.optional(),
  installation,
});

const releasePayload = z.looseObject({
  action: z.string(),
  release: z.looseObject({ tag_name: z.string() }),
  repository: repository.optional(),
  installation,
});

const refPayload = z.looseObject({
  ref: z.string().min(1),
  ref_type: z.enum(['branch', 'tag']),
  repository: repository.optional(),
  installation,
});

const dispatchPayload = z.looseObject({
  ref: z.string().min(1),
  repository: repository.optional(),
  installation,
});

const repoOnly = z.looseObject({ action: z.string().optional(), repository: repository.optional(), installation });

/** The pull_request actions that run workflows: new commits to judge. The rest (labels, edits, closing) do not. */
export const PULL_REQUEST_ACTIONS = ['opened', 'synchronize', 'reopened'] as const;

/** GitHub event name → the event type workflows' `webhook` triggers name. */
const TYPES: Record<string, string> = {
  issue_comment: 'comment',
  pull_request_review: 'review',
  repository_dispatch: 'dispatch',
  release: 'release',
  create: 'create',
  delete: 'delete',
  workflow_dispatch: 'workflow_dispatch',
};

export const GITHUB_EVENTS = ['push', 'pull_request', ...Object.keys(TYPES)] as const;

const isZeroId = (id: string | undefined): boolean => id !== undefined && /^0+$/.test(id);

function base(input: NormaliseInput, type: string, data: { repository?: { full_name: string }; installation?: { id: number } | null }): CiEvent {
  const event: CiEvent = { type, sourceName: input.sourceName, payload: input.payload };
  if (data.repository) event.repo = data.repository.full_name;
  if (data.installation) event.installationId = data.installation.id;
  return event;
}

function refName(ref: string): { kind: 'branch' | 'tag'; name: string } {
  if (ref.startsWith('refs/tags/')) return { kind: 'tag', name: ref.slice('refs/tags/'.length) };
  if (ref.startsWith('refs/heads/')) return { kind: 'branch', name: ref.slice('refs/heads/'.length) };
  return { kind: 'branch', name: ref };
}

const unreadable = (event: string, needs: string): Normalised => ({ kind: 'ignored', reason: `${event} payload does not have ${needs}` });

function push(input: NormaliseInput): Normalised {
  const parsed = pushPayload.safeParse(input.payload);
  if (!parsed.success) return unreadable('push', 'a ref');
  const p = parsed.data;
  const { kind, name } = refName(p.ref);
  const type = kind === 'tag' ? 'tag' : 'push';
  if (p.deleted === true || isZeroId(p.after)) return { kind: 'deleted', ref: p.ref, type, branch: name };
  const event = { ...base(input, type, p), branch: name, ref: p.ref, sha: p.after };
  if (p.before !== undefined) event.before = p.before;
  return { kind: 'event', event };
}

function pullRequestEvent(input: NormaliseInput): Normalised {
  const parsed = pullRequestPayload.safeParse(input.payload);
  if (!parsed.success) return unreadable('pull_request', 'a pull_request with number, user, base and head');
  const p = parsed.data;
  if (!(PULL_REQUEST_ACTIONS as readonly string[]).includes(p.action)) {
    return { kind: 'ignored', reason: `pull_request ${p.action} starts nothing (only ${PULL_REQUEST_ACTIONS.join(', ')} do)` };
  }
  const pr = p.pull_request;
  const event: CiEvent = {
    ...base(input, 'pull_request', p),
    action: p.action,
    branch: pr.base.ref,
    sourceBranch: pr.head.ref,
    sha: pr.head.sha,
    ref: `refs/pull/${pr.number}/head`,
    pullRequest: { number: pr.number, author: { login: pr.user.login, id: pr.user.id }, trustTier: null },
  };
  if (!event.repo && pr.base.repo) event.repo = pr.base.repo.full_name;
  return { kind: 'event', event };
}

function comment(input: NormaliseInput): Normalised {
  const parsed = commentPayload.safeParse(input.payload);
  if (!parsed.success) return unreadable('issue_comment', 'an issue with number and user');
  const p = parsed.data;
  const event: CiEvent = { ...base(input, TYPES.issue_comment, p), action: p.action };
  // A comment on a pull request names it (`/kici approve` is answered there); one on an issue does not.
  if (p.issue.pull_request) event.pullRequest = { number: p.issue.number, author: { login: p.issue.user.login, id: p.issue.user.id }, trustTier: null };
  return { kind: 'event', event };
}

function review(input: NormaliseInput): Normalised {
  const parsed = reviewPayload.safeParse(input.payload);
  if (!parsed.success) return unreadable('pull_request_review', 'a pull_request with number, user, base and head');
  const p = parsed.data;
  const pr = p.pull_request;
  const event: CiEvent = {
    ...base(input, TYPES.pull_request_review, p),
    action: p.action,
    branch: pr.base.ref,
    sourceBranch: pr.head.ref,
    sha: pr.head.sha,
    pullRequest: { number: pr.number, author: { login: pr.user.login, id: pr.user.id }, trustTier: null },
  };
  return { kind: 'event', event };
}

function release(input: NormaliseInput): Normalised {
  const parsed = releasePayload.safeParse(input.payload);
  if (!parsed.success) return unreadable('release', 'a release with tag_name');
  const p = parsed.data;
  const tag = p.release.tag_name;
  return { kind: 'event', event: { ...base(input, TYPES.release, p), action: p.action, branch: tag, ref: `refs/tags/${tag}` } };
}

/** create/delete: the action is the ref's type (`branch` or `tag`), so a trigger can take only one kind. */
function refEvent(input: NormaliseInput, name: 'create' | 'delete'): Normalised {
  const parsed = refPayload.safeParse(input.payload);
  if (!parsed.success) return unreadable(name, 'ref and ref_type');
  const p = parsed.data;
  const full = p.ref.startsWith('refs/') ? p.ref : `refs/${p.ref_type === 'tag' ? 'tags' : 'heads'}/${p.ref}`;
  return { kind: 'event', event: { ...base(input, TYPES[name], p), action: p.ref_type, branch: refName(full).name, ref: full } };
}

function workflowDispatch(input: NormaliseInput): Normalised {
  const parsed = dispatchPayload.safeParse(input.payload);
  if (!parsed.success) return unreadable('workflow_dispatch', 'a ref');
  const p = parsed.data;
  return { kind: 'event', event: { ...base(input, TYPES.workflow_dispatch, p), action: '', branch: refName(p.ref).name, ref: p.ref } };
}

export function normaliseGithub(input: NormaliseInput): Normalised {
  switch (input.eventType) {
    case 'push':
      return push(input);
    case 'pull_request':
      return pullRequestEvent(input);
    case 'issue_comment':
      return comment(input);
    case 'pull_request_review':
      return review(input);
    case 'release':
      return release(input);
    case 'create':
    case 'delete':
      return refEvent(input, input.eventType);
    case 'workflow_dispatch':
      return workflowDispatch(input);
    case 'repository_dispatch': {
      const parsed = repoOnly.safeParse(input.payload);
      const data = parsed.success ? parsed.data : {};
      return { kind: 'event', event: { ...base(input, TYPES.repository_dispatch, data), action: data.action ?? '' } };
    }
    default:
      return { kind: 'ignored', reason: `GitHub event ${input.eventType} starts nothing (kici runs on ${GITHUB_EVENTS.join(', ')})` };
  }
}

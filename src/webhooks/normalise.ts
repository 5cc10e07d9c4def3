import { z } from 'zod';
import type { CiEvent } from '../workflows/index.js';
import { normaliseGithub } from './github-normalise.js';
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

/**
 * Check runs as the client speaks of them, and their request bodies (a conclusion means completed;
 * output text is cut to GitHub's limit here).
 */
import { GitHubError } from './errors.js';
import { capText } from './summary.js';

export type CheckRunStatus = 'queued' | 'in_progress' | 'completed';
export type CheckRunConclusion =
  | 'success'
  | 'failure'
  | 'neutral'
  | 'cancelled'
  | 'skipped'
  | 'timed_out'
  | 'action_required';

export interface CheckRunOutput {
  title: string;
  /** Markdown; cut to 65 535 bytes here (use renderCheckRunSummary to cut log context first). */
  summary: string;
  text?: string;
}

export interface CheckRunFields {
  status?: CheckRunStatus;
  /** Required with `completed`; giving one means completed. */
  conclusion?: CheckRunConclusion;
  detailsUrl?: string;
  externalId?: string;
  /** ISO 8601. */
  startedAt?: string;
  completedAt?: string;
  output?: CheckRunOutput;
}

export interface NewCheckRun extends CheckRunFields {
  name: string;
  headSha: string;
}

export interface CheckRun {
  id: number;
  name?: string;
  status?: string;
  conclusion?: string | null;
  htmlUrl?: string;
  /** What the creator put in `external_id` (kici: the run and job the check reports on). */
  externalId?: string;
}

export function checkRunBody(fields: CheckRunFields): Record<string, unknown> {
  if (fields.status === 'completed' && !fields.conclusion) {
    throw new GitHubError('a completed check run needs a conclusion', 'refused');
  }
  if (fields.conclusion && fields.status && fields.status !== 'completed') {
    throw new GitHubError(`a check run with a conclusion is completed, not ${fields.status}`, 'refused');
  }
  const body: Record<string, unknown> = {};
  if (fields.status) body.status = fields.status;
  if (fields.conclusion) body.conclusion = fields.conclusion;
  if (fields.detailsUrl) body.details_url = fields.detailsUrl;
  if (fields.externalId) body.external_id = fields.externalId;
  if (fields.startedAt) body.started_at = fields.startedAt;
  if (fields.completedAt) body.completed_at = fields.completedAt;
  if (fields.output) {
    body.output = {
      title: fields.output.title,
      summary: capText(fields.output.summary),
      ...(fields.output.text !== undefined ? { text: capText(fields.output.text) } : {}),
    };
  }
  return body;
}

export function toCheckRun(data: unknown): CheckRun {
  const run = data as { id?: unknown; name?: string; status?: string; conclusion?: string | null; html_url?: string; external_id?: string | null };
  const id = Number(run?.id);
  if (!Number.isSafeInteger(id)) throw new GitHubError('GitHub answered a check-run call without an id', 'refused');
  return { id, name: run.name, status: run.status, conclusion: run.conclusion, htmlUrl: run.html_url, externalId: run.external_id ?? undefined };
}

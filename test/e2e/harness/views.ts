/** The admin API's objects as the tests read them (a subset of their fields). */
export interface RunSummary {
  id: string;
  orgId: string;
  sourceId: string | null;
  deliveryId: string | null;
  workflow: string;
  status: string;
  branch: string | null;
  sha: string | null;
  error: string | null;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface StepView {
  index: number;
  name: string;
  status: string;
  exitCode: number | null;
}

export interface JobView {
  id: string;
  name: string;
  status: string;
  agentId: string | null;
  error: string | null;
  outputs: Record<string, string>;
  attempts: number;
  startedAt: string | null;
  finishedAt: string | null;
  steps: StepView[];
}

export interface RunDetail extends RunSummary {
  jobs: JobView[];
}

/** A held job's hold, as `GET /runs/:id` lists them. */
export interface HoldView {
  id: string;
  job: string;
  gate: string;
  status: string;
  reviewers: string[];
  remaining: string[];
  votes: { reviewer: string; verdict: string; reason: string | null; at: string }[];
  reason: string;
  createdAt: string;
  expiresAt: string;
  decidedAt: string | null;
  decidedBy: string | null;
}

export interface LogLine {
  job: string;
  step: number;
  stepName?: string;
  text: string;
}

export interface DeliveryView {
  id: string;
  sourceId: string;
  eventType: string;
  status: string;
  matchedCount: number;
  error: string | null;
  trace: unknown;
}

/**
 * Which workflows a delivery starts, and why (execution.md §2). Triggers are tried in order and
 * the first match wins; inside a trigger every filter must pass and an empty list filters nothing.
 * Every check leaves a trace entry so an operator can see why a push did or did not run.
 */
import type { CiEvent } from './event.js';
import type { Lockfile, Pattern, Trigger, Workflow } from './lockfile-schema.js';
import { describePatterns, matchPaths, matchPatternList, type PatternOutcome } from './patterns.js';

export interface TraceEntry {
  /** Index of the trigger in the workflow's `triggers` that made this check. */
  trigger: number;
  check: string;
  pattern: string;
  value: string;
  passed: boolean;
  reason?: string;
}

export interface WorkflowDecision {
  workflowName: string;
  matched: boolean;
  /** Index of the winning trigger in `triggers`. */
  matchedTrigger?: number;
  /** On a match only the winning trigger's checks; otherwise every trigger's, in order. */
  checks: TraceEntry[];
  summary: string;
}

type Check = Omit<TraceEntry, 'trigger'>;
type PendingCheck = () => Check;

/** The event types each git-bound trigger accepts; `webhook` and `generic_webhook` take any. */
const EVENT_TYPE_OF: Record<string, string> = { push: 'push', tag: 'tag', pr: 'pull_request' };
const MAX_FILES_SHOWN = 10;

export function matchWorkflows(lockfile: Lockfile, event: CiEvent): WorkflowDecision[] {
  return lockfile.workflows.map((workflow) => matchWorkflow(workflow, event));
}

export function matchWorkflow(workflow: Workflow, event: CiEvent): WorkflowDecision {
  const base = { workflowName: workflow.name };
  if (workflow.triggers.length === 0) {
    return { ...base, matched: false, checks: [], summary: 'No triggers defined' };
  }
  const tried: TraceEntry[] = [];
  for (const [index, trigger] of workflow.triggers.entries()) {
    const { matched, checks } = matchTrigger(trigger, event);
    const entries = checks.map((check) => ({ trigger: index, ...check }));
    if (matched) {
      return {
        ...base,
        matched: true,
        matchedTrigger: index,
        checks: entries,
        summary: `Matched trigger ${index} (${trigger._type})`,
      };
    }
    tried.push(...entries);
  }
  return { ...base, matched: false, checks: tried, summary: 'No triggers matched' };
}

/** Runs one trigger's checks in order, stopping at the first that fails. */
export function matchTrigger(trigger: Trigger, event: CiEvent): { matched: boolean; checks: Check[] } {
  const checks: Check[] = [];
  for (const pending of triggerChecks(trigger, event)) {
    const check = pending();
    checks.push(check);
    if (!check.passed) return { matched: false, checks };
  }
  return { matched: true, checks };
}

function triggerChecks(trigger: Trigger, event: CiEvent): PendingCheck[] {
  const action = event.action ?? '';
  switch (trigger._type) {
    case 'push':
      return [
        eventTypeCheck(EVENT_TYPE_OF.push, event),
        ...patternCheck('branch', trigger.branches, event.branch),
        ...pathsCheck(trigger.paths, event),
      ];
    case 'tag':
      return [eventTypeCheck(EVENT_TYPE_OF.tag, event), ...patternCheck('tag', trigger.patterns, event.branch)];
    case 'pr':
      return [
        eventTypeCheck(EVENT_TYPE_OF.pr, event),
        ...memberCheck('action', trigger.events, action),
        ...patternCheck('target_branch', trigger.targetBranches, event.branch),
        ...patternCheck('source_branch', trigger.sourceBranches, event.sourceBranch),
        ...pathsCheck(trigger.paths, event),
      ];
    case 'webhook':
      return [anyEventCheck(trigger.events, event), ...memberCheck('action', trigger.actions, action)];
    case 'generic_webhook':
      return [sourceCheck(trigger.source, event), anyEventCheck(trigger.events, event)];
  }
}

function eventTypeCheck(expected: string, event: CiEvent): PendingCheck {
  return () => ({
    check: 'event',
    pattern: expected,
    value: event.type,
    passed: event.type === expected,
    ...(event.type === expected ? {} : { reason: `event is ${event.type}, not ${expected}` }),
  });
}

/** `webhook`/`generic_webhook` events: membership, and no list means any event type. */
function anyEventCheck(events: string[], event: CiEvent): PendingCheck {
  if (events.length === 0) return () => ({ check: 'event', pattern: '*', value: event.type, passed: true });
  return memberCheck('event', events, event.type)[0];
}

function memberCheck(check: string, allowed: string[], value: string): PendingCheck[] {
  if (allowed.length === 0) return [];
  return [
    () => {
      const passed = allowed.includes(value);
      return { check, pattern: allowed.join('|'), value, passed, ...(passed ? {} : { reason: 'not in the list' }) };
    },
  ];
}

function sourceCheck(source: string, event: CiEvent): PendingCheck {
  return () => {
    const value = event.sourceName ?? '';
    const generic = event.sourceKind === undefined || event.sourceKind === 'generic';
    const passed = generic && event.sourceName === source;
    const reason = !generic
      ? `delivery came through a ${event.sourceKind} source`
      : event.sourceName === undefined
        ? 'delivery has no generic source'
        : 'different source';
    return { check: 'source', pattern: source, value, passed, ...(passed ? {} : { reason }) };
  };
}

function patternCheck(check: string, patterns: Pattern[], value: string | undefined): PendingCheck[] {
  if (patterns.length === 0) return [];
  return [
    () => {
      const pattern = describePatterns(patterns);
      if (value === undefined) {
        return { check, pattern, value: '', passed: false, reason: `event has no ${check.replace('_', ' ')}` };
      }
      return { check, pattern, value, ...outcome(matchPatternList(patterns, value)) };
    },
  ];
}

function pathsCheck(patterns: Pattern[], event: CiEvent): PendingCheck[] {
  if (patterns.length === 0) return [];
  return [
    () => ({
      check: 'paths',
      pattern: describePatterns(patterns),
      value: describeFiles(event.changedFiles ?? []),
      ...(event.changedFilesIncomplete
        ? { passed: true, reason: 'the changed-file list is incomplete (the provider stopped listing): assumed to match' }
        : outcome(matchPaths(patterns, event.changedFiles))),
    }),
  ];
}

function outcome(result: PatternOutcome): Pick<Check, 'passed' | 'reason'> {
  return result.reason === undefined ? { passed: result.passed } : { passed: result.passed, reason: result.reason };
}

function describeFiles(files: string[]): string {
  const shown = files.slice(0, MAX_FILES_SHOWN).join(', ');
  return files.length > MAX_FILES_SHOWN ? `${shown} (+${files.length - MAX_FILES_SHOWN} more)` : shown;
}

/** Changed files cost a git diff; fetch them only when some trigger filters on paths. */
export function needsChangedFiles(lockfile: Lockfile): boolean {
  return lockfile.workflows.some((workflow) =>
    workflow.triggers.some((trigger) => 'paths' in trigger && trigger.paths.length > 0),
  );
}

/** Workflows with triggers not tied to a git event are registered from the default branch. */
export function hasGitIndependentTriggers(workflow: Workflow): boolean {
  return workflow.triggers.some((trigger) => trigger._type === 'webhook' || trigger._type === 'generic_webhook');
}

/**
 * Turns a zod issue into the one-line error users see on a failed run:
 * `workflows[0].jobs[2].steps[0].run: required`. Reasons are short and never echo a value
 * from the document, because a lock file's env values may hold things that must not be logged.
 */
import type { z } from 'zod';

type PathKey = PropertyKey;

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

export function formatFieldPath(path: readonly PathKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && IDENTIFIER.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out === '' ? '(root)' : out;
}

/** `path: reason` for one issue; `input` is the parsed JSON, used to tell "required" from "wrong type". */
export function formatIssue(issue: z.core.$ZodIssue, input: unknown): string {
  if (issue.code === 'unrecognized_keys') {
    return `${formatFieldPath([...issue.path, issue.keys[0]])}: unknown field`;
  }
  if (issue.code === 'invalid_union') {
    const inner = closestBranchIssue(issue);
    if (inner) return formatIssue({ ...inner, path: [...issue.path, ...inner.path] } as z.core.$ZodIssue, input);
  }
  if (issue.code === 'invalid_key') {
    return `${formatFieldPath(issue.path)}: ${issue.issues[0]?.message ?? 'invalid key'}`;
  }
  return `${formatFieldPath(issue.path)}: ${issueReason(issue, input)}`;
}

/**
 * A union (pattern = glob or regex object, needs = name or object) reports one issue list per
 * form. The form whose complaint is not "wrong type at the top" is the one the user meant.
 */
function closestBranchIssue(issue: z.core.$ZodIssueInvalidUnion): z.core.$ZodIssue | undefined {
  const meant = issue.errors.filter((errors) => {
    const first = errors[0];
    return first !== undefined && !(first.code === 'invalid_type' && first.path.length === 0);
  });
  return meant.length === 1 ? meant[0][0] : undefined;
}

function issueReason(issue: z.core.$ZodIssue, input: unknown): string {
  switch (issue.code) {
    case 'invalid_type':
      if (valueAt(input, issue.path) === undefined) return 'required';
      return `expected ${typeName(issue.expected)}`;
    case 'invalid_value':
      if (valueAt(input, issue.path) === undefined) return 'required';
      return `expected ${issue.values.map((v) => JSON.stringify(v)).join(' or ')}`;
    case 'invalid_union':
      return unionReason(issue, input);
    case 'too_small':
      return sizeReason('at least', issue.origin, issue.minimum, issue.inclusive);
    case 'too_big':
      return sizeReason('at most', issue.origin, issue.maximum, issue.inclusive);
    default:
      // Our schema writes its own messages for custom checks and string formats.
      return issue.message;
  }
}

function unionReason(issue: z.core.$ZodIssueInvalidUnion, input: unknown): string {
  if (issue.discriminator !== undefined && 'options' in issue) {
    if (valueAt(input, issue.path) === undefined) return 'required';
    return `unknown type (expected one of ${(issue.options ?? []).map(String).join(', ')})`;
  }
  if (valueAt(input, issue.path) === undefined) return 'required';
  const expected = issue.errors.flatMap((errors) =>
    errors[0]?.code === 'invalid_type' && errors[0].path.length === 0 ? [typeName(errors[0].expected)] : [],
  );
  return expected.length > 0 ? `expected ${[...new Set(expected)].join(' or ')}` : 'does not match any allowed form';
}

function sizeReason(word: 'at least' | 'at most', origin: string, bound: number | bigint, inclusive?: boolean): string {
  const strict = inclusive === false;
  if (origin === 'array' || origin === 'set') {
    const count = strict ? (word === 'at least' ? Number(bound) + 1 : Number(bound) - 1) : Number(bound);
    return `must have ${word} ${count} item${count === 1 ? '' : 's'}`;
  }
  if (origin === 'string') {
    return word === 'at least' && bound === 1 ? 'must not be empty' : `must be ${word} ${bound} characters`;
  }
  const operator = word === 'at least' ? (strict ? '>' : '>=') : strict ? '<' : '<=';
  return `must be ${operator} ${bound}`;
}

function typeName(expected: string): string {
  return expected === 'int' ? 'integer' : expected;
}

function valueAt(root: unknown, path: readonly PathKey[]): unknown {
  let current = root;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    if (!Object.prototype.hasOwnProperty.call(current, key)) return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

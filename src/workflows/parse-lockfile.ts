/**
 * Reading a lock file's text into a checked Lockfile. Every failure is one line naming the first
 * bad field, because it becomes the error of a failed run that a user has to act on.
 */
import { formatIssue } from './issue-path.js';
import { LOCKFILE_SCHEMA_VERSION, lockfileSchema, type Lockfile } from './lockfile-schema.js';

export type LockfileParseResult = { ok: true; lockfile: Lockfile } | { ok: false; error: string };

export function parseLockfile(text: string): LockfileParseResult {
  let document: unknown;
  try {
    document = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    return { ok: false, error: `not valid JSON: ${jsonReason(error)}` };
  }
  return checkLockfile(document);
}

/** Validates an already-parsed document (for callers that hold JSON, such as tests or the CLI). */
export function checkLockfile(document: unknown): LockfileParseResult {
  const version = versionProblem(document);
  if (version) return { ok: false, error: version };
  const result = lockfileSchema.safeParse(document);
  if (result.success) return { ok: true, lockfile: result.data as Lockfile };
  return { ok: false, error: formatIssue(result.error.issues[0], document) };
}

/** Checked before the schema so that a future file gets "unsupported version", not a list of unknown fields. */
function versionProblem(document: unknown): string | null {
  if (document === null || typeof document !== 'object' || Array.isArray(document)) return null;
  const version = (document as Record<string, unknown>).schemaVersion;
  if (typeof version !== 'number' || version === LOCKFILE_SCHEMA_VERSION) return null;
  return `schemaVersion: unsupported version ${version} (expected ${LOCKFILE_SCHEMA_VERSION})`;
}

/**
 * JSON.parse messages in recent Node quote a slice of the input ("… is not valid JSON"); that
 * slice could hold a value from the file, so only the parser's own words are kept.
 */
function jsonReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const quoted = /^(.*?), ".*" is not valid JSON$/s.exec(message);
  return quoted ? quoted[1] : message;
}

/**
 * What an admin token may be called. A name is who acted in the audit and who a reviewer is in an
 * environment's `required_reviewers`, compared exactly, so it is kept plain: ASCII letters, digits
 * and `. _ @ + -`, 1–64 characters, starting with a letter or digit (an e-mail address fits; no
 * spaces, no look-alike letters from other scripts in an audit row). Two forms are reserved so a
 * name is never read as something else: `system` in any case (the audit's actor for what the
 * orchestrator does by itself) and a leading `adm_` (token ids: `revoke <id|name>` takes either).
 */

export const ADMIN_TOKEN_NAME_MAX_LENGTH = 64;
/** Every admin token id starts so; no name may. */
export const ADMIN_TOKEN_ID_PREFIX = 'adm_';
/** The audit's actor when the orchestrator acts by itself (start-up, migrations). */
export const SYSTEM_ACTOR_NAME = 'system';

const NAME_SHAPE = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$/;

export const ADMIN_TOKEN_NAME_RULE =
  '1–64 characters: letters, digits, ".", "_", "@", "+" and "-", starting with a letter or digit';

/** Why `name` cannot name an admin token, or null when it can. */
export function adminTokenNameProblem(name: string): string | null {
  if (!NAME_SHAPE.test(name)) return ADMIN_TOKEN_NAME_RULE;
  if (name.toLowerCase() === SYSTEM_ACTOR_NAME) return `"${SYSTEM_ACTOR_NAME}" is reserved for what the orchestrator does by itself`;
  if (name.startsWith(ADMIN_TOKEN_ID_PREFIX)) return `"${ADMIN_TOKEN_ID_PREFIX}" starts token ids, not names`;
  return null;
}

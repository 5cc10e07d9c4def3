import { delimiter, isAbsolute } from 'node:path';
import { covers } from './bwrap-argv.js';

/** What every step needs to run at all; hiding any of these (or a parent) would break every step. */
const SYSTEM_PATHS = ['/', '/bin', '/dev', '/etc', '/lib', '/lib32', '/lib64', '/proc', '/sbin', '/usr'];

/**
 * The first path steps need that hiding `dir` would take away: a system directory or a directory
 * on the agent's PATH (where a step's tools are). Undefined when `dir` can be hidden.
 */
export function neededUnder(dir: string, path: string | undefined): string | undefined {
  const onPath = (path ?? '').split(delimiter).filter((p) => p && isAbsolute(p));
  return [...SYSTEM_PATHS, ...onPath].find((needed) => covers(dir, needed));
}

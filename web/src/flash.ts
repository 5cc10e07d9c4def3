/**
 * The answer of an action, in `#flash`: what the API said when it refused (its error.message), or
 * a short confirmation. An error stays until the next action or page; a confirmation fades.
 */
import { ApiError } from './api.js';

let clearTimer: number | undefined;
/** Set by an action that navigates (rerun opens the new run): its answer outlives that one page change. */
let keepOnNextPage = false;

export function flash(message: string, kind: 'ok' | 'error' = 'ok', survivesNavigation = false): void {
  keepOnNextPage = survivesNavigation;
  const box = document.getElementById('flash');
  if (!box) return;
  window.clearTimeout(clearTimer);
  box.textContent = message;
  box.className = `flash flash-${kind}`;
  box.hidden = false;
  if (kind === 'ok') clearTimer = window.setTimeout(clearFlash, 6000);
}

export function flashError(e: unknown): void {
  flash(e instanceof ApiError || e instanceof Error ? e.message : String(e), 'error');
}

/** `onNavigation`: the router leaving a page, which keeps a flash that asked to survive it. */
export function clearFlash(onNavigation = false): void {
  if (onNavigation && keepOnNextPage) {
    keepOnNextPage = false;
    return;
  }
  const box = document.getElementById('flash');
  if (!box) return;
  box.textContent = '';
  box.hidden = true;
}

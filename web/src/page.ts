/** What the router hands a page, and what a page hands back so the router can leave it cleanly. */
import type { Session } from './views.js';

export interface PageContext {
  session: Session;
  /** The hash route's parts after the page name: `#/runs/<id>/jobs/<jobId>` → [id, 'jobs', jobId]. */
  params: string[];
}

export interface Page {
  /** Close feeds and timers: the page is being left. */
  close(): void;
  /** Same page, other params (another job of the same run): true when the page took them itself. */
  update?(params: string[]): boolean;
}

export type PageFactory = (view: HTMLElement, ctx: PageContext) => Page;

/** Navigate inside the app. */
export function go(hash: string): void {
  if (location.hash !== hash) location.hash = hash;
}

/** A ticker for times that move on their own (durations of running jobs, `5s ago`). */
export function every(ms: number, tick: () => void): () => void {
  const id = window.setInterval(tick, ms);
  return () => window.clearInterval(id);
}

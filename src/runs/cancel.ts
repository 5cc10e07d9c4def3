import type { ActorSystem } from '../actors/index.js';
import { runRef } from './run-actor.js';

/** How long an operator's cancel waits for the run's actor to answer before it is reported anyway. */
export const CANCEL_ASK_MS = 10_000;

/**
 * An operator's cancel, asked of the run's actor: graceful, or with `force` at once.
 *
 * Policy: an ask that times out is reported as accepted. The message stays queued in the actor's
 * mailbox after the timeout — the actor is only busy — and it will still cancel when it gets
 * there, so "refused" would be wrong. Only the actor's own answer (`ok: false`, e.g. the run
 * already finished) refuses, with its reason.
 */
export async function cancelRunVia(system: ActorSystem, runId: string, force: boolean): Promise<{ accepted: boolean; reason?: string }> {
  const reason = force ? 'cancelled by an operator (forced)' : 'cancelled by an operator';
  const reply = await runRef(system, runId)
    .ask<{ ok: boolean; ignored?: string }>({ type: 'cancel', force, reason }, CANCEL_ASK_MS)
    .catch(() => ({ ok: true }) as const);
  return reply.ok ? { accepted: true } : { accepted: false, reason: reply.ignored };
}

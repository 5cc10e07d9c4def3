import { z } from 'zod';
import type { AdminDeps } from './deps.js';
import { apiError, parseBody, type RouteTable } from './http.js';

/** `removed by retention on 2026-12-07`: the day is what an operator needs; the API's `…RemovedAt` has the instant. */
export const removedOn = (at: Date): string => `removed by retention on ${at.toISOString().slice(0, 10)}`;

/**
 * Under an hour is refused: a run that has just finished may still get its last log lines from an
 * agent replaying its buffer, and a delivery just processed may still be read by an operator.
 */
export const PURGE_MIN_SECONDS = 3600;

const purgeBody = z
  .strictObject({
    olderThanSeconds: z.number().int().min(PURGE_MIN_SECONDS, `must be at least ${PURGE_MIN_SECONDS} (1h)`).max(100 * 365 * 86_400),
    payloads: z.boolean().default(true),
    logs: z.boolean().default(true),
  })
  .refine((b) => b.payloads || b.logs, { message: 'choose payloads, logs or both', path: ['payloads'] });

/**
 * `POST /runs/purge`: what the retention duty does, at once and with the caller's cutoff: the raw
 * bodies of deliveries received before it (never one still `received`) and the step logs of runs
 * finished before it, batch after batch until none is left. The rows stay. Audited after the work.
 */
export function retentionRoutes(deps: AdminDeps): RouteTable {
  return [
    ['POST', '/runs/purge', async (req) => {
      const body = await parseBody(req, purgeBody);
      if (!deps.purgeRetention) throw apiError(501, 'not_available', 'retention is not wired on this node');
      const removed = await deps.purgeRetention({ olderThanMs: body.olderThanSeconds * 1000, payloads: body.payloads, logs: body.logs });
      const reply = { before: removed.before.toISOString(), payloads: removed.payloads, logRuns: removed.logRuns, logBytes: removed.logBytes };
      await deps.store.audit.record(
        {
          actor: { name: req.caller.name, tokenId: req.caller.tokenId },
          action: 'retention.purge',
          subject: { id: 'retention', name: null },
          details: { olderThanSeconds: body.olderThanSeconds, kinds: [...(body.payloads ? ['payloads'] : []), ...(body.logs ? ['logs'] : [])], ...reply },
        },
        new Date(deps.clock?.now() ?? Date.now()),
      );
      return { status: 200, body: reply };
    }],
  ];
}

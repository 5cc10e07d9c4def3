import { Command, InvalidArgumentError } from 'commander';
import { apiFor, globals } from './context.js';
import { durationSeconds } from './durations.js';
import { printJson } from './output.js';

/** The API's floor (PURGE_MIN_SECONDS): a purge never reaches into the last hour. */
const MIN_SECONDS = 3600;

interface PurgeReply {
  before: string;
  payloads: number;
  logRuns: number;
  logBytes: number;
}

function olderThan(v: string): number {
  const seconds = durationSeconds(v);
  if (seconds < MIN_SECONDS) throw new InvalidArgumentError('at least 1h (such as 12h or 30d)');
  return seconds;
}

/**
 * `runs purge --older-than 30d [--logs] [--payloads]`: what the retention duty does, now and with
 * this cutoff. Neither flag means both; the event log rows and the runs stay.
 */
export function purgeCommand(): Command {
  return new Command('purge')
    .description('remove webhook bodies and finished runs\' step logs older than a duration now (the event log rows and the runs stay)')
    .requiredOption('--older-than <duration>', 'remove what is older than this: 12h, 30d, … (at least 1h)', olderThan)
    .option('--logs', 'step logs of runs finished before then')
    .option('--payloads', 'raw bodies of deliveries received before then (never one not processed yet)')
    .action(async (o: { olderThan: number; logs?: boolean; payloads?: boolean }, cmd: Command) => {
      const both = !o.logs && !o.payloads;
      const reply = await apiFor(cmd).call<PurgeReply>('POST', '/runs/purge', {
        olderThanSeconds: o.olderThan,
        payloads: both || Boolean(o.payloads),
        logs: both || Boolean(o.logs),
      });
      if (globals(cmd).json) return printJson(reply);
      process.stdout.write(`removed what was older than ${reply.before}:\n`);
      if (both || o.payloads) process.stdout.write(`  webhook payloads: ${reply.payloads}\n`);
      if (both || o.logs) process.stdout.write(`  step logs: ${reply.logRuns} run(s), ${reply.logBytes} bytes\n`);
    });
}

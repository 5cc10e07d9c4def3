/**
 * `kici-admin rotate-key [--batch-size N]`: re-seal every value another master key sealed with the
 * orchestrator's current `KICI_SECRET_KEY` (over `POST /api/v1/admin/rotate-key`), then print how
 * many values moved and how many are left, per table. Run it after restarting every coordinator
 * with the new key as KICI_SECRET_KEY and the previous one as KICI_SECRET_KEY_OLD; it can be run
 * again at any time (after a crash it continues). Exit 0 when nothing is left (KICI_SECRET_KEY_OLD
 * can go), 1 when some values still carry another key (a node still sealing with the old key, or
 * values written meanwhile: run it again). No key or value is ever printed.
 */
import { Command, InvalidArgumentError } from 'commander';
import type { RotationReport } from '../../secrets/index.js';
import { apiFor, globals } from './context.js';
import { ExitStatus } from './exit-status.js';
import { printJson, printTable } from './output.js';

function batchSize(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new InvalidArgumentError('a whole number from 1 to 1000');
  return n;
}

export function rotateKeyCommand(): Command {
  return new Command('rotate-key')
    .description('re-seal every secret sealed with an older master key (KICI_SECRET_KEY_OLD) with the current one; resumable, idempotent')
    .option('--batch-size <n>', 'values re-sealed per transaction (default 100)', batchSize)
    .action(async (o: { batchSize?: number }, cmd: Command) => {
      const report = await apiFor(cmd).call<RotationReport>('POST', '/admin/rotate-key', o.batchSize ? { batchSize: o.batchSize } : {});
      if (globals(cmd).json) printJson(report);
      else {
        printTable(report.tables.map((t) => ({ ...t })), ['table', 'moved', 'skipped', 'left']);
        process.stdout.write(
          report.complete
            ? `re-sealed ${report.moved} value${report.moved === 1 ? '' : 's'} with key version ${report.keyVersion}; nothing is left: remove KICI_SECRET_KEY_OLD and restart\n`
            : `re-sealed ${report.moved} value${report.moved === 1 ? '' : 's'} with key version ${report.keyVersion}; ${report.left} still sealed with another key: run kici-admin rotate-key again\n`,
        );
        // In a cluster the other coordinators were handed the new key; on completion they dropped the old one.
        if (report.oldKeyDropped !== undefined) process.stdout.write(`the old key is dropped on ${report.oldKeyDropped} coordinator${report.oldKeyDropped === 1 ? '' : 's'} (this one included)\n`);
      }
      if (!report.complete) throw new ExitStatus(1);
    });
}

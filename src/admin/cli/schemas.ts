import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { globals } from './context.js';
import { printJson } from './output.js';
import { UsageError } from './secret-input.js';

/** A lock file that was read but does not pass: exit 1, the message naming the field's path. */
export class LockfileInvalid extends Error {}

/**
 * Commands that need no orchestrator: the lock file's JSON Schema and a local check of a lock file,
 * and the agent protocol's JSON Schema. The rooms that own the schemas are loaded only when asked.
 */
export function lockfileCommands(): Command {
  const lockfile = new Command('lockfile').description('the lock file (.kici/kici.lock.json)');

  lockfile
    .command('schema')
    .description("print the lock file's JSON Schema (for editors and validators)")
    .action(async () => {
      const { lockfileJsonSchema } = await import('../../workflows/index.js');
      printJson(lockfileJsonSchema());
    });

  lockfile
    .command('check <file>')
    .description('validate a lock file as the orchestrator would; prints "ok" or the first bad field')
    .action(async (file: string, _o, cmd: Command) => {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (e) {
        throw new UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      const { parseLockfile } = await import('../../workflows/index.js');
      const result = parseLockfile(text);
      if (globals(cmd).json) {
        printJson(result.ok ? { ok: true, workflows: result.lockfile.workflows.map((w) => w.name) } : { ok: false, error: result.error });
        if (!result.ok) throw new LockfileInvalid(`${file}: ${result.error}`);
        return;
      }
      if (!result.ok) throw new LockfileInvalid(`${file}: ${result.error}`);
      process.stdout.write('ok\n');
    });

  return lockfile;
}

export function protocolCommands(): Command {
  const protocol = new Command('protocol').description('the agent ↔ orchestrator protocol');
  protocol
    .command('schema')
    .description('print the JSON Schema of every agent-link message, both directions, with the close codes')
    .action(async () => {
      const { protocolJsonSchema } = await import('../../transport/index.js');
      printJson(protocolJsonSchema());
    });
  return protocol;
}

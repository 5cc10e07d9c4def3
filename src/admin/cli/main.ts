import { Command, CommanderError } from 'commander';
import { adminTokenCommands } from './admin-tokens.js';
import { agentCommands } from './agent-tokens.js';
import { ApiError } from './api-client.js';
import { auditCommand } from './audit.js';
import { backendCommands } from './backends.js';
import { clusterCommands } from './cluster.js';
import { joinCommand } from './membership.js';
import { rotateKeyCommand } from './master-key.js';
import { dbCommands } from './db.js';
import { environmentCommands } from './environments.js';
import { eventLogCommands } from './event-log.js';
import { ExitStatus } from './exit-status.js';
import { peerCommands } from './peers.js';
import { runCommands } from './runs.js';
import { secretCommands } from './secrets.js';
import { lockfileCommands, protocolCommands } from './schemas.js';
import { UsageError } from './secret-input.js';
import { sourceCommands } from './sources.js';
import { addSourceLifecycleCommands } from './source-lifecycle.js';
import { storageCommands } from './storage.js';

export function adminProgram(): Command {
  const program = new Command('kici-admin')
    .description('operate a kici orchestrator')
    .option('--url <url>', 'orchestrator URL (KICI_ADMIN_URL)')
    .option('--token <token>', 'admin token (KICI_ADMIN_TOKEN)')
    .option('--data-dir <dir>', "a local orchestrator's data directory (KICI_DATA_DIR, default ./.kici-data)")
    .option('--json', "print the API's objects as JSON")
    .showHelpAfterError()
    .exitOverride()
    // `source add git --url/--token` mean the repository's URL and clone token: without positional
    // options the program-level --url/--token would swallow them wherever they stand.
    .enablePositionalOptions();
  const commands = [addSourceLifecycleCommands(sourceCommands()), environmentCommands(), agentCommands(), peerCommands(), clusterCommands(), joinCommand(), runCommands(), dbCommands()];
  commands.push(adminTokenCommands(), auditCommand(), eventLogCommands(), lockfileCommands(), protocolCommands());
  commands.push(secretCommands());
  commands.push(backendCommands());
  commands.push(rotateKeyCommand());
  commands.push(storageCommands());
  for (const cmd of commands) program.addCommand(cmd);
  prepareSubcommands(program);
  return program;
}

// Subcommands need their own exitOverride so usage errors anywhere in the tree reach `runAdmin`.
// Every command also takes --json after its name (`kici-admin runs show ID --json`), since the
// program's own options now stop at the first command name.
function prepareSubcommands(cmd: Command): void {
  for (const sub of cmd.commands) {
    sub.exitOverride().showHelpAfterError();
    if (sub.commands.length === 0 && !sub.options.some((o) => o.long === '--json')) sub.option('--json', "print the API's objects as JSON");
    prepareSubcommands(sub);
  }
}

/** Run kici-admin with argv; returns the process exit code (0 ok, 1 failure, 2 usage). */
export async function runAdmin(argv: string[]): Promise<number> {
  const program = adminProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help asked for (`--help`, `help`) exits 0. Everything else is bad usage, already explained by
      // commander, including no command at all (`kici-admin`, `kici-admin source`): commander prints
      // the usage on stderr then and marks it with a non-zero code, which was once taken for help.
      return e.exitCode === 0 ? 0 : 2;
    }
    if (e instanceof ExitStatus) return e.code;
    if (e instanceof UsageError) {
      process.stderr.write(`kici-admin: ${e.message}\n`);
      return 2;
    }
    if (e instanceof ApiError) {
      process.stderr.write(`kici-admin: ${e.message}${e.status ? ` (HTTP ${e.status})` : ''}\n`);
      return 1;
    }
    process.stderr.write(`kici-admin: ${(e as Error).message}\n`);
    return 1;
  }
}

/**
 * `kici-admin env var …` and `env override …`: an environment's variables and its per-source
 * overrides, over `/api/v1/environments/:ref/variables|overrides`. The environment is named as by
 * the other `env` commands (its name with `--org`, or its id), a source by its name or id.
 * A value is given on the command line, as `@file`, with `--from-env VAR` or `--stdin`.
 */
import type { Command } from 'commander';
import { apiFor, globals } from './context.js';
import { printJson, printTable } from './output.js';
import { resolveSecret, UsageError } from './secret-input.js';

interface Owner {
  id: string;
  orgId: string;
  name: string;
}

interface VariableView extends Record<string, unknown> {
  key: string;
  value: string;
  locked: boolean;
}

interface OverrideView extends Record<string, unknown> {
  source: string;
  sourceName: string | null;
  key: string;
  value: string;
  ignored: boolean;
}

type SetVariableReply = VariableView & { environment: Owner; created: boolean; ignoredOverrides?: number; message?: string };
type SetOverrideReply = OverrideView & { environment: Owner; created: boolean; message?: string };

const VALUE_MODES = 'VALUE, @file (read the file), --from-env VAR or --stdin';

/** `/environments/<ref>/<rest>?org=…` with every part encoded (a name may hold `/`). */
function pathOf(ref: string, org: string | undefined, ...rest: string[]): string {
  const tail = rest.map(encodeURIComponent).join('/');
  return `/environments/${encodeURIComponent(ref)}/${tail}${org ? `?org=${encodeURIComponent(org)}` : ''}`;
}

/** The value of a `set`: exactly one of the positional value, `@file`, `--from-env`, `--stdin`. */
async function valueOf(value: string | undefined, o: { fromEnv?: string; stdin?: boolean }): Promise<string> {
  const resolved = await resolveSecret({ value, fromEnv: o.fromEnv, stdin: o.stdin }, 'the value');
  if (resolved === undefined) throw new UsageError(`give the value: ${VALUE_MODES}`);
  return resolved;
}

/** A value in a table: on one line, long ones cut (`--json` prints them whole). */
function cell(value: string): string {
  const oneLine = value.replace(/\r?\n/g, '\\n');
  return oneLine.length > 60 ? `${oneLine.slice(0, 59)}…` : oneLine;
}

const where = (e: Owner) => `environment ${e.name} (${e.orgId})`;

function warn(message: string): void {
  process.stderr.write(`kici-admin: warning: ${message}\n`);
}

/** Adds `var` and `override` to `kici-admin env`. */
export function addEnvironmentVariableCommands(env: Command): void {
  const variable = env.command('var').description("an environment's variables, given to the jobs that deploy there");

  variable
    .command('set <environment> <key> [value]')
    .description(`set a variable (create or replace); the value: ${VALUE_MODES}`)
    .option('--org <org>', 'organisation id (needed to name the environment)')
    .option('--locked', 'lock it: sources cannot override it')
    .option('--unlocked', 'unlock it (a replaced variable otherwise keeps its lock)')
    .option('--from-env <var>', 'read the value from this environment variable')
    .option('--stdin', 'read the value from standard input (one trailing newline dropped)')
    .action(async (ref: string, key: string, value: string | undefined, o, cmd: Command) => {
      if (o.locked && o.unlocked) throw new UsageError('--locked and --unlocked contradict each other');
      const body = { value: await valueOf(value, o), ...(o.locked ? { locked: true } : o.unlocked ? { locked: false } : {}) };
      const set = await apiFor(cmd).call<SetVariableReply>('PUT', pathOf(ref, o.org, 'variables', key), body);
      if (set.message) warn(set.message);
      if (globals(cmd).json) return printJson(set);
      process.stdout.write(`${set.created ? 'created' : 'updated'} variable ${set.key} in ${where(set.environment)}${set.locked ? ', locked' : ''}\n`);
    });

  variable
    .command('unset <environment> <key>')
    .description('remove a variable')
    .option('--org <org>', 'organisation id (needed to name the environment)')
    .action(async (ref: string, key: string, o, cmd: Command) => {
      const gone = await apiFor(cmd).call<{ environment: Owner; key: string }>('DELETE', pathOf(ref, o.org, 'variables', key));
      if (globals(cmd).json) return printJson(gone);
      process.stdout.write(`removed variable ${gone.key} from ${where(gone.environment)}\n`);
    });

  variable
    .command('list <environment>')
    .description("an environment's variables, by name")
    .option('--org <org>', 'organisation id (needed to name the environment)')
    .option('--locked', 'only the locked ones')
    .action(async (ref: string, o, cmd: Command) => {
      const list = await apiFor(cmd).call<{ variables: VariableView[] }>('GET', pathOf(ref, o.org, 'variables'));
      const shown = o.locked ? list.variables.filter((v) => v.locked) : list.variables;
      if (globals(cmd).json) return printJson(shown);
      printTable(shown.map((v) => ({ ...v, value: cell(v.value) })), ['key', 'value', 'locked']);
    });

  const override = env.command('override').description("one source's values for an environment's variables (not for locked ones)");

  override
    .command('set <environment> <key> [value]')
    .description(`set a source's override of a key (create or replace); the value: ${VALUE_MODES}`)
    .requiredOption('--source <source>', 'the source (name or id) whose deliveries it applies to')
    .option('--org <org>', 'organisation id (needed to name the environment)')
    .option('--from-env <var>', 'read the value from this environment variable')
    .option('--stdin', 'read the value from standard input (one trailing newline dropped)')
    .action(async (ref: string, key: string, value: string | undefined, o, cmd: Command) => {
      const body = { value: await valueOf(value, o) };
      const set = await apiFor(cmd).call<SetOverrideReply>('PUT', pathOf(ref, o.org, 'overrides', o.source, key), body);
      if (set.ignored) warn(set.message ?? `${set.key} is locked in ${set.environment.name}: runs ignore this override`);
      if (globals(cmd).json) return printJson(set);
      const state = set.ignored ? ' (ignored while the variable is locked)' : '';
      process.stdout.write(`${set.created ? 'created' : 'updated'} override of ${set.key} for source ${set.sourceName ?? set.source} in ${where(set.environment)}${state}\n`);
    });

  override
    .command('unset <environment> <key>')
    .description("remove a source's override of a key")
    .requiredOption('--source <source>', 'the source (name or id)')
    .option('--org <org>', 'organisation id (needed to name the environment)')
    .action(async (ref: string, key: string, o, cmd: Command) => {
      const gone = await apiFor(cmd).call<{ environment: Owner; key: string; source: string; sourceName: string | null }>('DELETE', pathOf(ref, o.org, 'overrides', o.source, key));
      if (globals(cmd).json) return printJson(gone);
      process.stdout.write(`removed override of ${gone.key} for source ${gone.sourceName ?? gone.source} from ${where(gone.environment)}\n`);
    });

  override
    .command('list <environment>')
    .description("an environment's overrides, by source then key; IGNORED marks those of locked keys")
    .option('--source <source>', 'only this source (name or id)')
    .option('--org <org>', 'organisation id (needed to name the environment)')
    .action(async (ref: string, o, cmd: Command) => {
      let path = pathOf(ref, o.org, 'overrides');
      if (o.source !== undefined) path += `${o.org ? '&' : '?'}source=${encodeURIComponent(o.source)}`;
      const list = await apiFor(cmd).call<{ overrides: OverrideView[] }>('GET', path);
      if (globals(cmd).json) return printJson(list.overrides);
      printTable(
        list.overrides.map((v) => ({ source: v.sourceName ?? '(deleted)', key: v.key, value: cell(v.value), ignored: v.ignored ? 'yes (locked)' : 'no', sourceId: v.source })),
        ['source', 'key', 'value', 'ignored', 'sourceId'],
      );
    });
}

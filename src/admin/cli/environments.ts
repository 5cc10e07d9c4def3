import { Command, InvalidArgumentError, Option } from 'commander';
import { apiFor, globals } from './context.js';
import { addEnvironmentBindingCommands } from './environment-bindings.js';
import { addEnvironmentVariableCommands } from './environment-variables.js';
import { printFields, printJson, printTable } from './output.js';
import { UsageError } from './secret-input.js';

interface EnvironmentView extends Record<string, unknown> {
  id: string;
  orgId: string;
  name: string;
  type: 'fixed' | 'glob';
  globPattern: string | null;
  enabled: boolean;
  branchRestrictions: string[];
  triggerTypeFilters: string[];
  repoPatterns: string[];
  minimumTrust: string | null;
  requiredReviewers: string[];
  waitTimerSeconds: number | null;
  concurrencyLimit: number | null;
  concurrencyStrategy: string;
  holdExpirySeconds: number;
}

const wholeNumber = (min: number) => (v: string) => {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || n < min) throw new InvalidArgumentError(`expected a whole number ≥ ${min}, got "${v}"`);
  return n;
};

/** Repeatable list flags (`--branch main --branch 'release/*'`); `--no-branch` (update) leaves `false`. */
const collect = (v: string, previous: unknown) => [...(Array.isArray(previous) ? previous : []), v];

/**
 * The flags of every protection rule, shared by create and update. `clearable` adds the update's
 * `--no-…` forms: an empty list, or no timer, limit or trust floor.
 */
function withRuleOptions(cmd: Command, clearable: boolean): Command {
  cmd
    .option('--glob <pattern>', "make it a glob environment matching names like this picomatch glob ('review/*': one segment, 'review/**': any depth)")
    .option('--branch <pattern>', 'allow only target branches matching this glob (repeat for more)', collect)
    .option('--trigger-type <pattern>', 'allow only events of this type, e.g. push or pull_request (repeat for more)', collect)
    .option('--repo <pattern>', 'allow only repositories matching this glob (repeat for more)', collect)
    .addOption(new Option('--minimum-trust <tier>', "hold pull requests whose author's trust tier is below this").choices(['known', 'trusted']))
    .option('--reviewer <name>', 'an admin token name whose approval a job needs (repeat for more; all must approve)', collect)
    .option('--wait-timer <seconds>', 'wait this long before a job starts', wholeNumber(0))
    .option('--concurrency-limit <n>', 'at most this many jobs running in the environment at once (0 pauses it)', wholeNumber(0))
    .addOption(new Option('--concurrency-strategy <strategy>', 'waiters over the limit: queue (in order) or cancel-pending (the newest replaces the others)').choices(['queue', 'cancel-pending']))
    .option('--hold-expiry <seconds>', 'a hold not decided in this long expires and its job is cancelled (default 3600)', wholeNumber(1));
  if (clearable) {
    cmd
      .option('--no-glob', 'make it a fixed environment (its name only)')
      .option('--no-branch', 'allow every branch')
      .option('--no-trigger-type', 'allow every event type')
      .option('--no-repo', 'allow every repository')
      .option('--no-minimum-trust', 'no trust floor')
      .option('--no-reviewer', 'no review')
      .option('--no-wait-timer', 'no wait')
      .option('--no-concurrency-limit', 'no concurrency limit');
  }
  return cmd;
}

/** The API body of the rule flags given: a list flag or a `--no-…` flag sets, an absent one leaves. */
function rulesOf(o: Record<string, unknown>): Record<string, unknown> {
  const list = (v: unknown) => (v === false ? [] : v);
  const nullable = (v: unknown) => (v === false ? null : v);
  const body: Record<string, unknown> = {
    globPattern: nullable(o.glob),
    branchRestrictions: list(o.branch),
    triggerTypeFilters: list(o.triggerType),
    repoPatterns: list(o.repo),
    minimumTrust: nullable(o.minimumTrust),
    requiredReviewers: list(o.reviewer),
    waitTimerSeconds: nullable(o.waitTimer),
    concurrencyLimit: nullable(o.concurrencyLimit),
    concurrencyStrategy: o.concurrencyStrategy,
    holdExpirySeconds: o.holdExpiry,
  };
  return Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined));
}

/** `kici-admin env …`: deployment environments and their protection rules, over `/api/v1/environments`. */
export function environmentCommands(): Command {
  const env = new Command('env').description('deployment environments and their protection rules');

  withRuleOptions(
    env
      .command('create <name>')
      .description('create an environment; rules not given take their defaults')
      .requiredOption('--org <org>', 'organisation id')
      .option('--disabled', 'create it disabled: jobs naming it are rejected'),
    false,
  ).action(async (name: string, o, cmd: Command) => {
    const body = { orgId: o.org, name, ...(o.disabled ? { enabled: false } : {}), ...rulesOf(o) };
    show(cmd, await apiFor(cmd).call<EnvironmentView>('POST', '/environments', body));
  });

  env
    .command('list')
    .description("an organisation's environments, oldest first")
    .requiredOption('--org <org>', 'organisation id')
    .action(async (o, cmd: Command) => {
      const list = await apiFor(cmd).call<{ environments: EnvironmentView[] }>('GET', `/environments?org=${encodeURIComponent(o.org)}`);
      if (globals(cmd).json) return printJson(list.environments);
      printTable(list.environments.map(readable), ['name', 'type', 'globPattern', 'enabled', 'branchRestrictions', 'requiredReviewers', 'waitTimerSeconds', 'concurrencyLimit', 'id']);
    });

  env
    .command('get <environment>')
    .description('show one environment, by name (with --org) or id')
    .option('--org <org>', 'organisation id (needed to name it)')
    .action(async (ref: string, o, cmd: Command) => {
      show(cmd, await apiFor(cmd).call<EnvironmentView>('GET', environmentPath(ref, o.org)));
    });

  withRuleOptions(
    env
      .command('update <environment>')
      .description('change an environment, by name (with --org) or id; only the options given change')
      .option('--org <org>', 'organisation id (needed to name it)')
      .option('--name <name>', 'rename it')
      .option('--enabled', 'enable it')
      .option('--disabled', 'disable it: jobs naming it are rejected'),
    true,
  ).action(async (ref: string, o, cmd: Command) => {
    if (o.enabled && o.disabled) throw new UsageError('--enabled and --disabled contradict each other');
    const enabled = o.enabled ? true : o.disabled ? false : undefined;
    const body = { ...(o.name !== undefined ? { name: o.name } : {}), ...(enabled !== undefined ? { enabled } : {}), ...rulesOf(o) };
    if (Object.keys(body).length === 0) throw new UsageError('nothing to change: give at least one option (see --help)');
    show(cmd, await apiFor(cmd).call<EnvironmentView>('PATCH', environmentPath(ref, o.org), body));
  });

  env
    .command('delete <environment>')
    .description('delete an environment with its variables; refused while jobs wait on its holds')
    .option('--org <org>', 'organisation id (needed to name it)')
    .option('--yes', 'confirm the deletion (required)')
    .action(async (ref: string, o, cmd: Command) => {
      if (!o.yes) throw new UsageError(`refusing to delete ${ref} without --yes`);
      const deleted = await apiFor(cmd).call<EnvironmentView>('DELETE', environmentPath(ref, o.org));
      if (globals(cmd).json) return printJson(deleted);
      process.stdout.write(`deleted environment ${deleted.name} (${deleted.orgId}, ${deleted.id})\n`);
    });

  addEnvironmentVariableCommands(env);
  addEnvironmentBindingCommands(env);
  return env;
}

function environmentPath(ref: string, org: string | undefined): string {
  return `/environments/${encodeURIComponent(ref)}${org ? `?org=${encodeURIComponent(org)}` : ''}`;
}

/** The record as an operator reads it: empty lists and nulls say what they mean. */
function readable(e: EnvironmentView): Record<string, unknown> {
  const list = (v: string[], none: string) => (v.length ? v.join(',') : none);
  return {
    ...e,
    globPattern: e.globPattern ?? '-',
    branchRestrictions: list(e.branchRestrictions, 'any'),
    triggerTypeFilters: list(e.triggerTypeFilters, 'any'),
    repoPatterns: list(e.repoPatterns, 'any'),
    minimumTrust: e.minimumTrust ?? 'none',
    requiredReviewers: list(e.requiredReviewers, 'none'),
    waitTimerSeconds: e.waitTimerSeconds ?? 'none',
    concurrencyLimit: e.concurrencyLimit === null ? 'none' : `${e.concurrencyLimit} (${e.concurrencyStrategy})`,
  };
}

function show(cmd: Command, e: EnvironmentView): void {
  if (globals(cmd).json) return printJson(e);
  printFields(readable(e));
}

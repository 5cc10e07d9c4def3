/**
 * `kici-admin env bind|unbind|bindings`: which secret scopes an environment's jobs get their
 * secrets from, over `/api/v1/environments/:ref/bindings`. The environment is named as by the other
 * `env` commands (its name with `--org`, or its id); a binding by its scope pattern (and backend).
 */
import type { Command } from 'commander';
import { apiFor, globals } from './context.js';
import { printJson, printTable } from './output.js';
import { UsageError } from './secret-input.js';

interface Owner {
  id: string;
  orgId: string;
  name: string;
}

interface BindingView extends Record<string, unknown> {
  id: string;
  scopePattern: string;
  backend: string | null;
  createdAt: string;
}

/** `/environments/<ref>/bindings[/<id>]?org=…` with every part encoded (a name may hold `/`). */
function bindingsPath(ref: string, org: string | undefined, id?: string): string {
  return `/environments/${encodeURIComponent(ref)}/bindings${id ? `/${encodeURIComponent(id)}` : ''}${org ? `?org=${encodeURIComponent(org)}` : ''}`;
}

const where = (e: Owner) => `environment ${e.name} (${e.orgId})`;
const spelled = (b: { scopePattern: string; backend: string | null }) => `${b.scopePattern} (${b.backend === null ? 'any backend' : `backend ${b.backend}`})`;

/**
 * The binding `unbind` means: with `--backend`, that backend's; without, the any-backend one (as
 * `bind` without `--backend` made it), else the pattern's only binding. Several: give `--backend`.
 */
function bindingToRemove(bindings: BindingView[], pattern: string, backend: string | undefined): BindingView | undefined {
  const same = bindings.filter((b) => b.scopePattern === pattern);
  if (backend !== undefined) return same.find((b) => b.backend === backend);
  const anyBackend = same.find((b) => b.backend === null);
  if (anyBackend || same.length <= 1) return anyBackend ?? same[0];
  throw new UsageError(`${pattern} is bound for several backends (${same.map((b) => b.backend).join(', ')}): give --backend`);
}

/** Adds `bind`, `unbind` and `bindings` to `kici-admin env`. */
export function addEnvironmentBindingCommands(env: Command): void {
  env
    .command('bind <environment> <scope-pattern>')
    .description("let the environment's jobs take secrets from the scopes this picomatch pattern matches ('aws/**': aws and every scope under it; 'aws/prod': that scope only)")
    .option('--backend <backend>', 'only scopes of this secret backend (default: any backend)')
    .option('--org <org>', 'organisation id (needed to name the environment)')
    .action(async (ref: string, pattern: string, o, cmd: Command) => {
      const body = { scope: pattern, ...(o.backend !== undefined ? { backend: o.backend } : {}) };
      const bound = await apiFor(cmd).call<BindingView & { environment: Owner }>('POST', bindingsPath(ref, o.org), body);
      if (globals(cmd).json) return printJson(bound);
      process.stdout.write(`bound ${where(bound.environment)} to ${spelled(bound)}; binding ${bound.id}\n`);
    });

  env
    .command('unbind <environment> <scope-pattern>')
    .description('remove a binding, named by its scope pattern (with --backend: the binding limited to that backend)')
    .option('--backend <backend>', 'the binding limited to this backend (default: the any-backend one, or the only one)')
    .option('--org <org>', 'organisation id (needed to name the environment)')
    .action(async (ref: string, pattern: string, o, cmd: Command) => {
      const api = apiFor(cmd);
      const list = await api.call<{ environment: Owner; bindings: BindingView[] }>('GET', bindingsPath(ref, o.org));
      const target = bindingToRemove(list.bindings, pattern, o.backend);
      if (!target) throw new Error(`${where(list.environment)} has no binding ${pattern}${o.backend !== undefined ? ` for backend ${o.backend}` : ''}`);
      const gone = await api.call<BindingView & { environment: Owner }>('DELETE', bindingsPath(list.environment.id, undefined, target.id));
      if (globals(cmd).json) return printJson(gone);
      process.stdout.write(`unbound ${spelled(gone)} from ${where(gone.environment)}\n`);
    });

  env
    .command('bindings <environment>')
    .description("an environment's bindings: the scope patterns its jobs take secrets from, oldest first")
    .option('--org <org>', 'organisation id (needed to name the environment)')
    .action(async (ref: string, o, cmd: Command) => {
      const list = await apiFor(cmd).call<{ environment: Owner; bindings: BindingView[] }>('GET', bindingsPath(ref, o.org));
      if (globals(cmd).json) return printJson(list.bindings);
      printTable(list.bindings.map((b) => ({ ...b, backend: b.backend ?? 'any' })), ['scopePattern', 'backend', 'createdAt', 'id']);
    });
}

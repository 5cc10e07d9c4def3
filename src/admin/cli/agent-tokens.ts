import { Command, InvalidArgumentError } from 'commander';
import { DEFAULT_AGENT_SLOT_CAP, MAX_AGENT_SLOT_CAP } from '../../vocabulary/index.js';
import { apiFor, globals } from './context.js';
import { printFields, printJson, printTable } from './output.js';

interface AgentTokenView extends Record<string, unknown> {
  id: string;
  name: string;
  prefix: string;
  maxConcurrency?: number | null;
  token?: string;
}

const slotCap = (v: string) => {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || n < 1 || n > MAX_AGENT_SLOT_CAP) throw new InvalidArgumentError(`expected a whole number from 1 to ${MAX_AGENT_SLOT_CAP}, got "${v}"`);
  return n;
};

/** A token's slot cap as an operator reads it: the default is named, not left blank. */
const withCap = (t: AgentTokenView) => ({ ...t, maxConcurrency: t.maxConcurrency ?? `${DEFAULT_AGENT_SLOT_CAP} (default)` });

export function agentCommands(): Command {
  const agent = new Command('agent').description('agents and the tokens they connect with');
  const token = new Command('token').description('agent tokens');

  token
    .command('create')
    .description('create an agent token; it is shown once and stored only as a hash')
    .option('--name <name>', 'a name to recognise it by', 'agent')
    .option('--labels <list>', 'comma-separated labels agents using it may claim (default: any)')
    .option('--max-concurrency <n>', `the most slots an agent using it may declare (default: ${DEFAULT_AGENT_SLOT_CAP}); its frame budget grows with them`, slotCap)
    .action(async (o, cmd: Command) => {
      const labels = o.labels ? String(o.labels).split(',').map((s) => s.trim()).filter(Boolean) : undefined;
      const created = await apiFor(cmd).call<AgentTokenView>('POST', '/agent-tokens', { name: o.name, labels, maxConcurrency: o.maxConcurrency });
      if (globals(cmd).json) return printJson(created);
      printFields(withCap(created), ['id', 'name', 'prefix', 'maxConcurrency']);
      process.stdout.write(`\ntoken (shown once): ${created.token}\n`);
    });

  token
    .command('list')
    .description('list agent tokens (prefixes only)')
    .action(async (_o, cmd: Command) => {
      const list = await apiFor(cmd).call<{ tokens: AgentTokenView[] }>('GET', '/agent-tokens');
      if (globals(cmd).json) return printJson(list.tokens);
      printTable(list.tokens.map(withCap), ['id', 'name', 'prefix', 'labels', 'maxConcurrency', 'createdAt', 'revokedAt']);
    });

  token
    .command('revoke <tokenId>')
    .description('revoke a token; agents connected with it are disconnected at once')
    .action(async (id: string, _o, cmd: Command) => {
      const revoked = await apiFor(cmd).call<AgentTokenView>('POST', `/agent-tokens/${encodeURIComponent(id)}/revoke`);
      if (globals(cmd).json) return printJson(revoked);
      process.stdout.write(`revoked ${revoked.id} (${revoked.disconnected ?? 0} agent(s) disconnected)\n`);
    });

  agent
    .command('list')
    .description('the agents connected now: labels, slots in use, version, node')
    .action(async (_o, cmd: Command) => {
      const list = await apiFor(cmd).call<{ agents: Record<string, unknown>[] }>('GET', '/agents');
      if (globals(cmd).json) return printJson(list.agents);
      const rows = list.agents.map((a) => ({ ...a, slots: `${a.slotsInUse}/${a.maxConcurrency}` }));
      printTable(rows, ['id', 'labels', 'slots', 'version', 'hostname', 'node', 'connectedAt']);
    });

  agent.addCommand(token);
  return agent;
}

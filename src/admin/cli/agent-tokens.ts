import { Command } from 'commander';
import { apiFor, globals } from './context.js';
import { printFields, printJson, printTable } from './output.js';

interface AgentTokenView extends Record<string, unknown> {
  id: string;
  name: string;
  prefix: string;
  token?: string;
}

export function agentCommands(): Command {
  const agent = new Command('agent').description('agents and the tokens they connect with');
  const token = new Command('token').description('agent tokens');

  token
    .command('create')
    .description('create an agent token; it is shown once and stored only as a hash')
    .option('--name <name>', 'a name to recognise it by', 'agent')
    .option('--labels <list>', 'comma-separated labels agents using it may claim (default: any)')
    .action(async (o, cmd: Command) => {
      const labels = o.labels ? String(o.labels).split(',').map((s) => s.trim()).filter(Boolean) : undefined;
      const created = await apiFor(cmd).call<AgentTokenView>('POST', '/agent-tokens', { name: o.name, labels });
      if (globals(cmd).json) return printJson(created);
      printFields(created, ['id', 'name', 'prefix']);
      process.stdout.write(`\ntoken (shown once): ${created.token}\n`);
    });

  token
    .command('list')
    .description('list agent tokens (prefixes only)')
    .action(async (_o, cmd: Command) => {
      const list = await apiFor(cmd).call<{ tokens: AgentTokenView[] }>('GET', '/agent-tokens');
      if (globals(cmd).json) return printJson(list.tokens);
      printTable(list.tokens, ['id', 'name', 'prefix', 'labels', 'createdAt', 'revokedAt']);
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

/**
 * `node dist/chaos/check.js --journal FILE --database URL [--expect FILE] [--agent DIR=NAME …]`
 *
 * Judges a data set left by a workload (the journal its steps wrote, the cluster's database) and
 * prints the report. `--expect` is a JSON object: delivery id → workflow names its lock file asks
 * for. `--agent` names the agent whose work dir is DIR (agents started with --agent-id keep no id
 * file for the journal to read). Exit 0: every invariant held; 1: one broke; 2: bad usage.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { checkInvariants } from './checker.js';
import { expectWorkflows } from './expected-runs.js';
import { allHeld, formatReport } from './report.js';

const USAGE = 'usage: check --journal FILE --database URL [--expect FILE] [--agent DIR=NAME ...]';

const expectationFile = z.record(z.string(), z.array(z.string()));

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      journal: { type: 'string' },
      database: { type: 'string' },
      expect: { type: 'string' },
      agent: { type: 'string', multiple: true },
    },
    strict: true,
  });
  if (!values.journal || !values.database) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const agentNames = new Map<string, string>();
  for (const pair of values.agent ?? []) {
    const at = pair.lastIndexOf('=');
    if (at <= 0) {
      process.stderr.write(`--agent wants DIR=NAME, got "${pair}"\n${USAGE}\n`);
      return 2;
    }
    agentNames.set(pair.slice(0, at), pair.slice(at + 1));
  }
  const expect = values.expect ? expectWorkflows(expectationFile.parse(JSON.parse(readFileSync(values.expect, 'utf8')))) : undefined;
  const reports = await checkInvariants({ journal: values.journal, databaseUrl: values.database, agentNames, ...(expect && { expect }) });
  process.stdout.write(`${formatReport(reports)}\n`);
  return allHeld(reports) ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`check: ${error.message}\n${USAGE}\n`);
    process.exit(2);
  },
);

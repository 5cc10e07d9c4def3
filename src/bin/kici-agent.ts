#!/usr/bin/env node
/**
 * `kici-agent --url ws://host:4000/ws [--url ws://other:4000/ws]… (--token … | --token-file PATH) [--labels a,b] [--max-concurrency N]
 * [--agent-id ID] [--work-dir DIR] [--sandbox auto|bwrap|none] [--hide PATH]…`
 */
import { runAgentCli } from '../agent/index.js';

runAgentCli(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`kici-agent: ${err.message}\n`);
    process.exit(1);
  },
);

#!/usr/bin/env node
import { runAdmin } from '../admin/index.js';

runAdmin(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => {
    process.stderr.write(`kici-admin: ${e.message}\n`);
    process.exit(1);
  },
);

import { Command } from 'commander';
import { openStore } from '../../store/index.js';
import { defaultDataDir } from '../local-orchestrator.js';
import { globals } from './context.js';
import { printJson, printTable } from './output.js';

/**
 * `db migrate` talks to the database directly (KICI_DATABASE_URL, or the embedded PGlite in the
 * data directory), so a schema can be prepared before any orchestrator starts.
 */
export function dbCommands(): Command {
  const db = new Command('db').description('the database');
  db.command('migrate')
    .description('apply pending migrations (KICI_DATABASE_URL, or PGlite in the data directory)')
    .option('--status', 'only show which migrations are applied and pending')
    .action(async (o, cmd: Command) => {
      const g = globals(cmd);
      const store = await openStore({ url: process.env.KICI_DATABASE_URL || undefined, dataDir: g.dataDir ?? defaultDataDir() });
      try {
        if (!o.status) {
          const applied = await store.migrations.migrate();
          if (!g.json) process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'nothing to apply\n');
        }
        const status = await store.migrations.status();
        if (g.json) return printJson(status);
        printTable(
          status.migrations.map((m) => ({ migration: m.name, applied: m.executedAt ? m.executedAt.toISOString() : 'pending' })),
          ['migration', 'applied'],
        );
      } finally {
        await store.close();
      }
    });
  return db;
}

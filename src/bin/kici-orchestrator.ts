#!/usr/bin/env node
/** `kici-orchestrator`: configuration comes from KICI_* variables only (see the README). */
import { ConfigError, loadConfig, startOrchestrator, startWorker } from '../server/index.js';

async function main(): Promise<void> {
  if (process.argv.length > 2 && ['-h', '--help'].includes(process.argv[2])) {
    process.stdout.write('usage: kici-orchestrator\n\nConfigured through KICI_* environment variables; see the README.\n');
    return;
  }
  if (process.argv.length > 2) {
    process.stderr.write(`kici-orchestrator: unexpected argument ${process.argv[2]} (configuration is by KICI_* variables)\n`);
    process.exit(2);
  }
  let config;
  try {
    config = loadConfig(process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`kici-orchestrator: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  // An edge worker (KICI_CLUSTER_ROLE=worker) has no database and no admin API: its own composition.
  const orchestrator = config.role === 'worker' ? await startWorker(config) : await startOrchestrator(config, { announce: true });
  // A stray rejection is a bug to fix, not a reason to drop every agent and in-flight delivery.
  process.on('unhandledRejection', (reason) => orchestrator.log.error({ err: reason instanceof Error ? reason.message : String(reason) }, 'unhandled rejection'));
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    orchestrator.log.info('shutting down');
    await orchestrator.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((e: Error) => {
  process.stderr.write(`kici-orchestrator: ${e.message}\n`);
  process.exit(1);
});

import { writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { ORCHESTRATOR_URL_FILE } from '../../admin/index.js';
import type { AgentHub } from '../../agents/index.js';
import type { OrchestratorConfig } from '../config.js';
import type { Router } from '../http/router.js';
import { createHttpServer, type UpgradeHandler } from '../http/server.js';
import type { Logger } from '../logger.js';
import { agentSocketUpgrade } from '../routes/agent-socket.js';

export interface Listener {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * The one port: HTTP routes plus the agents' WebSocket. The URL is written to the data directory
 * so kici-admin on this machine (and `KICI_PORT=0` users) can find it.
 */
export async function listen(
  router: Router,
  hub: AgentHub,
  config: OrchestratorConfig,
  log: Logger,
  addressOf: (req: IncomingMessage) => string,
): Promise<Listener> {
  const agentWs = agentSocketUpgrade(hub, addressOf);
  const upgrades = new Map<string, UpgradeHandler>([['/ws', agentWs.upgrade]]);
  const server = createHttpServer(router, upgrades, config.basePath, log);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => resolve());
    });
  } catch (e) {
    agentWs.close();
    throw e;
  }
  const port = (server.address() as AddressInfo).port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = `http://${host}:${port}${config.basePath}`;
  writeFileSync(path.join(config.dataDir, ORCHESTRATOR_URL_FILE), `${url}\n`);
  return {
    url,
    port,
    close: async () => {
      agentWs.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

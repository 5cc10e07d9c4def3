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
  /** Hand the port to the assembled routes and the agents' socket; until then it answers 503. */
  serve(router: Router, hub: AgentHub, addressOf: (req: IncomingMessage) => string): void;
  /** Idempotent: the composition root may call it on both its failure and its stop path. */
  close(): Promise<void>;
}

/** Thrown when the port cannot be taken; its message names the address and what to do. */
export class ListenError extends Error {}

/**
 * The one port: HTTP routes plus the agents' WebSocket. It is bound first, before the data
 * directory, the database or a token is touched, so a busy port fails the start with nothing
 * changed; a probe that bound and released the port would leave a window for someone else to take
 * it. The URL is written to the data directory only once `serve` is called: the file means "this
 * process answers here" to kici-admin, kici-dev and `KICI_PORT=0` users.
 */
export async function bindListener(config: OrchestratorConfig, log: Logger): Promise<Listener> {
  const http = createHttpServer(log);
  const { server } = http;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    throw listenError(e as NodeJS.ErrnoException, config);
  }
  const port = (server.address() as AddressInfo).port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = `http://${host}:${port}${config.basePath}`;
  let closeAgents = () => {};
  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    serve: (router, hub, addressOf) => {
      const agentWs = agentSocketUpgrade(hub, addressOf);
      closeAgents = () => agentWs.close();
      http.serve(router, new Map<string, UpgradeHandler>([['/ws', agentWs.upgrade]]), config.basePath);
      writeFileSync(path.join(config.dataDir, ORCHESTRATOR_URL_FILE), `${url}\n`);
    },
    close: () =>
      (closing ??= (async () => {
        closeAgents();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      })()),
  };
}

function listenError(e: NodeJS.ErrnoException, config: OrchestratorConfig): Error {
  const where = `${config.host}:${config.port}`;
  if (e.code === 'EADDRINUSE') return new ListenError(`cannot listen on ${where}: the port is already in use (EADDRINUSE); stop what holds it or set KICI_PORT to another port`);
  if (e.code === 'EACCES') return new ListenError(`cannot listen on ${where}: permission denied (EACCES); ports below 1024 need privileges, set KICI_PORT`);
  return new ListenError(`cannot listen on ${where}: ${e.message}`);
}

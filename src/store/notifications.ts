/**
 * LISTEN on a channel of the store's database, per driver. Private to the store: other rooms get a
 * typed feed (`SourceChangeRepository.listen`), never a channel or a payload string.
 *
 * PostgreSQL: one dedicated client per listener, outside the pool (a pooled connection would be
 * handed back, and with it the LISTEN). When that connection drops (server restart, failover,
 * `pg_terminate_backend`, a heartbeat that goes unanswered) the listener reconnects with capped
 * exponential backoff and, once LISTEN is in place again, calls `onResync`: whatever was notified
 * in the gap is lost, so the subscriber must drop what it derived from earlier notifications.
 *
 * PGlite: one process by construction, so PGlite's own in-process LISTEN (fed by the same
 * `pg_notify` the repositories run, delivered on commit as on PostgreSQL); nothing can drop.
 */
import { randomInt } from 'node:crypto';
import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';

export interface ChannelHandlers {
  /** One NOTIFY's payload ('' when the notifier gave none), after its transaction committed. */
  onPayload(payload: string): void;
  /** The connection was lost and replaced: notifications sent in between never arrive. */
  onResync(): void;
  /** Something worth a log line: the connection was lost, a reconnect failed, a handler threw. */
  onError(error: Error): void;
}

export interface ListenOptions {
  /** First reconnect delay (default 100 ms); doubles per failed attempt up to `reconnectMaxMs`. */
  reconnectMinMs?: number;
  /** Longest delay between reconnect attempts (default 5 s). */
  reconnectMaxMs?: number;
  /**
   * How often the idle listening connection is probed with `select 1` (default 10 s); a probe
   * unanswered for as long counts as a lost connection. A half-open TCP connection (a partition, a
   * host gone without a FIN) otherwise never errors and silently delivers nothing.
   */
  heartbeatMs?: number;
}

/** Start listening on `channel`; resolves once LISTEN is in place, to a function that stops it. */
export type Listen = (channel: string, handlers: ChannelHandlers, options?: ListenOptions) => Promise<() => Promise<void>>;

/** `application_name` of the listening connections (pg_stat_activity shows them by it). */
export const LISTENER_APPLICATION_NAME = 'kici-listen';

export function postgresListen(url: string): Listen {
  return async (channel, handlers, options = {}) => {
    const listener = new PostgresChannelListener(url, channel, handlers, options);
    await listener.start();
    return () => listener.stop();
  };
}

export function pgliteListen(pglite: PGlite): Listen {
  return async (channel, handlers) => {
    const unlisten = await pglite.listen(channel, (payload) => deliver(handlers, payload ?? ''));
    let stopped = false;
    return async () => {
      if (stopped) return;
      stopped = true;
      // A store closed first took its listeners with it.
      if (!pglite.closed) await unlisten();
    };
  };
}

function deliver(handlers: ChannelHandlers, payload: string): void {
  try {
    handlers.onPayload(payload);
  } catch (error) {
    handlers.onError(asError(error));
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** A channel name as a quoted identifier (LISTEN takes no bind parameter). */
function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

class PostgresChannelListener {
  private readonly minMs: number;
  private readonly maxMs: number;
  private readonly heartbeatMs: number;
  /** The connection currently listening; null while reconnecting or once stopped. */
  private client: pg.Client | null = null;
  private stopped = false;
  private attempts = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private probing = false;
  /** A reconnect under way, so `stop()` can wait for it and end what it opened. */
  private reconnecting: Promise<void> | null = null;

  constructor(
    private readonly url: string,
    private readonly channel: string,
    private readonly handlers: ChannelHandlers,
    options: ListenOptions,
  ) {
    this.minMs = Math.max(1, options.reconnectMinMs ?? 100);
    this.maxMs = Math.max(this.minMs, options.reconnectMaxMs ?? 5_000);
    this.heartbeatMs = Math.max(1, options.heartbeatMs ?? 10_000);
  }

  /** The first connection; its failure rejects (the caller is starting up and should hear of it). */
  async start(): Promise<void> {
    this.client = await this.connect();
    this.armHeartbeat();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.heartbeatTimer);
    const client = this.client;
    this.client = null;
    await this.reconnecting;
    if (client) await client.end().catch(() => undefined);
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: this.url,
      application_name: LISTENER_APPLICATION_NAME,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      connectionTimeoutMillis: 10_000,
    });
    // Attached before connecting and never removed: an 'error' with no listener would crash the
    // process. Events of a client that is not the current one (a failed attempt, a replaced
    // connection) are ignored.
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, new Error('listening connection ended')));
    client.on('notification', (message) => {
      if (client === this.client && message.channel === this.channel) deliver(this.handlers, message.payload ?? '');
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${quoteIdent(this.channel)}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    return client;
  }

  private lost(client: pg.Client, error: Error): void {
    if (client !== this.client || this.stopped) return;
    this.client = null;
    clearInterval(this.heartbeatTimer);
    this.handlers.onError(new Error(`LISTEN ${this.channel}: connection lost (${error.message}); reconnecting`, { cause: error }));
    void client.end().catch(() => undefined);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    const ceiling = Math.min(this.maxMs, this.minMs * 2 ** Math.min(this.attempts, 20));
    this.attempts += 1;
    // Jitter (half to all of the delay) so nodes that lost the same server do not return in step.
    const half = Math.floor(ceiling / 2);
    const delay = half + randomInt(0, Math.ceil(ceiling) - half + 1);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.reconnecting = this.reconnect().finally(() => {
        this.reconnecting = null;
      });
    }, delay);
    this.retryTimer.unref();
  }

  private async reconnect(): Promise<void> {
    if (this.stopped) return;
    let client: pg.Client;
    try {
      client = await this.connect();
    } catch (error) {
      this.handlers.onError(new Error(`LISTEN ${this.channel}: reconnect failed (${asError(error).message})`, { cause: error }));
      this.scheduleReconnect();
      return;
    }
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.attempts = 0;
    this.armHeartbeat();
    try {
      this.handlers.onResync();
    } catch (error) {
      this.handlers.onError(asError(error));
    }
  }

  private armHeartbeat(): void {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = setInterval(() => void this.probe(), this.heartbeatMs);
    this.heartbeatTimer.unref();
  }

  private async probe(): Promise<void> {
    const client = this.client;
    if (!client || this.probing) return;
    this.probing = true;
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer to a probe within ${this.heartbeatMs} ms`)), this.heartbeatMs);
      });
      await Promise.race([client.query('select 1'), timeout]);
    } catch (error) {
      this.lost(client, asError(error));
    } finally {
      clearTimeout(timer);
      this.probing = false;
    }
  }
}

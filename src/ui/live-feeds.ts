import type { Logger } from 'pino';
import { z } from 'zod';
import { ApiFailure, type AdminDeps, StepLogCursor } from '../admin/index.js';
import type { UiSession } from '../store/index.js';
import type { AdminRoutes } from './admin-routes.js';
import type { EventStream, OpenFeeds } from './event-stream.js';
import { errorReply, readQuery, UiRefusal, type UiReply, type UiRequest, type ServerResponse } from './http.js';
import { runToRead } from './run-logs.js';

/** How often a feed reads the store: about as fast as a person notices, and cheap (one or two indexed reads). */
export const POLL_MS = 500;
/**
 * A run can be terminal while an agent back from an outage still replays its last log lines (the
 * NDJSON follow waits the same): the log feed says `end` only after this long with nothing new.
 */
const LOG_SETTLE_MS = 1500;
/**
 * An open feed asks again this often whether its session still stands, so a revoked token or an
 * expired session stops streaming within seconds (every poll would cost a query twice a second).
 */
const SESSION_RECHECK_MS = 5000;

export interface LiveFeedDeps {
  feeds: OpenFeeds;
  admin: AdminRoutes;
  /** Step logs and whether a run is over, as the admin API reads them. */
  logs: Pick<AdminDeps, 'store' | 'logs' | 'runIsTerminal'>;
  pollMs: number;
  /** Whether the request's session still stands (token live, not expired, not signed out). */
  stillSignedIn(req: UiRequest): Promise<boolean>;
  log: Logger;
}

const runsQuery = z.strictObject({
  status: z.string().max(40).optional(),
  source: z.string().max(200).optional(),
  branch: z.string().max(255).optional(),
  before: z.string().max(40).optional(),
  limit: z.string().regex(/^\d{1,4}$/, 'must be a whole number').optional(),
});

const logsQuery = z.strictObject({ job: z.string().min(1).max(200).optional() });

/**
 * The web view's live feeds (Server-Sent Events): each polls the store about twice a second through
 * the admin API's own handlers and sends an event only when what it would send changed, so the page
 * shows what `kici-admin` would print. Polling the shared database (rather than this node's memory)
 * is what lets a browser follow a run owned by any node of the cluster.
 */
export class LiveFeeds {
  constructor(private readonly deps: LiveFeedDeps) {}

  /** `event: runs` with `{runs}`, as `GET /api/v1/runs` with the same filters. */
  async runs(req: UiRequest, res: ServerResponse, session: UiSession): Promise<UiReply | undefined> {
    const query = new URLSearchParams(Object.entries(readQuery(req.query, runsQuery)).filter((e): e is [string, string] => e[1] !== undefined));
    // Read once before the stream opens, so a filter the API refuses is a 400, not an empty feed.
    const first = await this.deps.admin.read('/runs', req, res, session, {}, query).catch(asRefusal);
    return this.follow(req, res, 'runs', first, () => this.deps.admin.read('/runs', req, res, session, {}, query));
  }

  /** `event: run` with the body of `GET /api/v1/runs/<id>`; `event: gone` when there is no such run. */
  async run(req: UiRequest, res: ServerResponse, session: UiSession): Promise<UiReply | undefined> {
    const read = () => this.deps.admin.read('/runs/:id', req, res, session, { id: req.params.id });
    const first = await read().catch((e) => (isNotFound(e) ? GONE : asRefusal(e)));
    return this.follow(req, res, 'run', first, () => read().catch((e) => (isNotFound(e) ? GONE : Promise.reject(e))));
  }

  /** `event: agents` with `{agents}`, as `GET /api/v1/agents?scope=cluster`: every node's agents, whichever node the page reached. */
  async agents(req: UiRequest, res: ServerResponse, session: UiSession): Promise<UiReply | undefined> {
    const read = () => this.deps.admin.read('/agents', req, res, session, {}, CLUSTER_SCOPE);
    return this.follow(req, res, 'agents', await read().catch(asRefusal), read);
  }

  /**
   * `event: line` per log line of the run (or of one job, `?job=<jobId>`), in order, then `event:
   * end` once the run is over and every line was sent. A reconnect starts from the first line.
   */
  async logLines(req: UiRequest, res: ServerResponse, session: UiSession): Promise<UiReply | undefined> {
    const { job } = readQuery(req.query, logsQuery);
    const { run } = await runToRead(this.deps.logs.store, session, req.params.id, job, (j) => j.id === job);
    const stream = this.open(res);
    if (!stream) return unavailable();
    const cursor = new StepLogCursor(this.deps.logs, run.id, (j) => job === undefined || j.id === job);
    // A run that finished a while ago has nothing more on the way: no need to wait the settle out again.
    let terminalSince = run.finishedAt ? Math.min(Date.now(), run.finishedAt.getTime()) : undefined;
    this.poll(req, stream, async () => {
      const terminal = await this.deps.logs.runIsTerminal(run.id);
      if (terminal) terminalSince ??= Date.now();
      const lines = await cursor.next(terminal);
      for (const l of lines) stream.send('line', { jobId: l.jobId, job: l.job, step: l.step, stepName: l.stepName ?? null, text: l.text });
      if (terminal && lines.length === 0 && Date.now() - terminalSince! >= LOG_SETTLE_MS) {
        stream.send('end', { runId: run.id });
        return 'done';
      }
      return undefined;
    });
    return undefined;
  }

  /** Send `first` now, then whatever `read` returns whenever its JSON differs from the last sent. */
  private follow(req: UiRequest, res: ServerResponse, event: string, first: unknown, read: () => Promise<unknown>): UiReply | undefined {
    const stream = this.open(res);
    if (!stream) return unavailable();
    let last = '';
    const sendIfChanged = (body: unknown): 'done' | undefined => {
      if (body === GONE) {
        stream.send('gone', {});
        return 'done';
      }
      const json = JSON.stringify(body);
      if (json !== last) stream.send(event, body);
      last = json;
      return undefined;
    };
    if (sendIfChanged(first) === 'done') {
      stream.end();
      return undefined;
    }
    this.poll(req, stream, async () => sendIfChanged(await read()));
    return undefined;
  }

  private open(res: ServerResponse): EventStream | undefined {
    return this.deps.feeds.start(res);
  }

  /**
   * Run `tick` every poll interval until it says `done` or the stream ends (the browser left, the
   * node stops). A failed read (the database restarting) is logged and tried again next time.
   * Feeds pace themselves on this process's timers, not the injected clock: a test's manual clock
   * decides when sessions expire, not how often a page is refreshed.
   */
  private poll(req: UiRequest, stream: EventStream, tick: () => Promise<'done' | undefined>): void {
    const { pollMs, log } = this.deps;
    let timer: NodeJS.Timeout | undefined;
    let checkedAt = Date.now();
    stream.whenEnded(() => clearTimeout(timer));
    const run = async () => {
      if (!stream.isOpen) return;
      try {
        if (Date.now() - checkedAt >= SESSION_RECHECK_MS) {
          // The browser's EventSource reconnects, is answered 401, and the page shows the sign-in.
          if (!(await this.deps.stillSignedIn(req))) return stream.end();
          checkedAt = Date.now();
        }
        if ((await tick()) === 'done') return stream.end();
      } catch (e) {
        if (!stream.isOpen) return;
        log.warn({ err: (e as Error).message }, 'web view feed read failed; trying again');
      }
      if (stream.isOpen) timer = setTimeout(() => void run(), pollMs);
    };
    void run();
  }
}

const GONE = Symbol('gone');
const CLUSTER_SCOPE = new URLSearchParams({ scope: 'cluster' });

const isNotFound = (e: unknown) => e instanceof ApiFailure && e.status === 404;

/** An API refusal of the first read is the request's answer (a 400 for a bad filter, say). */
function asRefusal(e: unknown): never {
  if (e instanceof ApiFailure) throw new UiRefusal(e.status, e.code, e.message);
  throw e;
}

const unavailable = (): UiReply => errorReply(503, 'stopping', 'the orchestrator is stopping; reconnect to another node', { 'retry-after': '1' });

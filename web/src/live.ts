/**
 * A live feed (Server-Sent Events) that keeps itself open: the browser's own retry covers a
 * dropped connection, and when the browser gives up (the server refused, e.g. the session ended)
 * it asks whether the session still stands and either signs out or tries again a little later.
 * Every (re)connection starts the feed over, so `onOpen` is where a view clears itself.
 */
import { currentSession, sessionEnded } from './api.js';

export interface Feed {
  close(): void;
}

export interface FeedHandlers {
  /** Per event name, the parsed `data` of each event. */
  events: Record<string, (data: unknown) => void>;
  onOpen?: () => void;
  /** Connected or not, for a small indicator. */
  onState?: (connected: boolean) => void;
}

const RETRY_MS = [1000, 2000, 5000, 10000];

export function openFeed(url: string, handlers: FeedHandlers): Feed {
  let source: EventSource | null = null;
  let closed = false;
  let failures = 0;
  let retryTimer: number | undefined;

  const connect = () => {
    if (closed) return;
    const es = new EventSource(url, { withCredentials: true });
    source = es;
    es.addEventListener('open', () => {
      failures = 0;
      handlers.onState?.(true);
      handlers.onOpen?.();
    });
    for (const [name, handle] of Object.entries(handlers.events)) {
      es.addEventListener(name, (event) => {
        if (closed) return;
        let data: unknown = null;
        try {
          data = JSON.parse((event as MessageEvent<string>).data);
        } catch {
          return; // a torn event: the next one carries the whole state again
        }
        handle(data);
      });
    }
    es.addEventListener('error', () => {
      handlers.onState?.(false);
      if (es.readyState !== EventSource.CLOSED || closed) return; // the browser retries by itself
      void retryLater();
    });
  };

  const retryLater = async () => {
    const delay = RETRY_MS[Math.min(failures, RETRY_MS.length - 1)];
    failures++;
    try {
      if ((await currentSession()) === null) {
        close();
        sessionEnded();
        return;
      }
    } catch {
      // Unreachable for now: keep trying.
    }
    if (!closed) retryTimer = window.setTimeout(connect, delay);
  };

  const close = () => {
    closed = true;
    window.clearTimeout(retryTimer);
    source?.close();
    source = null;
  };

  connect();
  return { close };
}

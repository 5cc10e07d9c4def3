import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * The process logger. Secrets never reach it by design; the redact list is the second line of
 * defence for fields that commonly carry them.
 */
export function createLogger(level: string, name = 'kici-orchestrator'): Logger {
  return pino(
    {
      name,
      level,
      redact: {
        paths: [
          'token', 'secret', 'password', 'authorization', '*.token', '*.secret', '*.password', '*.authorization', 'headers.authorization',
          // A job.dispatch frame's secret values (a frame, or a dispatch request holding one); also its clone credentials.
          'secrets', '*.secrets', '*.*.secrets', 'gitAuth', '*.gitAuth', '*.*.gitAuth',
        ],
        censor: '[redacted]',
      },
    },
    pino.destination({ fd: 2, sync: false }),
  );
}

/**
 * The slice of a logger the agent uses. pino's Logger fits it; tests pass a silent one. Call sites
 * pass an object first and a message second, and never put a token or a variable value in either.
 */
export interface AgentLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const ignore = (): void => undefined;
export const silentLogger: AgentLogger = { debug: ignore, info: ignore, warn: ignore, error: ignore };

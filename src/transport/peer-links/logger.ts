/**
 * The slice of a logger the peer links use. pino's Logger fits it; tests pass a silent one or one
 * that records. Call sites pass an object first and a message second; neither ever holds key
 * material or frame contents (certificates are public, and only their serials are logged).
 */
export interface PeerLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const ignore = (): void => undefined;
export const silentPeerLogger: PeerLogger = { debug: ignore, info: ignore, warn: ignore, error: ignore };

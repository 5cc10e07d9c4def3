/**
 * Request headers as the HTTP layer hands them over (node's IncomingHttpHeaders fits). Lookups are
 * case-insensitive because senders and proxies disagree on case; a repeated header yields its first
 * value so a second copy cannot smuggle in a different signature.
 */
export type HeaderBag = Readonly<Record<string, string | readonly string[] | undefined>>;

export function headerValue(headers: HeaderBag, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== wanted || value === undefined) continue;
    return typeof value === 'string' ? value : value[0];
  }
  return undefined;
}

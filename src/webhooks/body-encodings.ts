import type { RouteKind } from './source.js';

/**
 * How a webhook body may be encoded. `json` is every route's: `application/json`, any `+json`
 * type, or no content type at all. `form` is GitHub's `application/x-www-form-urlencoded` with the
 * JSON in a `payload` field, which only GitHub sends.
 */
export type BodyEncoding = 'json' | 'form';

/**
 * Each route declares the encodings it takes; anything else is answered 415 before it is parsed.
 * Only the GitHub route takes the form encoding (a GitHub App's webhook may be set to either). A git or generic sender that posts
 * `text/plain` gets a 415 it can act on instead of a 202 for a delivery that can never match.
 */
export const ROUTE_BODY_ENCODINGS: Readonly<Record<RouteKind, readonly BodyEncoding[]>> = {
  github: ['json', 'form'],
  git: ['json'],
  generic: ['json'],
};

/** The media type alone: lower-case, parameters (`; charset=…`) dropped. */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0].trim().toLowerCase();
}

/** Which encoding a media type is, or null for one no route takes. */
export function encodingOf(type: string): BodyEncoding | null {
  if (type === '' || type === 'application/json' || /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+\+json$/.test(type)) return 'json';
  if (type === 'application/x-www-form-urlencoded') return 'form';
  return null;
}

/** The 415 answer's list of what the route takes; a fixed string, nothing from the request. */
export function acceptedTypes(encodings: readonly BodyEncoding[]): string {
  const names = ['application/json', 'application/*+json'];
  if (encodings.includes('form')) names.push('application/x-www-form-urlencoded (payload=<json>)');
  return `${names.join(', ')}, or no content type`;
}

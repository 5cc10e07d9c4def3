/**
 * The shapes a secret value takes when it leaks, for invariant 7: as is; base64 (a credential
 * inside a Basic auth header, a value a step piped through `base64`); URL-encoded (in a clone URL
 * or a query string); JSON-escaped (a value with quotes, backslashes, slashes or non-ASCII inside a
 * JSON log line, or a JSON string inside another).
 */

export type SecretEncoding = 'as is' | 'base64' | 'URL-encoded' | 'JSON-escaped';

export interface SecretForm {
  encoding: SecretEncoding;
  text: string;
}

/** Shorter values are not looked for JSON-escaped: an escaped fragment that short matches by chance. */
export const JSON_ESCAPED_MIN_LENGTH = 8;

/**
 * Inside a longer base64 text the value may start at any of three byte alignments; the part of its
 * encoding no neighbouring byte touches is looked for when it is at least this long.
 */
const BASE64_CORE_MIN_LENGTH = 8;

/** Every distinct form of `value`, as is first; none empty. */
export function secretForms(value: string): SecretForm[] {
  const forms: SecretForm[] = [
    { encoding: 'as is', text: value },
    ...base64Forms(value).map((text) => ({ encoding: 'base64' as const, text })),
    ...urlForms(value).map((text) => ({ encoding: 'URL-encoded' as const, text })),
    ...(value.length >= JSON_ESCAPED_MIN_LENGTH ? jsonForms(value).map((text) => ({ encoding: 'JSON-escaped' as const, text })) : []),
  ];
  const distinct = new Map<string, SecretForm>();
  for (const form of forms) if (form.text.length > 0 && !distinct.has(form.text)) distinct.set(form.text, form);
  return [...distinct.values()];
}

function base64Forms(value: string): string[] {
  const bytes = Buffer.from(value, 'utf8');
  const encoded = [bytes.toString('base64'), ...[0, 1, 2].map((shift) => alignedCore(bytes, shift)).filter((core) => core.length >= BASE64_CORE_MIN_LENGTH)];
  return encoded.flatMap((text) => [text, text.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')]);
}

/**
 * The characters of `bytes`' encoding, preceded by `shift` other bytes, that depend on its bytes
 * alone: the first group is dropped when it mixes in a neighbour, the last when it is incomplete.
 */
function alignedCore(bytes: Buffer, shift: number): string {
  const encoded = Buffer.concat([Buffer.alloc(shift), bytes]).toString('base64');
  const end = Math.floor((shift + bytes.length) / 3) * 4;
  return encoded.slice(shift === 0 ? 0 : 4, end);
}

function urlForms(value: string): string[] {
  try {
    const encoded = encodeURIComponent(value);
    // A form body writes spaces as `+`.
    return [encoded, encoded.replace(/%20/g, '+')];
  } catch {
    // A lone surrogate cannot be URL-encoded: no program sends it that way either.
    return [];
  }
}

function jsonForms(value: string): string[] {
  const escaped = JSON.stringify(value).slice(1, -1);
  const asciiOnly = escaped.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const slashes = escaped.replace(/\//g, '\\/');
  const twice = JSON.stringify(escaped).slice(1, -1);
  return [escaped, asciiOnly, slashes, twice];
}

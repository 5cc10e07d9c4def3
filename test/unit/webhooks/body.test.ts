import { describe, expect, it } from 'vitest';
import { parseBody, stripSensitiveHeaders } from '../../../src/webhooks/index.js';

describe('parseBody', () => {
  it('parses JSON, including +json media types with parameters', () => {
    expect(parseBody(Buffer.from('{"a":1}'), 'application/json; charset=utf-8')).toEqual({ ok: true, payload: { a: 1 } });
    expect(parseBody(Buffer.from('[1]'), 'application/vnd.custom+json')).toEqual({ ok: true, payload: [1] });
  });

  it('refuses a body that is not JSON when JSON is declared, without quoting it', () => {
    const result = parseBody(Buffer.from('{"secret":"hunter2"'), 'application/json');
    expect(result.ok).toBe(false);
    expect(JSON.stringify(result)).not.toContain('hunter2');
  });

  it('refuses invalid UTF-8 declared as JSON', () => {
    expect(parseBody(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), 'application/json').ok).toBe(false);
  });

  it('unwraps GitHub form deliveries (payload=<json>)', () => {
    const form = `payload=${encodeURIComponent('{"ref":"refs/heads/main"}')}`;
    expect(parseBody(Buffer.from(form), 'application/x-www-form-urlencoded')).toEqual({ ok: true, payload: { ref: 'refs/heads/main' } });
  });

  it('refuses a form payload field that is not JSON', () => {
    expect(parseBody(Buffer.from('payload=%7Bnope'), 'application/x-www-form-urlencoded').ok).toBe(false);
  });

  it('keeps plain form fields', () => {
    expect(parseBody(Buffer.from('a=1&b=two'), 'application/x-www-form-urlencoded')).toEqual({ ok: true, payload: { a: '1', b: 'two' } });
  });

  it('wraps other content types as { body }', () => {
    expect(parseBody(Buffer.from('hello'), 'text/plain')).toEqual({ ok: true, payload: { body: 'hello' } });
    expect(parseBody(Buffer.from('not json'), undefined)).toEqual({ ok: true, payload: { body: 'not json' } });
  });

  it('tries JSON when no content type is given', () => {
    expect(parseBody(Buffer.from('{"x":true}'), undefined)).toEqual({ ok: true, payload: { x: true } });
  });

  it('treats an empty body as an empty object', () => {
    expect(parseBody(Buffer.alloc(0), 'application/json')).toEqual({ ok: true, payload: {} });
  });
});

describe('stripSensitiveHeaders', () => {
  it('drops credentials, cookies and signatures, keeps the rest lower-cased', () => {
    const kept = stripSensitiveHeaders({
      Authorization: 'Bearer t',
      Cookie: 'c=1',
      'Set-Cookie': ['a=1'],
      'Proxy-Authorization': 'x',
      'X-Api-Key': 'k',
      'X-Auth-Token': 't',
      'X-Hub-Signature-256': 'sha256=aa',
      'X-Signature-256': 'sha256=bb',
      'X-Custom-Sig': 'cc',
      'Content-Type': 'application/json',
      'X-GitHub-Event': 'push',
      'X-Forwarded-For': ['1.1.1.1', '2.2.2.2'],
    }, ['x-custom-sig']);
    expect(kept).toEqual({
      'content-type': 'application/json',
      'x-github-event': 'push',
      'x-forwarded-for': '1.1.1.1, 2.2.2.2',
    });
  });
});

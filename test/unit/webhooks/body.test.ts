import { describe, expect, it } from 'vitest';
import { parseBody, ROUTE_BODY_ENCODINGS, stripSensitiveHeaders } from '../../../src/webhooks/index.js';

describe('parseBody', () => {
  it('parses JSON, including +json media types with parameters', () => {
    expect(parseBody(Buffer.from('{"a":1}'), 'application/json; charset=utf-8')).toEqual({ ok: true, payload: { a: 1 } });
    expect(parseBody(Buffer.from('[1]'), 'application/vnd.custom+json')).toEqual({ ok: true, payload: [1] });
    expect(parseBody(Buffer.from('[2]'), 'Application/JSON')).toEqual({ ok: true, payload: [2] });
  });

  it('parses a body with no content type as JSON, and refuses one that is not JSON with 400', () => {
    expect(parseBody(Buffer.from('{"x":true}'), undefined)).toEqual({ ok: true, payload: { x: true } });
    expect(parseBody(Buffer.from('not json'), undefined)).toMatchObject({ ok: false, status: 400 });
  });

  it('refuses a body that is not JSON when JSON is declared (400), without quoting it', () => {
    const result = parseBody(Buffer.from('{"secret":"hunter2"'), 'application/json');
    expect(result).toMatchObject({ ok: false, status: 400 });
    expect(JSON.stringify(result)).not.toContain('hunter2');
  });

  it('refuses invalid UTF-8 declared as JSON (400)', () => {
    expect(parseBody(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), 'application/json')).toMatchObject({ ok: false, status: 400 });
  });

  it('refuses every other content type with 415 naming the accepted ones, before reading the body', () => {
    for (const type of ['text/plain', 'text/json', 'application/xml', 'multipart/form-data; boundary=x', 'application/octet-stream']) {
      const result = parseBody(Buffer.from('{"a":1}'), type);
      expect(result, type).toMatchObject({ ok: false, status: 415 });
      if (!result.ok) expect(result.reason).toContain('application/json');
    }
    // Not even invalid bytes turn a 415 into a 400: the type is judged first.
    expect(parseBody(Buffer.from([0xff]), 'text/plain')).toMatchObject({ ok: false, status: 415 });
  });

  it('refuses the form encoding (415) where the route does not take it: every route but GitHub\'s', () => {
    const form = `payload=${encodeURIComponent('{"ref":"refs/heads/main"}')}`;
    expect(ROUTE_BODY_ENCODINGS.github).toContain('form');
    expect(parseBody(Buffer.from(form), 'application/x-www-form-urlencoded', ROUTE_BODY_ENCODINGS.github)).toEqual({ ok: true, payload: { ref: 'refs/heads/main' } });
    for (const route of ['git', 'generic'] as const) {
      expect(ROUTE_BODY_ENCODINGS[route]).not.toContain('form');
      expect(parseBody(Buffer.from(form), 'application/x-www-form-urlencoded', ROUTE_BODY_ENCODINGS[route])).toMatchObject({ ok: false, status: 415 });
    }
    expect(parseBody(Buffer.from('{nope'), 'application/x-www-form-urlencoded')).toMatchObject({ ok: false, status: 415 });
  });

  describe('on a route that takes the form encoding', () => {
    const formRoute = ['json', 'form'] as const;

    it('unwraps GitHub form deliveries (payload=<json>) and names the form in its 415', () => {
      const form = `payload=${encodeURIComponent('{"ref":"refs/heads/main"}')}`;
      expect(parseBody(Buffer.from(form), 'application/x-www-form-urlencoded', formRoute)).toEqual({ ok: true, payload: { ref: 'refs/heads/main' } });
      const refused = parseBody(Buffer.from('x'), 'text/plain', formRoute);
      expect(refused.ok ? '' : refused.reason).toContain('application/x-www-form-urlencoded');
    });

    it('refuses a form payload field that is not JSON, or a form without one (400)', () => {
      expect(parseBody(Buffer.from('payload=%7Bnope'), 'application/x-www-form-urlencoded', formRoute)).toMatchObject({ ok: false, status: 400 });
      expect(parseBody(Buffer.from('a=1&b=two'), 'application/x-www-form-urlencoded', formRoute)).toMatchObject({ ok: false, status: 400 });
    });
  });

  it('treats an empty body as an empty object', () => {
    expect(parseBody(Buffer.alloc(0), 'application/json')).toEqual({ ok: true, payload: {} });
    expect(parseBody(Buffer.alloc(0), undefined)).toEqual({ ok: true, payload: {} });
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

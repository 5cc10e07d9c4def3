import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkSecretsHidden, formatReport, readSecretTexts, scrubberFor } from '../../../chaos/index.js';
import { secretForms } from '../../../chaos/invariants/secret-forms.js';

const TOKEN = { name: 'DEPLOY_TOKEN', value: 'ghp_s3cr3tV4lue/with+slash"quote' };
const PASSWORD = { name: 'DB_PASSWORD', value: 'hunter2-pässword' };

const NODE_LOG = [
  '{"level":30,"msg":"orchestrator listening"}',
  '{"level":30,"msg":"run started","run":"r-1"}',
  '{"level":30,"msg":"done"}',
].join('\n');

/** The report with its every string joined, to look for what must never be in it. */
const everything = (report: ReturnType<typeof checkSecretsHidden>) => [...report.evidence, ...report.notes, formatReport([report])].join('\n');

describe('checkSecretsHidden (invariant 7)', () => {
  it('holds when no text shows a secret, and says what was searched', () => {
    const report = checkSecretsHidden({
      secrets: [TOKEN, PASSWORD],
      texts: [
        { source: '/tmp/chaos/node-a.log', text: NODE_LOG },
        { source: 'GET /api/v1/runs/r-1', text: '{"id":"r-1","status":"success"}' },
      ],
    });
    expect(report.verdict).toBe('held');
    expect(report.invariant).toBe(7);
    expect(report.evidence).toEqual([]);
    expect(report.notes[0]).toMatch(/^searched 2 texts, \d+ bytes \(files: 1, API responses: 1\) for 2 secret values/);
  });

  it('is broken by a value in a log line, naming the secret, the file and the line, and never the value', () => {
    const leaked = NODE_LOG.replace('"run":"r-1"', `"run":"r-1","token":"${TOKEN.value.replace(/"/g, '\\"')}","again":"${TOKEN.value}"`);
    const report = checkSecretsHidden({ secrets: [TOKEN, PASSWORD], texts: [{ source: '/tmp/chaos/node-a.log', text: leaked }] });
    expect(report.verdict).toBe('broken');
    expect(report.evidence).toEqual([
      `secret DEPLOY_TOKEN (as is, JSON-escaped) in /tmp/chaos/node-a.log line 2: {"level":30,"msg":"run started","run":"r-1","token":"[secret:DEPLOY_TOKEN]","again":"[secret:DEPLOY_TOKEN]"}`,
    ]);
    expect(everything(report)).not.toContain(TOKEN.value);
    expect(everything(report)).not.toContain('s3cr3tV4lue');
  });

  it('finds a value base64-encoded, alone or inside a Basic credential', () => {
    const alone = Buffer.from(PASSWORD.value).toString('base64');
    const basic = Buffer.from(`admin:${PASSWORD.value}`).toString('base64');
    const report = checkSecretsHidden({
      secrets: [PASSWORD],
      texts: [
        { source: '/tmp/chaos/agent-1.log', text: `first\nsecret: ${alone}\n` },
        { source: 'GET /api/v1/runs/r-2/logs', text: `curl -H "Authorization: Basic ${basic}"` },
      ],
    });
    expect(report.evidence).toHaveLength(2);
    expect(report.evidence[0]).toMatch(/^secret DB_PASSWORD \(base64\) in \/tmp\/chaos\/agent-1\.log line 2: secret: \[secret:DB_PASSWORD\]$/);
    expect(report.evidence[1]).toMatch(/^secret DB_PASSWORD \(base64\) in GET \/api\/v1\/runs\/r-2\/logs line 1: /);
    expect(everything(report)).not.toContain(alone);
    expect(everything(report)).not.toContain(PASSWORD.value);
  });

  it.each(['admin:', 'bob:', 'root:'])('finds a value base64-encoded after %s, whatever its byte alignment', (user) => {
    const basic = Buffer.from(`${user}${TOKEN.value}`).toString('base64');
    const report = checkSecretsHidden({ secrets: [TOKEN], texts: [{ source: 'proxy.log', text: `Authorization: Basic ${basic}` }] });
    expect(report.evidence).toEqual([expect.stringMatching(/^secret DEPLOY_TOKEN \(base64\) in proxy\.log line 1: Authorization: Basic /)]);
  });

  it('finds a value URL-encoded in a clone URL, and in a JSON string with non-ASCII escaped', () => {
    const url = `https://x:${encodeURIComponent(TOKEN.value)}@git.example/repo.git`;
    const asciiJson = JSON.stringify(PASSWORD.value).replace('ä', '\\u00e4');
    const report = checkSecretsHidden({
      secrets: [TOKEN, PASSWORD],
      texts: [{ source: 'POST /api/v1/sources', text: `{"error":"cannot clone ${url}","detail":${asciiJson}}` }],
    });
    expect(report.evidence.map((e) => e.slice(0, e.indexOf(' line ')))).toEqual([
      'secret DEPLOY_TOKEN (URL-encoded) in POST /api/v1/sources',
      'secret DB_PASSWORD (JSON-escaped) in POST /api/v1/sources',
    ]);
    expect(everything(report)).not.toContain(encodeURIComponent(TOKEN.value));
  });

  it('cuts a long line to 200 characters around the redaction, and shows 20 lines per file at most', () => {
    const long = `${'x'.repeat(300)} ${TOKEN.value}`;
    const lines = Array.from({ length: 25 }, (_, i) => `line ${i} ${TOKEN.value}`);
    const report = checkSecretsHidden({
      secrets: [TOKEN],
      texts: [
        { source: 'long.log', text: long },
        { source: 'many.log', text: lines.join('\r\n') },
      ],
    });
    const [first, ...rest] = report.evidence;
    expect(first!.slice(first!.indexOf(': ') + 2)).toHaveLength(200);
    expect(rest).toHaveLength(21);
    expect(rest[0]).toBe('secret DEPLOY_TOKEN (as is) in many.log line 1: line 0 [secret:DEPLOY_TOKEN]');
    expect(rest[20]).toBe('secret DEPLOY_TOKEN in many.log: … and 5 more lines');
  });

  it('names a secret by its place when its name would show the value', () => {
    const secret = { name: 'TOKEN_abcd1234', value: 'abcd1234' };
    const report = checkSecretsHidden({ secrets: [secret], texts: [{ source: 'node.log', text: 'token abcd1234' }] });
    expect(report.evidence).toEqual(['secret #1 (as is) in node.log line 1: token [secret:#1]']);
  });

  it('redacts a value in the source itself', () => {
    const report = checkSecretsHidden({ secrets: [TOKEN], texts: [{ source: `GET /api/v1/runs?q=${TOKEN.value}`, text: TOKEN.value }] });
    expect(report.verdict).toBe('broken');
    expect(everything(report)).not.toContain(TOKEN.value);
  });

  it('is not exercised without secrets or without texts, and notes short values it skips', () => {
    const texts = [{ source: 'node.log', text: 'abc' }];
    expect(checkSecretsHidden({ secrets: [], texts }).verdict).toBe('not exercised');
    expect(checkSecretsHidden({ secrets: [TOKEN], texts: [] }).verdict).toBe('not exercised');
    const onlyMissing = checkSecretsHidden({ secrets: [TOKEN], texts: [{ source: 'gone.log', text: '', shortfall: 'does not exist: not searched' }] });
    expect(onlyMissing.verdict).toBe('not exercised');
    expect(onlyMissing.notes).toContain('gone.log: does not exist: not searched');
    const short = checkSecretsHidden({ secrets: [{ name: 'PIN', value: 'abc' }], texts });
    expect(short.verdict).toBe('not exercised');
    expect(short.notes).toContain('not looked for (values under 4 characters turn up by chance): secret PIN');
    expect(short.evidence).toEqual([]);
  });

  it('notes the texts it could not search in full', () => {
    const report = checkSecretsHidden({
      secrets: [TOKEN],
      texts: [
        { source: 'a.log', text: 'quiet' },
        { source: 'b.log', text: '', shortfall: 'does not exist: not searched' },
      ],
    });
    expect(report.verdict).toBe('held');
    expect(report.notes[0]).toMatch(/^searched 1 text, 5 bytes \(files: 1\)/);
    expect(report.notes).toContain('b.log: does not exist: not searched');
  });
});

describe('secretForms', () => {
  it('are distinct, never empty, JSON-escaped only from 8 characters', () => {
    const forms = secretForms('a"b/c d');
    expect(new Set(forms.map((f) => f.text)).size).toBe(forms.length);
    expect(forms.map((f) => f.encoding)).not.toContain('JSON-escaped');
    expect(forms.map((f) => f.text)).toContain('a%22b%2Fc%20d');
    expect(secretForms('a"b/c d e').map((f) => f.text)).toContain('a\\"b/c d e');
    expect(secretForms('')).toEqual([]);
  });
});

describe('readSecretTexts', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('reads the files it finds, notes the ones missing and the ones read in part', async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'kici-secrets-'));
    const small = path.join(dir, 'node-a.log');
    const large = path.join(dir, 'node-b.log');
    writeFileSync(small, 'hello\n');
    writeFileSync(large, '0123456789');
    const missing = path.join(dir, 'node-c.log');
    expect(await readSecretTexts([small, missing, large, dir], 4)).toEqual([
      { source: small, text: 'hell', shortfall: 'only its first 4 of 6 bytes searched' },
      { source: missing, text: '', shortfall: 'does not exist: not searched' },
      { source: large, text: '0123', shortfall: 'only its first 4 of 10 bytes searched' },
      { source: dir, text: '', shortfall: 'not a file: not searched' },
    ]);
    expect(await readSecretTexts([small])).toEqual([{ source: small, text: 'hello\n' }]);
  });
});

describe('scrubberFor (what a report quotes besides the evidence)', () => {
  it('replaces every form of every secret by its name, and leaves other text alone', () => {
    const scrub = scrubberFor([TOKEN, PASSWORD]);
    const base64 = Buffer.from(TOKEN.value).toString('base64');
    const text = `node-2 exited: token=${TOKEN.value} auth=${base64} pw=${encodeURIComponent(PASSWORD.value)}; see node-2.log`;
    const out = scrub(text);
    expect(out).not.toContain(TOKEN.value);
    expect(out).not.toContain(base64);
    expect(out).not.toContain(encodeURIComponent(PASSWORD.value));
    expect(out).toContain('[secret:DEPLOY_TOKEN]');
    expect(out).toContain('[secret:DB_PASSWORD]');
    expect(out.startsWith('node-2 exited: token=')).toBe(true);
    expect(out.endsWith('; see node-2.log')).toBe(true);
    expect(scrub('nothing secret here')).toBe('nothing secret here');
  });
});

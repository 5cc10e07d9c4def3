import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startAgent, type RunningAgent } from '../../../src/agent/index.js';
import { StepLogStreamer, type LogChunkMessage } from '../../../src/agent/log-streamer.js';
import { ManualClock } from '../../../src/clock/index.js';
import { SecretMasker, base64Forms } from '../../../src/masking/index.js';
import type { AgentMessage, AgentMessageOf } from '../../../src/transport/agent-protocol/index.js';
import { FakeOrchestrator } from './fake-orchestrator.js';
import { makeDispatch, waitFor } from './fixtures.js';

/**
 * Secrets never leave the agent: a step's output is masked before it becomes a log line, so what
 * reaches the orchestrator (here a fake one on a real socket) shows `***` and never the value.
 */
const TOKEN = 'tok_Sup3rS3cret-v4lue';
const DB_PASSWORD = 'correct horse battery';

const ofType = <T extends AgentMessage['type']>(frames: AgentMessage[], type: T): AgentMessageOf<T>[] =>
  frames.filter((f): f is AgentMessageOf<T> => f.type === type);

/** Every form of the secrets a reader could decode: none may appear anywhere in what was sent. */
function leaks(text: string): string[] {
  const forms = [TOKEN, DB_PASSWORD, encodeURIComponent(DB_PASSWORD), ...base64Forms(TOKEN), ...base64Forms(DB_PASSWORD)];
  return forms.filter((f) => text.includes(f));
}

describe('secret masking on the agent, over a real connection', () => {
  let workDir: string;
  let server: FakeOrchestrator;
  let agent: RunningAgent;

  beforeEach(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'kici-agent-mask-'));
    server = new FakeOrchestrator({ autoAck: true });
    await server.ready;
    agent = startAgent({ url: server.url, token: 'good-token', workDir, reconnectBaseMs: 20 });
    await waitFor(() => agent.connection.state === 'registered', 5000, 'registration');
  });
  afterEach(async () => {
    await agent.shutdown({ force: true, settleMs: 2000 });
    await server.close();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('masks a step\'s secret, its base64 at every alignment and a secret split across writes in the lines that leave it', async () => {
    // The values reach the step through its env here; how a step is given its secrets is not
    // what this test is about, only that whatever it prints of them is masked.
    const script = [
      'echo "plain: $TOKEN and $DB_PASSWORD"',
      'printf "%s" "$TOKEN" | base64',
      'printf "x%s!" "$TOKEN" | base64 -w0; echo',
      'printf "xy%s!?" "$TOKEN" | base64 -w0; echo',
      'printf "Authorization: Basic %s\\n" "$(printf "admin:%s" "$DB_PASSWORD" | base64 -w0)"',
      'echo "url: https://db/?p=correct%20horse%20battery"',
      // Split across two writes of stdout, and three of stderr, with pauses so the agent reads each apart.
      'printf "split: %s" "${TOKEN:0:7}"; sleep 0.3; printf "%s done\\n" "${TOKEN:7}"',
      'printf "%s" "${DB_PASSWORD:0:4}" >&2; sleep 0.3; printf "%s" "${DB_PASSWORD:4:6}" >&2; sleep 0.3; printf "%s\\n" "${DB_PASSWORD:10}" >&2',
      // An unterminated last write that ends in the start of a secret: flushed (masked) at the step's end.
      'printf "tail: %s" "$TOKEN"',
      // An output holding the secret: reported, stored and passed to later jobs, so masked too.
      'echo "token=$TOKEN" >> "$KICI_OUTPUT"',
    ].join('\n');
    server.last!.send(
      makeDispatch({
        secrets: { API_TOKEN: TOKEN, DB_PASSWORD },
        jobConfig: {
          name: 'j',
          checkout: false,
          steps: [
            { name: 'print', run: script, env: { TOKEN, DB_PASSWORD } },
            // A step that fails to start with the secret in its error (its shell does not exist).
            { name: 'bad shell', run: 'true', shell: `/nonexistent/${TOKEN}/sh {0}`, continueOnError: true },
          ],
        },
      }),
    );
    const frames = (): AgentMessage[] => server.last!.frames;
    await waitFor(() => ofType(frames(), 'job.status').some((s) => s.state !== 'running'), 15_000, 'the job to finish');
    await waitFor(() => ofType(frames(), 'log.chunk').some((c) => c.lines.some((l) => l.startsWith('tail:'))), 5000, 'the last line');

    const lines = ofType(frames(), 'log.chunk').filter((c) => c.stepIndex === 0).flatMap((c) => c.lines);
    expect(lines).toEqual(expect.arrayContaining([
      'plain: *** and ***',
      '***',
      'Authorization: Basic YWRtaW46***',
      'url: https://db/?p=***',
      'split: *** done',
      '***',
      'tail: ***',
    ]));
    // The base64 of texts that embed the token after 1 and 2 bytes keep only the characters that mix in the neighbours.
    const b64 = lines.filter((l) => /^[A-Za-z0-9+/=*]+$/.test(l) && l.includes('***') && l !== '***');
    expect(b64.length).toBeGreaterThanOrEqual(2);
    for (const l of b64) expect(l.replace('***', '').replace(/=+$/, '').length).toBeLessThanOrEqual(8);

    // Nothing the agent sent, in any frame, holds a secret in any form.
    const everything = JSON.stringify(frames());
    expect(leaks(everything)).toEqual([]);
    const finished = ofType(frames(), 'job.status').find((s) => s.state !== 'running');
    expect(finished?.data?.outputs).toEqual({ token: '***' });
    const failed = ofType(frames(), 'step.status').find((s) => s.stepIndex === 1 && s.state === 'failed');
    expect(failed?.error).toContain('***');
  });
});

describe('StepLogStreamer masking', () => {
  const streamer = (secrets: string[], chunks: LogChunkMessage[], extra: { maxBytes?: number } = {}) =>
    new StepLogStreamer({ runId: 'r', jobId: 'j', stepIndex: 0, maxBytes: extra.maxBytes ?? 1e9, clock: new ManualClock(0), send: (c) => chunks.push(c), masker: new SecretMasker(secrets) });

  it('masks a secret split across writes, and one cut by the long-line limit', () => {
    const chunks: LogChunkMessage[] = [];
    const s = streamer(['supersecret'], chunks);
    s.write('stdout', Buffer.from('a sup'));
    s.write('stdout', Buffer.from('erse'));
    s.write('stdout', Buffer.from('cret b\n'));
    // The secret straddles the 16 KiB cut of an endless line.
    s.write('stderr', Buffer.from(`${'x'.repeat(16 * 1024 - 4)}supersecret${'y'.repeat(10)}`));
    s.line('[kici] marker with supersecret in it');
    s.finish();
    // Masked before the cut: the cut falls after the mask, not inside the secret.
    expect(chunks.flatMap((c) => c.lines)).toEqual(['a *** b', `${'x'.repeat(16 * 1024 - 4)}***y`, '[kici] marker with *** in it', 'y'.repeat(9)]);
  });

  it('masks a secret split inside a multi-byte character boundary and counts the masked bytes', () => {
    const chunks: LogChunkMessage[] = [];
    const s = streamer(['pässwörd'], chunks);
    const bytes = Buffer.from('pw=pässwörd\n');
    for (let i = 0; i < bytes.length; i++) s.write('stdout', bytes.subarray(i, i + 1));
    s.finish();
    expect(chunks.flatMap((c) => c.lines)).toEqual(['pw=***']);
    expect(s.bytesStreamed).toBe(Buffer.byteLength('pw=***\n'));
  });

  it('flushes a held-back tail at the step\'s end', () => {
    const chunks: LogChunkMessage[] = [];
    const s = streamer(['supersecret'], chunks);
    s.write('stdout', Buffer.from('done, sup'));
    s.finish();
    expect(chunks.flatMap((c) => c.lines)).toEqual(['done, sup']);
  });
});

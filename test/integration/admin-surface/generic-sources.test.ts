import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryBuilderOf } from '../../../src/store/testing.js';
import { signBody } from '../../../src/webhooks/index.js';
import { deliver, printingCli, startTestOrchestrator, type TestOrchestrator } from './cli.js';

const SECRETS = {
  initial: 'generic-initial-secret-a1',
  byValue: 'rotated-by-value-b2',
  byFile: 'rotated-from-file-c3',
  byEnv: 'rotated-from-env-d4',
  byStdin: 'rotated-from-stdin-e5',
  bearer: 'bearer-token-f6',
};

let t: TestOrchestrator;
/** Every CLI call goes through here so the last test can check no secret was ever printed. */
const { printed, admin, adminJson } = printingCli(() => t);

async function addGeneric(name: string, extra: string[] = []): Promise<Record<string, unknown>> {
  return adminJson(['source', 'add', 'generic', '--org', 'acme', '--name', name, '--secret', SECRETS.initial, ...extra]);
}

const signed = (secret: string, body: string) => ({ 'x-signature-256': signBody(secret, body) });

beforeAll(async () => {
  t = await startTestOrchestrator('kici-admin-surface-');
});

afterAll(async () => {
  await t?.stop();
});

describe('source update-generic', () => {
  it('changes only the options given and keeps the rest', async () => {
    const s = await addGeneric('stripe', ['--event-type-header', 'X-Stripe-Event', '--rate-limit', '120']);
    const updated = await adminJson(['source', 'update-generic', s.id as string, '--rate-limit', '300', '--name', 'new-name']);
    expect(updated).toMatchObject({ id: s.id, name: 'new-name', rateLimit: 300, eventTypeHeader: 'X-Stripe-Event', verification: 'hmac_sha256', hasSecret: true });
    const more = await adminJson([
      'source', 'update-generic', s.id as string,
      '--event-type-path', '$.event.type', '--max-payload', '2048', '--allowed-events', 'charge,refund', '--signature-header', 'X-Sig',
    ]);
    expect(more).toMatchObject({ name: 'new-name', eventTypePath: '$.event.type', maxPayload: 2048, allowedEvents: ['charge', 'refund'], signatureHeader: 'X-Sig' });
    const got = await adminJson(['source', 'get', s.id as string]);
    expect(got).toMatchObject({ name: 'new-name', rateLimit: 300, maxPayload: 2048 });
  });

  it('rotates the secret from a value, @file, --from-env and --stdin; deliveries follow the new secret', async () => {
    const s = await addGeneric('rotating');
    const id = s.id as string;
    const file = path.join(t.tmp, 'rotated.txt');
    writeFileSync(file, `${SECRETS.byFile}\n`);
    process.env.KICI_TEST_ROTATED_SECRET = SECRETS.byEnv;
    const modes: [string[], string, { stdin?: string }?][] = [
      [['--secret', SECRETS.byValue], SECRETS.byValue],
      [['--secret', `@${file}`], SECRETS.byFile],
      [['--from-env', 'KICI_TEST_ROTATED_SECRET'], SECRETS.byEnv],
      [['--stdin'], SECRETS.byStdin, { stdin: `${SECRETS.byStdin}\n` }],
    ];
    let previous = SECRETS.initial;
    for (const [args, secret, options] of modes) {
      const r = await admin(['source', 'update-generic', id, ...args], options);
      expect(r.code, r.err).toBe(0);
      const body = JSON.stringify({ secret: 'rotation', mode: args[0] });
      expect((await deliver(t.orch, 'acme', id, body, signed(previous, body))).status).toBe(401);
      expect((await deliver(t.orch, 'acme', id, body, signed(secret, body))).status).toBe(202);
      previous = secret;
    }
    delete process.env.KICI_TEST_ROTATED_SECRET;
  });

  it('switches verification to bearer_token with a new token', async () => {
    const s = await addGeneric('to-bearer');
    const updated = await adminJson(['source', 'update-generic', s.id as string, '--verification', 'bearer_token', '--secret', SECRETS.bearer]);
    expect(updated).toMatchObject({ verification: 'bearer_token', hasSecret: true });
    const body = '{"a":1}';
    expect((await deliver(t.orch, 'acme', s.id as string, body, { authorization: `Bearer ${SECRETS.bearer}` })).status).toBe(202);
    expect((await deliver(t.orch, 'acme', s.id as string, body, { authorization: 'Bearer wrong-token' })).status).toBe(401);
  });

  it('refuses bad usage with exit 2: nothing to change, a bad number, an unknown method, a git source', async () => {
    const s = await addGeneric('usage');
    const id = s.id as string;
    for (const args of [[], ['--rate-limit', 'many'], ['--max-payload', '0'], ['--verification', 'rot13']]) {
      const r = await admin(['source', 'update-generic', id, ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).not.toBe('');
    }
    const git = await adminJson(['source', 'add', 'git', '--org', 'acme', '--name', 'repo', '--url', 'file:///srv/git/repo.git', '--secret', SECRETS.initial]);
    const r = await admin(['source', 'update-generic', git.id as string, '--name', 'x']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('git source');
  });

  it('answers an unknown source with exit 1 and the API error', async () => {
    const r = await admin(['source', 'update-generic', 'src_doesnotexist', '--name', 'x']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/no source src_doesnotexist.*404/);
  });
});

describe('PATCH /sources/:id', () => {
  const patch = async (id: string, body: unknown) => {
    const token = (await import('node:fs')).readFileSync(path.join(t.tmp, 'data', 'admin-token'), 'utf8').trim();
    return fetch(`${t.orch.url}/api/v1/sources/${id}`, { method: 'PATCH', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  };

  it('names the bad field, refuses unknown fields and git-only settings, and clears a setting with null', async () => {
    const s = await addGeneric('patched', ['--event-type-header', 'X-Kind']);
    const bad = await patch(s.id as string, { rateLimit: -1 });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/^rateLimit:/);
    expect((await patch(s.id as string, { colour: 'blue' })).status).toBe(400);
    const gitOnly = await patch(s.id as string, { defaultBranch: 'dev' });
    expect(((await gitOnly.json()) as { error: { message: string } }).error.message).toMatch(/^defaultBranch: not a setting of generic/);
    const cleared = await patch(s.id as string, { eventTypeHeader: null });
    expect(cleared.status).toBe(200);
    expect(((await cleared.json()) as Record<string, unknown>).eventTypeHeader).toBeUndefined();
  });

  it('refuses a name already used in the organisation with 409', async () => {
    await addGeneric('taken');
    const s = await addGeneric('wants-taken');
    expect((await patch(s.id as string, { name: 'taken' })).status).toBe(409);
  });

  it('refuses to require a signature from a source that has no secret', async () => {
    const open = await adminJson(['source', 'add', 'generic', '--org', 'acme', '--name', 'open', '--verification', 'none']);
    const r = await patch(open.id as string, { verification: 'hmac_sha256' });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { error: { message: string } }).error.message).toMatch(/^secret: required/);
  });
});

describe('source enable / disable', () => {
  it('a disabled source answers a correctly signed delivery with 404; enabled again, 202', async () => {
    const s = await addGeneric('toggled');
    const id = s.id as string;
    const body = '{"event":"ping"}';
    const disabled = await admin(['source', 'disable', id]);
    expect(disabled.code).toBe(0);
    expect(disabled.out).toContain(`disabled ${id}`);
    expect((await adminJson(['source', 'get', id])).enabled).toBe(false);
    const refused = await deliver(t.orch, 'acme', id, body, signed(SECRETS.initial, body));
    expect(refused.status).toBe(404);
    expect((refused.json.error as { code: string }).code).toBe('source_not_found');
    expect((await adminJson(['source', 'enable', id])).enabled).toBe(true);
    expect((await deliver(t.orch, 'acme', id, body, signed(SECRETS.initial, body))).status).toBe(202);
  });

  it('exits 1 for an unknown source', async () => {
    expect((await admin(['source', 'disable', 'src_nosuchsource'])).code).toBe(1);
  });
});

describe('rate limit', () => {
  it('accepts N deliveries a minute, then answers 429 with Retry-After; raising the limit lets more in', async () => {
    const s = await addGeneric('limited', ['--rate-limit', '3']);
    const id = s.id as string;
    const statuses: number[] = [];
    let last: Awaited<ReturnType<typeof deliver>> | undefined;
    for (let i = 0; i < 4; i++) {
      const body = JSON.stringify({ n: i });
      last = await deliver(t.orch, 'acme', id, body, signed(SECRETS.initial, body));
      statuses.push(last.status);
    }
    expect(statuses).toEqual([202, 202, 202, 429]);
    expect(Number(last!.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(last!.retryAfter)).toBeLessThanOrEqual(60);
    expect((last!.json.error as { code: string }).code).toBe('rate_limited');
    // An unsigned flood is refused before counting, so it cannot use up the quota.
    expect((await deliver(t.orch, 'acme', id, '{}')).status).toBe(401);
    await adminJson(['source', 'update-generic', id, '--rate-limit', '10']);
    const body = '{"n":"after"}';
    expect((await deliver(t.orch, 'acme', id, body, signed(SECRETS.initial, body))).status).toBe(202);
    // 0 lifts the limit altogether.
    expect((await adminJson(['source', 'update-generic', id, '--rate-limit', '0', '--allowed-events', ''])).rateLimit).toBe(0);
    const burst: number[] = [];
    for (let i = 0; i < 8; i++) {
      const b = JSON.stringify({ burst: i });
      burst.push((await deliver(t.orch, 'acme', id, b, signed(SECRETS.initial, b))).status);
    }
    expect(burst.every((s) => s === 202)).toBe(true);
  });
});

describe('source remove', () => {
  const sealedRows = async (id: string) =>
    (await queryBuilderOf(t.orch.store).selectFrom('sealed_secrets').select('key').where('scope', '=', `source/${id}`).execute()).length;
  // Soft-deleted rows are invisible to the repositories: the test-only door shows the row itself.
  const sourceRow = (id: string) => queryBuilderOf(t.orch.store).selectFrom('sources').select(['id', 'deleted_at']).where('id', '=', id).executeTakeFirst();

  it('refuses without --yes, and refuses a generic source without --generic (exit 2, nothing removed)', async () => {
    const s = await addGeneric('keep-me');
    const id = s.id as string;
    const noYes = await admin(['source', 'remove', id, '--generic']);
    expect(noYes.code).toBe(2);
    expect(noYes.err).toContain('--yes');
    const noGeneric = await admin(['source', 'remove', id, '--yes']);
    expect(noGeneric.code).toBe(2);
    expect(noGeneric.err).toContain('--generic');
    expect((await adminJson(['source', 'get', id])).id).toBe(id);
  });

  it('soft-deletes by default: gone from list and webhooks, row and secrets kept; --hard then purges it', async () => {
    const s = await addGeneric('soft');
    const id = s.id as string;
    const r = await admin(['source', 'remove', id, '--generic', '--yes']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(`removed ${id}`);
    const list = await adminJson<{ id: string }[]>(['source', 'list', '--org', 'acme']);
    expect(list.map((x) => x.id)).not.toContain(id);
    const body = '{}';
    expect((await deliver(t.orch, 'acme', id, body, signed(SECRETS.initial, body))).status).toBe(404);
    expect((await sourceRow(id))?.deleted_at).toBeInstanceOf(Date);
    expect(await sealedRows(id)).toBe(1);
    // The name is free again for a new source.
    await addGeneric('soft');

    const purged = await adminJson(['source', 'remove', id, '--generic', '--hard', '--yes']);
    expect(purged).toMatchObject({ id, removed: 'hard' });
    expect(await sourceRow(id)).toBeUndefined();
    expect(await sealedRows(id)).toBe(0);
  });

  it('--hard deletes a live source with its sealed secrets at once', async () => {
    const s = await addGeneric('hard');
    const id = s.id as string;
    expect(await sealedRows(id)).toBe(1);
    const r = await admin(['source', 'remove', id, '--generic', '--hard', '--yes']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('permanently');
    expect(await sourceRow(id)).toBeUndefined();
    expect(await sealedRows(id)).toBe(0);
    expect((await admin(['source', 'get', id])).code).toBe(1);
  });

  it('DELETE checks the kind it is told to expect (409) before removing anything', async () => {
    const git = await adminJson(['source', 'add', 'git', '--org', 'acme', '--name', 'git-kind', '--url', 'file:///srv/git/k.git', '--secret', SECRETS.initial]);
    const token = (await import('node:fs')).readFileSync(path.join(t.tmp, 'data', 'admin-token'), 'utf8').trim();
    const res = await fetch(`${t.orch.url}/api/v1/sources/${git.id}?kind=generic&hard=true`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(409);
    expect((await sourceRow(git.id as string))?.deleted_at).toBeNull();
    expect((await fetch(`${t.orch.url}/api/v1/sources/src_gone?hard=true`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } })).status).toBe(404);
  });

  it('removes a git source without --generic, and refuses --generic on it', async () => {
    const git = await adminJson(['source', 'add', 'git', '--org', 'acme', '--name', 'git-remove', '--url', 'file:///srv/git/x.git', '--secret', SECRETS.initial]);
    const wrong = await admin(['source', 'remove', git.id as string, '--generic', '--yes']);
    expect(wrong.code).toBe(2);
    expect((await adminJson(['source', 'remove', git.id as string, '--yes'])).removed).toBe('soft');
  });
});

describe('source list --org', () => {
  it('lists the generic sources of that organisation and no other', async () => {
    const other = await adminJson(['source', 'add', 'generic', '--org', 'globex', '--name', 'elsewhere', '--verification', 'none']);
    const list = await adminJson<{ id: string; orgId: string; kind: string; name: string }[]>(['source', 'list', '--org', 'acme']);
    expect(list.length).toBeGreaterThan(0);
    expect(list.every((s) => s.orgId === 'acme')).toBe(true);
    expect(list.filter((s) => s.kind === 'generic').map((s) => s.name)).toEqual(expect.arrayContaining(['new-name', 'rotating', 'toggled']));
    expect(list.map((s) => s.id)).not.toContain(other.id);
    const table = await admin(['source', 'list', '--org', 'globex']);
    expect(table.out).toContain('elsewhere');
    expect(table.out).toContain('generic');
  });
});

describe('secrets', () => {
  it('never appear in anything kici-admin printed', () => {
    const all = printed.join('\n');
    expect(all.length).toBeGreaterThan(0);
    for (const secret of Object.values(SECRETS)) expect(all).not.toContain(secret);
  });
});

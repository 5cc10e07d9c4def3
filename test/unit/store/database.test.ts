import { describe, expect, it } from 'vitest';
import { openStore } from '../../../src/store/index.js';

describe('openStore', () => {
  it('refuses a non-PostgreSQL URL without echoing it', async () => {
    const error = (await openStore({ url: 'mysql://root:pa55word@db/app', dataDir: '/nonexistent' }).catch(
      (e: unknown) => e,
    )) as Error;
    expect(error.message).toMatch(/postgres:\/\//);
    expect(error.message).not.toContain('pa55word');
  });

  it('fails at open with a readable message that leaves the password out', async () => {
    const error = (await openStore({ url: 'postgres://kici:pa55word@127.0.0.1:1/kici', dataDir: '/nonexistent' }).catch(
      (e: unknown) => e,
    )) as Error;
    expect(error.message).toContain('cannot connect to PostgreSQL at 127.0.0.1:1/kici');
    expect(error.message).not.toContain('pa55word');
  });
});

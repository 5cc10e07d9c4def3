/** A member of a cluster needs storage every member shares: the database or S3, never the filesystem. */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/server/config.js';
import { sharedSettings, type JoinedNode } from '../../../src/server/cluster-start.js';
import { loadConfig } from '../../../src/server/index.js';

const joined = { secrets: { databaseUrl: 'postgres://db/kici', secretKey: 'ab'.repeat(32), caKey: 'ca' } } as unknown as JoinedNode;

describe('a joined node\'s storage', () => {
  it('may be the database or an S3 bucket', () => {
    expect(sharedSettings(loadConfig({ KICI_STORAGE_TYPE: 'database' }), joined).databaseUrl).toBe('postgres://db/kici');
    expect(sharedSettings(loadConfig({ KICI_STORAGE_TYPE: 's3', KICI_STORAGE_BUCKET: 'kici-ci' }), joined).databaseUrl).toBe('postgres://db/kici');
  });

  it('is refused on the filesystem, naming both shared kinds', () => {
    const refuse = () => sharedSettings(loadConfig({}), joined);
    expect(refuse).toThrow(ConfigError);
    expect(refuse).toThrow(/KICI_STORAGE_TYPE: .*set KICI_STORAGE_TYPE=database .* or s3/);
  });
});

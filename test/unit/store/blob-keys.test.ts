import { describe, expect, it } from 'vitest';
import { deliveryCopyKey } from '../../../src/store/index.js';

describe('blob keys', () => {
  it('keeps dot-only delivery ids inside their folder', () => {
    expect(deliveryCopyKey('..', '..')).toBe('event-log/%2E%2E/%2E%2E.json.gz');
  });
});

import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/server/config.js';
import { orchestratorVariable } from '../../../src/server/variables.js';
import { problemsOf } from './config-problems.js';

describe('KICI_RETENTION_DELIVERY_DAYS and KICI_RETENTION_LOG_DAYS', () => {
  it('keep bodies 30 days and logs 90 by default; 0 keeps forever', () => {
    expect(loadConfig({}).retention).toEqual({ deliveryDays: 30, logDays: 90 });
    expect(loadConfig({ KICI_RETENTION_DELIVERY_DAYS: '0', KICI_RETENTION_LOG_DAYS: '7' }).retention).toEqual({ deliveryDays: 0, logDays: 7 });
  });

  it('refuse what is not a whole number of days, naming the variable', () => {
    expect(problemsOf({ KICI_RETENTION_DELIVERY_DAYS: '1.5' })).toEqual([expect.stringMatching(/^KICI_RETENTION_DELIVERY_DAYS: must be a whole number of days/)]);
    expect(problemsOf({ KICI_RETENTION_LOG_DAYS: '-1' })).toEqual([expect.stringMatching(/^KICI_RETENTION_LOG_DAYS: must be 0 \(keep forever\)/)]);
    expect(problemsOf({ KICI_RETENTION_LOG_DAYS: '365000' })).toEqual([expect.stringMatching(/^KICI_RETENTION_LOG_DAYS: must be at most 36500/)]);
    expect(problemsOf({ KICI_RETENTION_LOG_DAYS: '30d' })).toHaveLength(1);
  });

  it('are in the registry with their defaults', () => {
    expect(orchestratorVariable('KICI_RETENTION_DELIVERY_DAYS')).toMatchObject({ handling: 'read', default: '30' });
    expect(orchestratorVariable('KICI_RETENTION_LOG_DAYS')).toMatchObject({ handling: 'read', default: '90' });
  });
});

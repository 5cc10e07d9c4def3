/** Seeds 376-500 of the cluster simulation (see seed-range.ts). */
import { describe } from 'vitest';
import { seedSlice } from './seed-range.js';

describe('cluster simulation', () => seedSlice(4));

/** Seeds 126-250 of the cluster simulation (see seed-range.ts). */
import { describe } from 'vitest';
import { seedSlice } from './seed-range.js';

describe('cluster simulation', () => seedSlice(2));

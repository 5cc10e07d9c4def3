/**
 * A bounded map that forgets the least recently used entry first: the caches of lock files by
 * commit (the git provider's and the GitHub client's) share it. Imports nothing of ours.
 */
export { Lru } from './lru.js';

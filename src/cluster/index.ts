export { SingleNodeLeadership, type Leadership } from './leadership.js';
export { ShardTable, SHARD_COUNT, type ShardAssignment } from './shard-table.js';
export { CoordinatorDuties, type Duty } from './duties.js';

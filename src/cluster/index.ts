export { SingleNodeLeadership, type Leadership } from './leadership.js';
export { ShardTable, type ShardAssignment } from './shard-table.js';
export { CoordinatorDuties, type Duty } from './duties.js';

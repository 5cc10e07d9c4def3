/**
 * The dispatch room's door: how runs reach agents and agents reach runs. The run domain's
 * Dispatcher over the agents' AgentHub (a job request becomes the frame an agent is sent), and
 * the agents' JobEvents routed to the RunActor that owns each job. The orchestrator and the
 * cluster simulator both build these; what differs between them comes in as parts.
 */
export { HubDispatcher, type DispatchFrame, type HubDispatcherParts } from './hub-dispatcher.js';
export { jobEventsToRuns, runReports, RunMovedError, type JobEventsParts, type RunReports } from './job-events.js';

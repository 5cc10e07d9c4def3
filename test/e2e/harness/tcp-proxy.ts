/**
 * The loopback TCP proxy the e2e tests put between an agent and the orchestrator to cut, hold or
 * freeze its link: the chaos harness's fault proxy, under the name these tests have always used.
 */
export { FaultProxy as TcpProxy } from '../../../chaos/index.js';

import type { Db, StepLogStore } from '../../store/index.js';

/** What the admin API needs from the rest of the orchestrator, handed in by the composition root. */
export interface AdminDeps {
  db: Db;
  secrets: {
    put(orgId: string, scope: string, name: string, value: string): Promise<void>;
    get(orgId: string, scope: string, name: string): Promise<string | null>;
  };
  logs: StepLogStore;
  /** Close the live connections of agents using a revoked token; returns how many. */
  disconnectToken(tokenId: string): number;
  /** Ask a run's actor to cancel it (issue 3 grows this). */
  sourcesChanged?(): void;
  /** Resolves when the run is terminal or `ms` passed; lets log following end with the run. */
  runIsTerminal(runId: string): Promise<boolean>;
}

/**
 * Addresses of the web view's pages as people outside reach them, for links kici hands to other
 * systems (GitHub's check runs). `publicUrl` is where browsers reach the orchestrator, base path
 * included; the page is chosen by the hash, as `web/src/app.ts` routes it.
 */
export function runPageLink(publicUrl: string, runId: string, jobId?: string): string {
  const run = `${publicUrl}/ui/#/runs/${encodeURIComponent(runId)}`;
  return jobId === undefined ? run : `${run}/jobs/${encodeURIComponent(jobId)}`;
}

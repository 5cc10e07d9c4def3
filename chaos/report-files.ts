/**
 * Where a campaign's report is kept: in one directory, `report.json` (the CampaignReport as is,
 * for tools and for comparing campaigns), `summary.txt` (what the terminal showed) and one
 * `timeline-<scenario>-<seed>.svg` per scenario (to look at in a browser or a CI artefact).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CampaignReport, ScenarioReport } from './campaign.js';
import { formatCampaign } from './campaign-summary.js';
import { timelineFileName, timelineSvg } from './timeline.js';

export interface CampaignFiles {
  json: string;
  summary: string;
  timelines: string[];
}

/** Writes the three kinds of files into `dir` (created if missing, files in it replaced); returns their paths. */
export async function writeCampaign(dir: string, report: CampaignReport): Promise<CampaignFiles> {
  await mkdir(dir, { recursive: true });
  const json = path.join(dir, 'report.json');
  const summary = path.join(dir, 'summary.txt');
  await writeFile(summary, formatCampaign(report));
  const timelines: string[] = [];
  for (const [scenario, name] of timelineNames(report)) {
    const file = path.join(dir, name);
    await writeFile(file, timelineSvg(scenario));
    timelines.push(file);
  }
  // Last: CI counts scenarios from it, so it exists only once everything else was written.
  await writeFile(json, `${JSON.stringify(report, null, 2)}\n`);
  return { json, summary, timelines };
}

/**
 * Each scenario's timeline file name; should two scenarios come to the same one (same name and
 * seed, or names that differ only in characters a file name can't hold), the later ones get
 * `-2`, `-3`, … so that none overwrites another.
 */
function timelineNames(report: CampaignReport): [ScenarioReport, string][] {
  const taken = new Set<string>();
  return report.scenarios.map((scenario) => {
    const base = timelineFileName(scenario).replace(/\.svg$/, '');
    let name = `${base}.svg`;
    for (let n = 2; taken.has(name); n++) name = `${base}-${n}.svg`;
    taken.add(name);
    return [scenario, name];
  });
}

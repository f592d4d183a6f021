/**
 * `losscape report`: one self-contained HTML file, the viewer script and the
 * scene inlined; opens from disk, no server.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { LosscapeError } from '../../core/errors.js';
import { pageHtml, sceneTitle, viewerBundle } from './page-html.js';
import { loadScene } from './scene.js';

export interface ReportResult {
  path: string;
  bytes: number;
  /** Runs that could not be included (their error is shown in the page). */
  failed: { run: string; error: string }[];
}

export async function writeReport(runs: string[], out: string): Promise<ReportResult> {
  const scene = await loadScene(runs);
  const failed = scene.runs.filter((r) => r.error).map((r) => ({ run: r.source, error: r.error! }));
  if (failed.length === scene.runs.length) throw new LosscapeError('input', failed.map((f) => f.error).join('; '));
  const html = pageHtml({ title: sceneTitle(scene), script: { inline: viewerBundle() }, scene });
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, html);
  return { path: out, bytes: Buffer.byteLength(html), failed };
}

/**
 * The viewer page: the bundled script (dist/viewer/app/viewer.js, built by
 * `npm run build`) wrapped in a small HTML shell, either pointing at the
 * server's scene.json or with the scene and the script inlined (report).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Scene } from '../shared/scene.js';

/** Where the viewer bundle is, from dist/viewer/server/ or from src/viewer/server/ (tests). */
export function viewerBundlePath(): string {
  const candidates = ['../app/viewer.js', '../../../dist/viewer/app/viewer.js'].map((p) => fileURLToPath(new URL(p, import.meta.url)));
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error('the viewer bundle is not built (dist/viewer/app/viewer.js is missing): run `npm run build`');
  return found;
}

export function viewerBundle(): string {
  return readFileSync(viewerBundlePath(), 'utf8');
}

export interface PageOptions {
  title: string;
  mode?: 'app' | 'render';
  /** Inline this script (report) or load it from a URL (server). */
  script: { inline: string } | { src: string };
  /** Inline the scene (report); otherwise the page fetches sceneUrl. */
  scene?: Scene;
  sceneUrl?: string;
}

/** JSON safe inside <script>: no "</script", no "<!--". */
export function scriptJson(v: unknown): string {
  return JSON.stringify(v)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** JavaScript safe inside an inline <script>. */
export function inlineScript(js: string): string {
  return js.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

export function pageHtml(o: PageOptions): string {
  const config = { mode: o.mode ?? 'app', ...(o.sceneUrl ? { sceneUrl: o.sceneUrl } : {}) };
  const script =
    'inline' in o.script
      ? `<script type="module">${inlineScript(o.script.inline)}</script>`
      : `<script type="module" src="${escapeHtml(o.script.src)}"></script>`;
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="generator" content="losscape">',
    `<title>${escapeHtml(o.title)} · losscape</title>`,
    '<link rel="icon" href="data:,">',
    '<style>html,body{margin:0;background:#0b0e15;color:#d9e0ee;font-family:system-ui,sans-serif}</style>',
    '</head>',
    '<body>',
    '<div id="app"><noscript>The losscape viewer needs JavaScript.</noscript></div>',
    `<script type="application/json" id="losscape-config">${scriptJson(config)}</script>`,
    o.scene ? `<script type="application/json" id="losscape-scene">${scriptJson(o.scene)}</script>` : '',
    script,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

export function sceneTitle(scene: Scene): string {
  return scene.runs.map((r) => r.name).join(' vs ') || 'losscape';
}

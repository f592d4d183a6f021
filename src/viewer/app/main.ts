/**
 * Viewer entry point. The page carries a config block (`#losscape-config`:
 * mode and where the scene is) and, in a report, the scene itself
 * (`#losscape-scene`). Mode `app` is the interactive viewer; mode `render`
 * is the offscreen movie renderer that `losscape video` and `snapshot` drive
 * through `window.losscape`.
 */

import type { Scene } from '../shared/scene.js';
import { App, type AppApi } from './app.js';
import { checkScene } from './data.js';
import { DecodedScene } from './decoded-scene.js';
import { errorCard, h } from './dom.js';
import { type MovieOptions, MovieRenderer, type MovieResult, type StillOptions } from './movie-renderer.js';
import css from './style.css?inline';

interface Config {
  mode?: 'app' | 'render';
  sceneUrl?: string;
}

export interface LosscapeGlobal {
  ready: boolean;
  error: string | null;
  app?: AppApi;
  still?: (o: StillOptions) => string;
  framePng?: (o: MovieOptions, i: number) => string;
  movie?: (o: MovieOptions) => Promise<MovieResult>;
  frameCount?: number;
}

const g = window as unknown as { losscape: LosscapeGlobal };
g.losscape = { ready: false, error: null };

function jsonBlock<T>(id: string): T | null {
  const el = document.getElementById(id);
  if (!el?.textContent?.trim()) return null;
  return JSON.parse(el.textContent) as T;
}

async function loadScene(cfg: Config): Promise<Scene> {
  let doc: unknown;
  try {
    doc = jsonBlock<unknown>('losscape-scene');
  } catch (e) {
    throw new Error(`the scene embedded in this page is corrupt: ${(e as Error).message}`);
  }
  if (doc === null) {
    const url = cfg.sceneUrl ?? 'scene.json';
    let res: Response;
    try {
      res = await fetch(url, { cache: 'no-store' });
    } catch (e) {
      throw new Error(`could not reach the losscape server for ${url} (${(e as Error).message}); is \`losscape view\` still running?`);
    }
    if (!res.ok) throw new Error(`the server answered ${res.status} for ${url}`);
    try {
      doc = await res.json();
    } catch {
      throw new Error(`${url} is not valid JSON`);
    }
  }
  return checkScene(doc);
}

function fail(root: HTMLElement, title: string, message: string): void {
  root.replaceChildren(h('div', { class: 'ls-fullpage' }, errorCard(title, message)));
  root.dataset.ready = '1';
  g.losscape.error = message;
  g.losscape.ready = true;
}

async function main(): Promise<void> {
  document.head.append(h('style', {}, css));
  const root = document.getElementById('app') ?? document.body.appendChild(h('div', { id: 'app' }));
  let cfg: Config = {};
  try {
    cfg = jsonBlock<Config>('losscape-config') ?? {};
  } catch {
    /* defaults */
  }
  const params = new URLSearchParams(location.search);
  const mode = params.get('mode') === 'render' ? 'render' : (cfg.mode ?? 'app');
  let scene: Scene;
  try {
    scene = await loadScene(cfg);
  } catch (e) {
    return fail(root, 'this run', (e as Error).message);
  }
  const decoded = new DecodedScene(scene);
  if (decoded.ok.length === 0) {
    const msgs = scene.runs.map((r, i) => decoded.errors[i] ?? `${r.name}: nothing to show`);
    const name = scene.runs.length === 1 ? scene.runs[0]!.name : `${scene.runs.length} runs`;
    return fail(root, name, msgs.join('\n') || 'the scene has no runs');
  }
  if (mode === 'render') {
    const renderer = new MovieRenderer(decoded);
    root.append(renderer.canvas);
    Object.assign(g.losscape, {
      still: (o: StillOptions) => renderer.still(o),
      framePng: (o: MovieOptions, i: number) => renderer.framePng(o, i),
      movie: (o: MovieOptions) => renderer.movie(o),
      frameCount: decoded.frameCount,
    });
  } else {
    const app = new App(root, decoded);
    // release the WebGL contexts when the page goes away for good (not into the back/forward cache)
    window.addEventListener('pagehide', (e) => {
      if (!e.persisted) app.dispose();
    });
    g.losscape.app = app.api();
    g.losscape.frameCount = decoded.frameCount;
  }
  g.losscape.ready = true;
}

void main().catch((e: unknown) => {
  const root = document.getElementById('app') ?? document.body;
  fail(root, 'this run', `the viewer failed to start: ${(e as Error).message ?? String(e)}`);
});

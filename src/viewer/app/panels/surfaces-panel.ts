/**
 * The 3-D views: one lit surface per run, cameras in sync (dragging one view
 * moves them all); a run that cannot be shown gets its error card instead.
 * Clicking a view focuses its run.
 */
import { colormap } from '../../../core/colormap.js';
import { stepAt } from '../data.js';
import { errorCard, h } from '../dom.js';
import type { AxisLabel } from '../draw/axes3d.js';
import { DEFAULT_CAMERA, SurfaceView } from '../draw/surface3d.js';
import type { ViewState } from '../state.js';
import type { Panel, PanelFactory, PanelHost, PanelState } from './panel.js';

interface RunView {
  index: number;
  root: HTMLElement;
  view?: SurfaceView;
  label?: HTMLElement;
  /** The axis labels, positioned over the canvas after every render. */
  axes?: HTMLElement;
  observer?: ResizeObserver;
  needsRender: boolean;
}

class SurfacesPanel implements Panel {
  readonly id = 'surfaces';
  readonly title = '3-D surfaces';
  readonly slot = 'main';
  readonly element: HTMLElement;
  readonly controls: HTMLElement[];
  readonly keys: Record<string, () => void>;
  private views: RunView[];
  private shown: PanelState['looks'] | null = null;
  private syncing = false;

  constructor(private host: PanelHost) {
    const runs = host.scene.scene.runs;
    this.views = runs.map((r, i) => this.runView(i, r.name));
    this.element = h('section', { class: `ls-views ls-n${runs.length}` }, ...this.views.map((v) => v.root));
    this.controls = [h('button', { class: 'ls-btn', title: 'Reset camera (R)', onclick: () => this.resetCamera() }, '⟲')];
    this.keys = { r: () => this.resetCamera(), R: () => this.resetCamera() };
  }

  private runView(index: number, name: string): RunView {
    const v: RunView = { index, root: h('div', { class: 'ls-view', 'data-run': index }), needsRender: true };
    const err = this.host.scene.errors[index];
    if (err) {
      v.root.append(errorCard(name, err));
      return v;
    }
    const canvas = h('canvas', { class: 'ls-gl' });
    v.label = h('div', { class: 'ls-view-label' });
    v.axes = h('div', { class: 'ls-axes', 'aria-hidden': 'true' });
    v.root.append(canvas, v.axes, v.label);
    v.view = new SurfaceView(canvas, { interactive: true });
    v.view.controls!.addEventListener('change', () => this.syncCameras(v));
    v.root.addEventListener('pointerdown', () => this.host.select({ focus: index }));
    v.observer = new ResizeObserver(() => this.resize(v));
    v.observer.observe(v.root);
    return v;
  }

  render(s: PanelState): void {
    for (const v of this.views) v.root.classList.toggle('ls-focus', v.index === s.focus && this.views.length > 1);
    if (s.looks === this.shown) return;
    this.shown = s.looks;
    const cmap = colormap(s.view.colormap);
    for (const v of this.views) {
      const look = s.looks[v.index];
      if (!v.view || !look) continue;
      v.view.show({ ...look, exaggeration: s.view.exaggeration, cmap, contours: 12 });
      v.needsRender = true;
      if (v.label) v.label.textContent = this.label(v.index, s.view);
    }
  }

  animate(): void {
    for (const v of this.views) v.view?.controls?.update();
    for (const v of this.views) {
      if (v.needsRender && v.view) {
        v.view.render();
        if (v.axes) placeAxisLabels(v.axes, v.view.axisLabels);
        v.needsRender = false;
      }
    }
  }

  dispose(): void {
    for (const v of this.views) {
      v.observer?.disconnect();
      v.view?.dispose();
    }
  }

  private resize(v: RunView): void {
    if (!v.view) return;
    const r = v.root.getBoundingClientRect();
    v.view.setSize(Math.max(1, Math.round(r.width)), Math.max(1, Math.round(r.height)), Math.min(window.devicePixelRatio || 1, 2));
    v.needsRender = true;
  }

  private resetCamera(): void {
    for (const v of this.views) {
      if (!v.view) continue;
      v.view.setCamera(DEFAULT_CAMERA);
      v.view.controls?.update();
      v.needsRender = true;
    }
  }

  private syncCameras(from: RunView): void {
    from.needsRender = true;
    if (this.syncing) return;
    this.syncing = true;
    const cam = from.view!.getCamera();
    for (const v of this.views) {
      if (v === from || !v.view) continue;
      v.view.setCamera(cam);
      v.view.controls?.update();
      v.needsRender = true;
    }
    this.syncing = false;
  }

  /** The corner label: run name (when comparing), then the checkpoint or the PCA plane's explained variance. */
  private label(i: number, view: ViewState): string {
    const run = this.host.scene.runs[i];
    if (!run) return '';
    const parts: string[] = [];
    if (this.views.length > 1) parts.push(run.scene.name);
    if (view.plane === 'pca' && run.pca) {
      const ex = run.pca.explained;
      parts.push(ex ? `PCA plane · ${(ex[0] * 100).toFixed(0)}% + ${(ex[1] * 100).toFixed(0)}% of variance` : 'PCA plane');
      return parts.join('  ·  ');
    }
    const st = stepAt(run, view.t);
    if (st) parts.push(`checkpoint ${st.checkpoint}`);
    return parts.join('  ·  ');
  }
}

/** One absolutely placed element per axis label (reused between renders). */
function placeAxisLabels(box: HTMLElement, labels: AxisLabel[]): void {
  while (box.children.length > labels.length) box.lastElementChild!.remove();
  while (box.children.length < labels.length) box.append(h('span', {}));
  labels.forEach((l, k) => {
    const el = box.children[k] as HTMLElement;
    el.className = `ls-axis-label ls-axis-${l.kind}`;
    el.textContent = l.text;
    const shift = l.align === 'center' ? '-50%' : l.align === 'right' ? '-100%' : '0';
    el.style.transform = `translate(${l.x.toFixed(1)}px, ${l.y.toFixed(1)}px) translate(${shift}, -50%)`;
  });
}

export const surfacesPanel: PanelFactory = (host) => new SurfacesPanel(host);

/**
 * The interactive viewer: 3-D surfaces (one per run, cameras in sync), the
 * heatmap + contour panel, 1-D slices, the Hessian panel, the timeline with
 * training curves. All state lives in `opts` (+ probe, focus, playback); any
 * change marks what needs redrawing and the animation loop does the rest.
 */
import { colormap, SEQUENTIAL_COLORMAPS } from '../../core/colormap.js';
import { ACC, drawTrainingCurves, LOSS } from './curves.js';
import { framePos, metricsOf, nearestIndex, pathPointAt, stepAt, untransform } from './data.js';
import { HiDpiCanvas, h } from './dom.js';
import { drawHeatmap, type HeatmapLayout } from './heatmap.js';
import { DEFAULTS, type Layer, type Model, type Options, type Plane, type RunLook } from './model.js';
import { DARK, drawLinePlot } from './plot.js';
import { DEFAULT_CAMERA, SurfaceView } from './surface3d.js';
import { fmt } from './ticks.js';

interface ViewSlot {
  index: number;
  root: HTMLElement;
  canvas?: HTMLCanvasElement;
  view?: SurfaceView;
  label?: HTMLElement;
  needsRender: boolean;
}

export interface AppApi {
  state(): Options & { playing: boolean; probe: [number, number] | null; focus: number; frames: number };
  set(o: Partial<Options> & { playing?: boolean; probe?: [number, number] | null; focus?: number }): void;
  /** Resolves after the next drawn frame. */
  settled(): Promise<void>;
}

export class App {
  private opts: Options = { ...DEFAULTS };
  private playing = false;
  private speed = 1;
  private probe: [number, number] | null = null;
  private focus = 0;
  private slots: ViewSlot[] = [];
  private looks: (RunLook | null)[] = [];
  private dirtyData = true;
  private dirtyPanels = true;
  private syncing = false;
  private lastTime = 0;
  private waiters: (() => void)[] = [];
  private heatLayout: HeatmapLayout | null = null;

  private heat = new HiDpiCanvas('ls-heat', () => this.panelsDirty());
  private sliceX = new HiDpiCanvas('ls-slice', () => this.panelsDirty());
  private sliceY = new HiDpiCanvas('ls-slice', () => this.panelsDirty());
  private hess = new HiDpiCanvas('ls-heat', () => this.panelsDirty());
  private curves = new HiDpiCanvas('ls-curves', () => this.panelsDirty());
  private el: Record<string, HTMLElement> = {};

  constructor(
    private root: HTMLElement,
    private model: Model,
  ) {
    // open on the last checkpoint (the trained model); play starts from the first
    this.opts.t = model.frameCount - 1;
    this.build();
    this.loop = this.loop.bind(this);
    requestAnimationFrame(this.loop);
  }

  api(): AppApi {
    return {
      state: () => ({ ...this.opts, playing: this.playing, probe: this.probe, focus: this.focus, frames: this.model.frameCount }),
      set: (o) => {
        const { playing, probe, focus, ...rest } = o;
        if (playing !== undefined) this.setPlaying(playing);
        if (probe !== undefined) this.probe = probe;
        if (focus !== undefined) this.setFocus(focus);
        this.update(rest);
      },
      settled: () => new Promise<void>((res) => this.waiters.push(res)),
    };
  }

  /* ---------------- layout ---------------- */

  private build(): void {
    const m = this.model;
    const runs = m.scene.runs;
    const compare = runs.length > 1;
    const title = compare ? runs.map((r) => r.name).join('  vs  ') : (runs[0]?.name ?? 'losscape');
    const running = runs.some((r) => r.status === 'running');
    const sub =
      (compare ? `${runs.length} runs, side by side` : [runs[0]?.model, runs[0]?.data].filter(Boolean).join(' · ')) +
      (running ? ' · still running: reload for new frames' : '');
    document.title = `${title} · losscape`;

    const select = (name: string, options: [string, string][], value: string) =>
      h(
        'select',
        { 'data-ctl': name, onchange: (e) => this.onControl(name, (e.target as HTMLSelectElement).value) },
        ...options.map(([v, t]) => {
          const o = h('option', { value: v }, t);
          if (v === value) o.selected = true;
          return o;
        }),
      );
    const range = (name: string, min: number, max: number, step: number, value: number) =>
      h('input', { type: 'range', 'data-ctl': name, min, max, step, value, oninput: (e) => this.onControl(name, (e.target as HTMLInputElement).value) });

    const layers: [string, string][] = [
      ['loss', 'loss'],
      ['accuracy', 'accuracy'],
    ];
    if (m.hasHessian) layers.push(['hessian', '|λmin/λmax|']);
    const log = h('input', { type: 'checkbox', 'data-ctl': 'log', onchange: (e) => this.onControl('log', (e.target as HTMLInputElement).checked ? '1' : '') });
    (log as HTMLInputElement).checked = this.opts.log;

    const warnings = runs.flatMap((r) => r.warnings.map((w) => (compare ? `${r.name}: ${w}` : w)));
    const warn = warnings.length
      ? h('details', { class: 'ls-warn' }, h('summary', {}, `⚠ ${warnings.length}`), h('ul', {}, ...warnings.map((w) => h('li', {}, w))))
      : null;

    const controls = h(
      'div',
      { class: 'ls-controls' },
      m.hasPca
        ? h(
            'label',
            {},
            'Plane',
            select(
              'plane',
              [
                ['frames', 'checkpoints'],
                ['pca', 'PCA trajectory'],
              ],
              this.opts.plane,
            ),
          )
        : null,
      h('label', {}, 'Layer', select('layer', layers, this.opts.layer)),
      h(
        'label',
        {},
        'Colours',
        select(
          'colormap',
          SEQUENTIAL_COLORMAPS.map((c) => [c, c]),
          this.opts.colormap,
        ),
      ),
      h('label', { class: 'ls-check' }, log, 'log scale'),
      h(
        'label',
        { class: 'ls-check', title: 'scale heights and colours to the frame on screen instead of the whole run' },
        h('input', { type: 'checkbox', 'data-ctl': 'fit', onchange: (e) => this.onControl('fit', (e.target as HTMLInputElement).checked ? '1' : '') }),
        'fit frame',
      ),
      h('label', {}, 'Z clip', range('clip', 0.05, 1, 0.01, this.opts.clip)),
      h('label', {}, 'Height', range('exaggeration', 0.1, 4, 0.05, this.opts.exaggeration)),
      h('button', { class: 'ls-btn', title: 'Reset camera (R)', onclick: () => this.resetCamera() }, '⟲'),
      warn,
    );

    const header = h(
      'header',
      { class: 'ls-top' },
      h('div', { class: 'ls-brand' }, 'losscape'),
      h('div', { class: 'ls-title' }, h('h1', {}, title), h('span', { class: 'ls-sub' }, sub)),
      controls,
    );

    const views = h('section', { class: `ls-views ls-n${runs.length}` });
    runs.forEach((r, i) => {
      const slot: ViewSlot = { index: i, root: h('div', { class: 'ls-view', 'data-run': i }), needsRender: true };
      const err = m.errors[i];
      if (err) {
        slot.root.append(errorCard(r.name, err));
      } else {
        slot.canvas = h('canvas', { class: 'ls-gl' });
        slot.label = h('div', { class: 'ls-view-label' });
        slot.root.append(slot.canvas, slot.label);
        slot.view = new SurfaceView(slot.canvas, { interactive: true });
        slot.view.controls!.addEventListener('change', () => this.syncCameras(slot));
        slot.root.addEventListener('pointerdown', () => this.setFocus(i));
        new ResizeObserver(() => this.resizeView(slot)).observe(slot.root);
      }
      this.slots.push(slot);
      views.append(slot.root);
    });
    this.focus = Math.max(
      0,
      m.errors.findIndex((e) => !e),
    );

    const tabs = compare
      ? h('div', { class: 'ls-tabs' }, ...runs.map((r, i) => h('button', { class: 'ls-tab', 'data-run': i, onclick: () => this.setFocus(i) }, r.name)))
      : null;
    this.el.heatTitle = h('span', {}, 'Loss');
    this.el.readout = h('div', { class: 'ls-readout' }, 'click the map to slice through a point');
    this.el.hessNote = h('span', { class: 'ls-muted' }, '');
    this.heat.canvas.addEventListener('click', (e) => this.onHeatClick(e));
    this.heat.canvas.addEventListener('dblclick', () => {
      this.probe = null;
      this.panelsDirty();
    });
    this.heat.canvas.addEventListener('mousemove', (e) => this.onHeatHover(e));
    const side = h(
      'aside',
      { class: 'ls-side' },
      tabs,
      h(
        'div',
        { class: 'ls-card' },
        h('div', { class: 'ls-card-title' }, this.el.heatTitle, h('span', { class: 'ls-muted' }, 'contours · click to slice')),
        this.heat.canvas,
        this.el.readout,
      ),
      h('div', { class: 'ls-card' }, h('div', { class: 'ls-card-title' }, h('span', {}, '1-D slices')), this.sliceX.canvas, this.sliceY.canvas),
      m.hasHessian
        ? h('div', { class: 'ls-card ls-hessian' }, h('div', { class: 'ls-card-title' }, h('span', {}, '|λmin/λmax|'), this.el.hessNote), this.hess.canvas)
        : null,
    );

    const n = m.frameCount;
    this.el.play = h('button', { class: 'ls-btn ls-play', title: 'Play / pause (space)', onclick: () => this.setPlaying(!this.playing) }, '▶');
    this.el.scrub = h('input', {
      type: 'range',
      class: 'ls-scrub',
      'data-ctl': 't',
      min: 0,
      max: Math.max(n - 1, 0),
      step: 0.01,
      value: this.opts.t,
      oninput: (e) => {
        this.setPlaying(false);
        this.update({ t: Number((e.target as HTMLInputElement).value) });
      },
    });
    this.el.frameLabel = h('div', { class: 'ls-frame-label' });
    const speed = h(
      'select',
      { class: 'ls-speed', title: 'checkpoints per second', onchange: (e) => (this.speed = Number((e.target as HTMLSelectElement).value)) },
      ...[0.25, 0.5, 1, 2, 4].map((v) => {
        const o = h('option', { value: v }, `${v}×`);
        if (v === this.speed) o.selected = true;
        return o;
      }),
    );
    const footer = h(
      'footer',
      { class: 'ls-timeline' },
      h('div', { class: 'ls-transport' }, this.el.play, this.el.scrub, speed, this.el.frameLabel),
      this.curves.canvas,
    );
    if (n <= 1) (this.el.scrub as HTMLInputElement).disabled = true;

    const main = h('main', { class: 'ls-main' }, views, side);
    this.root.replaceChildren(h('div', { class: 'ls-app' }, header, main, footer));
    this.el.views = views;

    window.addEventListener('keydown', (e) => this.onKey(e));
    this.setFocus(this.focus);
  }

  private resizeView(slot: ViewSlot): void {
    if (!slot.view) return;
    const r = slot.root.getBoundingClientRect();
    slot.view.setSize(Math.max(1, Math.round(r.width)), Math.max(1, Math.round(r.height)), Math.min(window.devicePixelRatio || 1, 2));
    slot.needsRender = true;
  }

  /* ---------------- state ---------------- */

  private onControl(name: string, value: string): void {
    switch (name) {
      case 'layer':
        this.update({ layer: value as Layer });
        return;
      case 'colormap':
        this.update({ colormap: value });
        return;
      case 'plane':
        this.probe = null;
        this.update({ plane: value as Plane });
        return;
      case 'log':
        this.update({ log: value === '1' });
        return;
      case 'fit':
        this.update({ fit: value === '1' });
        return;
      case 'clip':
        this.update({ clip: Number(value) });
        return;
      case 'exaggeration':
        this.update({ exaggeration: Number(value) });
        return;
    }
  }

  update(o: Partial<Options>): void {
    Object.assign(this.opts, o);
    this.opts.t = Math.min(Math.max(this.opts.t, 0), this.model.frameCount - 1);
    // keep the controls in sync when changed from the keyboard or the API
    const set = (name: string, v: string | boolean) => {
      const c = this.root.querySelector<HTMLInputElement | HTMLSelectElement>(`[data-ctl="${name}"]`);
      if (!c) return;
      if (c instanceof HTMLInputElement && c.type === 'checkbox') c.checked = Boolean(v);
      else if (document.activeElement !== c || name === 't') c.value = String(v);
    };
    if (o.log !== undefined) set('log', o.log);
    if (o.fit !== undefined) set('fit', o.fit);
    if (o.layer !== undefined) set('layer', o.layer);
    if (o.colormap !== undefined) set('colormap', o.colormap);
    if (o.plane !== undefined) set('plane', o.plane);
    if (o.t !== undefined) set('t', String(this.opts.t));
    this.dirtyData = true;
    this.dirtyPanels = true;
  }

  private panelsDirty(): void {
    this.dirtyPanels = true;
  }

  private setPlaying(p: boolean): void {
    if (p && this.opts.t >= this.model.frameCount - 1) this.update({ t: 0 });
    this.playing = p && this.model.frameCount > 1;
    this.el.play!.textContent = this.playing ? '❚❚' : '▶';
    this.lastTime = performance.now();
  }

  private setFocus(i: number): void {
    if (this.model.errors[i]) return;
    this.focus = i;
    for (const s of this.slots) s.root.classList.toggle('ls-focus', s.index === i && this.slots.length > 1);
    for (const b of this.root.querySelectorAll('.ls-tab')) b.classList.toggle('ls-active', Number((b as HTMLElement).dataset.run) === i);
    this.panelsDirty();
  }

  private resetCamera(): void {
    for (const s of this.slots) {
      if (!s.view) continue;
      s.view.setCamera(DEFAULT_CAMERA);
      s.view.controls?.update();
      s.needsRender = true;
    }
  }

  private syncCameras(from: ViewSlot): void {
    from.needsRender = true;
    if (this.syncing) return;
    this.syncing = true;
    const cam = from.view!.getCamera();
    for (const s of this.slots) {
      if (s === from || !s.view) continue;
      s.view.setCamera(cam);
      s.view.controls?.update();
      s.needsRender = true;
    }
    this.syncing = false;
  }

  private onKey(e: KeyboardEvent): void {
    // let form controls handle their own keys (space on a focused button would toggle twice)
    if (['INPUT', 'SELECT', 'BUTTON', 'TEXTAREA', 'SUMMARY'].includes((e.target as HTMLElement).tagName)) return;
    const n = this.model.frameCount;
    if (e.key === ' ') {
      e.preventDefault();
      this.setPlaying(!this.playing);
    } else if (e.key === 'ArrowRight') {
      this.setPlaying(false);
      this.update({ t: Math.min(n - 1, Math.floor(this.opts.t + 1e-6) + 1) });
    } else if (e.key === 'ArrowLeft') {
      this.setPlaying(false);
      this.update({ t: Math.max(0, Math.ceil(this.opts.t - 1e-6) - 1) });
    } else if (e.key === 'l' || e.key === 'L') this.update({ log: !this.opts.log });
    else if (e.key === 'r' || e.key === 'R') this.resetCamera();
  }

  /* ---------------- frame loop ---------------- */

  private loop(now: number): void {
    requestAnimationFrame(this.loop);
    if (this.playing) {
      const dt = Math.min((now - this.lastTime) / 1000, 0.1);
      let t = this.opts.t + dt * this.speed;
      const last = this.model.frameCount - 1;
      if (t >= last) {
        t = last;
        this.setPlaying(false);
      }
      this.update({ t });
    }
    this.lastTime = now;
    for (const s of this.slots) s.view?.controls?.update();
    if (this.dirtyData) {
      this.dirtyData = false;
      this.looks = this.slots.map((s) => this.model.look(s.index, this.opts));
      const cmap = colormap(this.opts.colormap);
      this.slots.forEach((s, i) => {
        const look = this.looks[i];
        if (!s.view || !look) return;
        s.view.show({ ...look, exaggeration: this.opts.exaggeration, cmap, contours: 12 });
        s.needsRender = true;
        if (s.label) s.label.textContent = this.viewLabel(s.index);
      });
    }
    for (const s of this.slots) {
      if (s.needsRender && s.view) {
        s.view.render();
        s.needsRender = false;
      }
    }
    if (this.dirtyPanels) {
      this.dirtyPanels = false;
      this.drawPanels();
    }
    this.root.dataset.ready = '1';
    for (const w of this.waiters.splice(0)) w();
  }

  private viewLabel(i: number): string {
    const run = this.model.runs[i];
    if (!run) return '';
    const parts: string[] = [];
    if (this.slots.length > 1) parts.push(run.scene.name);
    if (this.opts.plane === 'pca' && run.pca) {
      const ex = run.pca.explained;
      parts.push(ex ? `PCA plane · ${(ex[0] * 100).toFixed(0)}% + ${(ex[1] * 100).toFixed(0)}% of variance` : 'PCA plane');
      return parts.join('  ·  ');
    }
    const st = stepAt(run, this.opts.t);
    if (st) parts.push(`checkpoint ${st.checkpoint}`);
    return parts.join('  ·  ');
  }

  /* ---------------- 2-D panels ---------------- */

  private drawPanels(): void {
    const look = this.looks[this.focus] ?? null;
    const run = this.model.runs[this.focus];
    const o = this.opts;
    const cmap = colormap(o.colormap);
    const pca = o.plane === 'pca' && !!run?.pca?.field;

    // frame label
    if (run) {
      const st = stepAt(run, o.t);
      const p = framePos(run.frames.length, o.t);
      const k = p.w < 0.5 ? p.a : p.b;
      const mt = metricsOf(run, k);
      const bits = [
        st ? `checkpoint ${st.checkpoint}` : '',
        st?.epoch !== undefined ? `epoch ${st.epoch}` : '',
        st ? `step ${st.nearStep}` : '',
        mt?.train_loss !== undefined ? `loss ${fmt(mt.train_loss)}` : '',
        mt?.train_acc !== undefined ? `acc ${fmt(mt.train_acc)}%` : '',
      ].filter(Boolean);
      this.el.frameLabel!.textContent = `${bits.join(' · ')}   (${k + 1}/${run.frames.length})`;
    }

    if (look) {
      const heatLayer = look.layer;
      const values = heatLayer === 'accuracy' ? look.acc! : heatLayer === 'hessian' ? look.ratio! : look.heights;
      const lo = heatLayer === 'loss' ? look.lo : look.colorLo;
      const hi = heatLayer === 'loss' ? look.cap : look.colorHi;
      this.el.heatTitle!.textContent =
        heatLayer === 'accuracy' ? 'Train accuracy' : heatLayer === 'hessian' ? '|λmin/λmax|' : o.log ? 'Train loss (log scale)' : 'Train loss';
      const probe = this.probe ?? centre(look);
      const ctx = this.heat.context();
      const pcaLabels = pca && run?.pca?.explained ? run.pca.explained : null;
      this.heatLayout = drawHeatmap(
        ctx,
        { x: 0, y: 0, w: this.heat.canvas.width, h: this.heat.canvas.height },
        {
          field: look.grid,
          values,
          lo,
          hi,
          cmap,
          contours: 10,
          label: look.layer === 'loss' ? look.colorLabel : fmt,
          xLabel: pcaLabels ? `PC1 (${(pcaLabels[0] * 100).toFixed(0)}%)` : pca ? 'PC1' : 'α',
          yLabel: pcaLabels ? `PC2 (${(pcaLabels[1] * 100).toFixed(0)}%)` : pca ? 'PC2' : 'β',
          probe,
          path: look.path,
          marker: pca && run ? pathPointAt(run, o.t) : null,
        },
        { ...DARK, scale: this.heat.ratio },
      );
      this.drawSlices(look, probe);
    }

    if (run && this.model.hasHessian) {
      const ctx = this.hess.context();
      const ratio = look?.ratio;
      if (ratio && look && !pca) {
        const [lo, hi] = o.fit ? [0, Math.max(...ratio.filter(Number.isFinite), 1e-9)] : this.model.ratioRange();
        drawHeatmap(
          ctx,
          { x: 0, y: 0, w: this.hess.canvas.width, h: this.hess.canvas.height },
          {
            field: look.grid,
            values: ratio,
            lo,
            hi,
            cmap,
            contours: 6,
            xLabel: 'α',
            yLabel: 'β',
            probe: this.probe ?? centre(look),
          },
          { ...DARK, scale: this.hess.ratio },
        );
        this.el.hessNote!.textContent = 'negative vs positive curvature';
      } else {
        this.el.hessNote!.textContent = pca ? 'not on the PCA plane' : 'no Hessian map at this checkpoint';
      }
    }
    this.drawCurves();
  }

  private drawSlices(look: RunLook, probe: [number, number]): void {
    const g = look.grid;
    const i0 = nearestIndex(g.ys, probe[1]);
    const j0 = nearestIndex(g.xs, probe[0]);
    const acc = look.layer === 'accuracy' && look.acc;
    const src = acc ? look.acc! : look.heights;
    const val = (k: number) => (acc ? src[k]! : untransform(look.scale, src[k]!));
    const row = Float64Array.from({ length: g.nx }, (_, j) => val(i0 * g.nx + j));
    const col = Float64Array.from({ length: g.ny }, (_, i) => val(i * g.nx + j0));
    const pca = this.opts.plane === 'pca';
    const axis = acc ? { label: 'train acc %' } : { label: this.opts.log ? 'train loss (log)' : 'train loss', log: this.opts.log, shift: look.scale.shift };
    const xa = pca ? 'PC1' : 'α';
    const ya = pca ? 'PC2' : 'β';
    const color = acc ? ACC : LOSS;
    const draw = (c: HiDpiCanvas, xs: Float64Array, ys: Float64Array, label: string, marker: number) =>
      drawLinePlot(
        c.context(),
        { x: 0, y: 0, w: c.canvas.width, h: c.canvas.height },
        {
          series: [{ xs, ys, color, width: 1.8 }],
          x: { label },
          left: axis,
          markerX: marker,
        },
        { ...DARK, scale: c.ratio },
      );
    draw(this.sliceX, g.xs, row, `${xa}   (${ya} = ${fmt(g.ys[i0]!)})`, g.xs[j0]!);
    draw(this.sliceY, g.ys, col, `${ya}   (${xa} = ${fmt(g.xs[j0]!)})`, g.ys[i0]!);
  }

  private drawCurves(): void {
    const run = this.model.runs[this.focus];
    const c = this.curves;
    const ctx = c.context();
    if (!run) return;
    drawTrainingCurves(ctx, { x: 0, y: 0, w: c.canvas.width, h: c.canvas.height }, run, this.opts, { ...DARK, scale: c.ratio });
  }

  private onHeatClick(e: MouseEvent): void {
    const p = this.heatPoint(e);
    if (!p) return;
    this.probe = p;
    this.panelsDirty();
  }

  private onHeatHover(e: MouseEvent): void {
    const p = this.heatPoint(e);
    const look = this.looks[this.focus];
    if (!p || !look) return;
    const g = look.grid;
    const k = nearestIndex(g.ys, p[1]) * g.nx + nearestIndex(g.xs, p[0]);
    const pca = this.opts.plane === 'pca';
    const bits = [`${pca ? 'PC1' : 'α'} ${fmt(p[0])}`, `${pca ? 'PC2' : 'β'} ${fmt(p[1])}`, `loss ${fmt(untransform(look.scale, look.heights[k]!))}`];
    if (look.acc) bits.push(`acc ${fmt(look.acc[k]!)}%`);
    if (look.ratio) bits.push(`|λmin/λmax| ${fmt(look.ratio[k]!)}`);
    this.el.readout!.textContent = bits.join('  ·  ');
  }

  private heatPoint(e: MouseEvent): [number, number] | null {
    if (!this.heatLayout) return null;
    const r = this.heat.canvas.getBoundingClientRect();
    return this.heatLayout.toData((e.clientX - r.left) * this.heat.ratio, (e.clientY - r.top) * this.heat.ratio);
  }
}

/** The point nearest (0, 0) inside the grid (the trained parameters, usually). */
function centre(look: RunLook): [number, number] {
  const g = look.grid;
  return [g.xs[nearestIndex(g.xs, 0)]!, g.ys[nearestIndex(g.ys, 0)]!];
}

export function errorCard(name: string, message: string): HTMLElement {
  return h(
    'div',
    { class: 'ls-error', role: 'alert' },
    h('div', { class: 'ls-error-icon' }, '!'),
    h('h2', {}, `Can't show ${name}`),
    h('p', { class: 'ls-error-msg' }, message),
    h(
      'p',
      { class: 'ls-muted' },
      'Check the folder given to losscape (it should hold manifest.json and surfaces/), or wait until the first surface is finished.',
    ),
  );
}

/**
 * The interactive viewer's shell: the page layout (header with the
 * view-state controls, main area, side column, timeline), the state (view
 * state, focused run, crosshair, playback), the keyboard, and the frame loop
 * that draws the panels (panels/registry.ts) after every change.
 */
import { showInControls, viewControls } from './controls.js';
import { framePos, nearestIndex, stepAt } from './data.js';
import type { DecodedScene, RunLook } from './decoded-scene.js';
import { h } from './dom.js';
import type { Panel, PanelHost, PanelState, Slot } from './panels/panel.js';
import { PANELS } from './panels/registry.js';
import { DEFAULT_VIEW, type ViewState } from './state.js';

type Selection = { probe?: [number, number] | null; focus?: number };

export interface AppApi {
  state(): ViewState & { playing: boolean; probe: [number, number] | null; focus: number; frames: number };
  set(o: Partial<ViewState> & { playing?: boolean } & Selection): void;
  /** Resolves after the next drawn frame. */
  settled(): Promise<void>;
}

export class App {
  private view: ViewState = { ...DEFAULT_VIEW };
  private playing = false;
  private speed = 1;
  private probe: [number, number] | null = null;
  private focus: number;
  private looks: (RunLook | null)[] = [];
  /** The view state changed: the looks are computed again. */
  private viewChanged = true;
  /** Anything changed: every panel is drawn again. */
  private dirty = true;
  private lastTime = 0;
  private frameRequest = 0;
  private waiters: (() => void)[] = [];
  private panels: Panel[];
  private play = h('button', { class: 'ls-btn ls-play', title: 'Play / pause (space)', onclick: () => this.setPlaying(!this.playing) }, '▶');
  private frameLabel = h('div', { class: 'ls-frame-label' });
  private onKey = (e: KeyboardEvent) => this.key(e);

  constructor(
    private root: HTMLElement,
    private scene: DecodedScene,
  ) {
    // open on the last checkpoint (the trained model); play starts from the first
    this.view.t = scene.frameCount - 1;
    this.focus = Math.max(
      0,
      scene.errors.findIndex((e) => !e),
    );
    const host: PanelHost = {
      scene,
      select: (s) => this.select(s),
      redraw: () => {
        this.dirty = true;
      },
    };
    this.panels = PANELS.flatMap((make) => make(host) ?? []);
    for (const p of this.panels) {
      p.element.dataset.panel = p.id;
      p.element.setAttribute('aria-label', p.title);
    }
    this.build();
    window.addEventListener('keydown', this.onKey);
    this.select({ focus: this.focus });
    this.frameRequest = requestAnimationFrame(this.loop);
  }

  api(): AppApi {
    return {
      state: () => ({ ...this.view, playing: this.playing, probe: this.probe, focus: this.focus, frames: this.scene.frameCount }),
      set: (o) => {
        const { playing, probe, focus, ...rest } = o;
        if (playing !== undefined) this.setPlaying(playing);
        this.select({ probe, focus });
        this.update(rest);
      },
      settled: () => new Promise<void>((res) => this.waiters.push(res)),
    };
  }

  dispose(): void {
    cancelAnimationFrame(this.frameRequest);
    window.removeEventListener('keydown', this.onKey);
    for (const p of this.panels) p.dispose();
  }

  /* ---------------- layout ---------------- */

  private build(): void {
    const runs = this.scene.scene.runs;
    const compare = runs.length > 1;
    const title = compare ? runs.map((r) => r.name).join('  vs  ') : (runs[0]?.name ?? 'losscape');
    const running = runs.some((r) => r.status === 'running');
    const sub =
      (compare ? `${runs.length} runs, side by side` : [runs[0]?.model, runs[0]?.data].filter(Boolean).join(' · ')) +
      (running ? ' · still running: reload for new frames' : '');
    document.title = `${title} · losscape`;

    const controls = viewControls(this.scene, this.view, (c) => this.onControl(c), [...this.panels.flatMap((p) => p.controls ?? []), this.warnings()]);
    const header = h(
      'header',
      { class: 'ls-top' },
      h('div', { class: 'ls-brand' }, 'losscape'),
      h('div', { class: 'ls-title' }, h('h1', {}, title), h('span', { class: 'ls-sub' }, sub)),
      controls,
    );
    const tabs = compare
      ? h('div', { class: 'ls-tabs' }, ...runs.map((r, i) => h('button', { class: 'ls-tab', 'data-run': i, onclick: () => this.select({ focus: i }) }, r.name)))
      : null;
    const side = h('aside', { class: 'ls-side' }, tabs, ...this.slot('side'));
    const main = h('main', { class: 'ls-main' }, ...this.slot('main'), side);
    const footer = h('footer', { class: 'ls-timeline' }, this.transport(), ...this.slot('timeline'));
    this.root.replaceChildren(h('div', { class: 'ls-app' }, header, main, footer));
  }

  private slot(slot: Slot): HTMLElement[] {
    return this.panels.filter((p) => p.slot === slot).map((p) => p.element);
  }

  private warnings(): HTMLElement | null {
    const runs = this.scene.scene.runs;
    const warnings = runs.flatMap((r) => r.warnings.map((w) => (runs.length > 1 ? `${r.name}: ${w}` : w)));
    if (!warnings.length) return null;
    return h('details', { class: 'ls-warn' }, h('summary', {}, `⚠ ${warnings.length}`), h('ul', {}, ...warnings.map((w) => h('li', {}, w))));
  }

  /** Play/pause, the scrubber, the speed and the frame label. */
  private transport(): HTMLElement {
    const n = this.scene.frameCount;
    const scrub = h('input', {
      type: 'range',
      class: 'ls-scrub',
      'data-ctl': 't',
      min: 0,
      max: Math.max(n - 1, 0),
      step: 0.01,
      value: this.view.t,
      oninput: (e) => {
        this.setPlaying(false);
        this.update({ t: Number((e.target as HTMLInputElement).value) });
      },
    });
    if (n <= 1) scrub.disabled = true;
    const speed = h(
      'select',
      { class: 'ls-speed', title: 'checkpoints per second', onchange: (e) => (this.speed = Number((e.target as HTMLSelectElement).value)) },
      ...[0.25, 0.5, 1, 2, 4].map((v) => {
        const o = h('option', { value: v }, `${v}×`);
        if (v === this.speed) o.selected = true;
        return o;
      }),
    );
    return h('div', { class: 'ls-transport' }, this.play, scrub, speed, this.frameLabel);
  }

  /* ---------------- state ---------------- */

  private onControl(change: Partial<ViewState>): void {
    if (change.plane !== undefined) this.probe = null;
    this.update(change);
  }

  private update(change: Partial<ViewState>): void {
    Object.assign(this.view, change);
    this.view.t = Math.min(Math.max(this.view.t, 0), this.scene.frameCount - 1);
    showInControls(this.root, change, this.view.t);
    this.viewChanged = true;
    this.dirty = true;
  }

  private select(s: Selection): void {
    if (s.probe !== undefined) this.probe = s.probe;
    if (s.focus !== undefined && !this.scene.errors[s.focus]) {
      this.focus = s.focus;
      for (const b of this.root.querySelectorAll<HTMLElement>('.ls-tab')) b.classList.toggle('ls-active', Number(b.dataset.run) === s.focus);
    }
    this.dirty = true;
  }

  private setPlaying(p: boolean): void {
    if (p && this.view.t >= this.scene.frameCount - 1) this.update({ t: 0 });
    this.playing = p && this.scene.frameCount > 1;
    this.play.textContent = this.playing ? '❚❚' : '▶';
    this.lastTime = performance.now();
  }

  private key(e: KeyboardEvent): void {
    // let form controls handle their own keys (space on a focused button would toggle twice)
    if (['INPUT', 'SELECT', 'BUTTON', 'TEXTAREA', 'SUMMARY'].includes((e.target as HTMLElement).tagName)) return;
    const n = this.scene.frameCount;
    if (e.key === ' ') {
      e.preventDefault();
      this.setPlaying(!this.playing);
    } else if (e.key === 'ArrowRight') {
      this.setPlaying(false);
      this.update({ t: Math.min(n - 1, Math.floor(this.view.t + 1e-6) + 1) });
    } else if (e.key === 'ArrowLeft') {
      this.setPlaying(false);
      this.update({ t: Math.max(0, Math.ceil(this.view.t - 1e-6) - 1) });
    } else if (e.key === 'l' || e.key === 'L') this.update({ log: !this.view.log });
    else for (const p of this.panels) p.keys?.[e.key]?.();
  }

  /* ---------------- frame loop ---------------- */

  private loop = (now: number): void => {
    this.frameRequest = requestAnimationFrame(this.loop);
    if (this.playing) this.advance(now);
    this.lastTime = now;
    if (this.dirty) {
      this.dirty = false;
      if (this.viewChanged) {
        this.viewChanged = false;
        this.looks = this.scene.scene.runs.map((_, i) => this.scene.look(i, this.view));
      }
      const state = this.panelState();
      this.showFrameLabel(state);
      for (const p of this.panels) p.render(state);
    }
    for (const p of this.panels) p.animate?.();
    this.root.dataset.ready = '1';
    for (const w of this.waiters.splice(0)) w();
  };

  private advance(now: number): void {
    const dt = Math.min((now - this.lastTime) / 1000, 0.1);
    let t = this.view.t + dt * this.speed;
    const last = this.scene.frameCount - 1;
    if (t >= last) {
      t = last;
      this.setPlaying(false);
    }
    this.update({ t });
  }

  private panelState(): PanelState {
    const look = this.looks[this.focus] ?? null;
    return {
      view: this.view,
      looks: this.looks,
      focus: this.focus,
      run: this.scene.runs[this.focus] ?? null,
      look,
      probe: look ? (this.probe ?? centre(look)) : null,
    };
  }

  /** Checkpoint, epoch, step and metrics of the focused run at the timeline position. */
  private showFrameLabel({ run, view, look }: PanelState): void {
    if (!run) return;
    const st = stepAt(run, view.t);
    const p = framePos(run.frames.length, view.t);
    const k = p.w < 0.5 ? p.a : p.b;
    const losses = this.scene.lossLabels(run, look, view.t);
    const bits = [
      st ? `checkpoint ${st.checkpoint}` : '',
      st?.epoch !== undefined ? `epoch ${st.epoch}` : '',
      st ? `step ${st.nearStep}` : '',
      losses.full,
      losses.centre,
    ].filter(Boolean);
    this.frameLabel.textContent = `${bits.join(' · ')}   (${k + 1}/${run.frames.length})`;
  }
}

/** The grid point nearest (0, 0) (the trained parameters, usually). */
function centre(look: RunLook): [number, number] {
  const g = look.grid;
  return [g.xs[nearestIndex(g.xs, 0)]!, g.ys[nearestIndex(g.ys, 0)]!];
}

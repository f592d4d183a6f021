/**
 * The live playground page: settings from the URL, a LiveSession training in the page, and
 * a loop that interleaves training steps, landscape refreshes, one Hessian point of the
 * |λmin/λmax| map, the decision boundary and the curves. `window.live` exposes the state to
 * tests and benches.
 */
import { defaultDevice, devices } from '@jax-js/jax';
import { gridPoints } from '../../core/grid.js';
import { ensureJax } from '../../model/jax.js';
import { ACTIVATIONS } from '../../model/layers.js';
import { configFromQuery, configToQuery, type LiveConfig, LiveConfig as LiveConfigSchema, OPTIMIZERS } from '../config.js';
import { DIGIT_SETS, decodeDigits, setDigitLoader } from '../digits.js';
import { LiveSession, type LiveSurface, liveGrid, needsReset } from '../session.js';
import { sessionDoc } from '../session-file.js';
import type { LandscapeReply, LandscapeRequest } from './landscape-worker.js';
import LandscapeWorker from './landscape-worker.ts?worker&inline';
import css from './style.css?inline';
import { drawBoundary, drawCurves, drawEdgeOfStability, drawNote, drawRatioMap, type EosRow, LandscapeView } from './views.js';

const BOUNDARY_RES = 64;
const STEPS_PER_TICK = 5;
/** The share of the time Hessian points may take while training runs. */
const HESSIAN_SHARE = 0.25;
/** At most this many landscape workers. */
const MAX_WORKERS = 4;
/**
 * Landscapes handed to the workers at once: one being evaluated and the next already queued, so
 * a worker starts on new weights the moment it finishes instead of waiting for the page's thread
 * (busy with a training step or a Hessian point) to take its reply in and answer.
 */
const QUEUED = 2;

interface Pending {
  req: LandscapeRequest;
  parts: LandscapeReply[];
  posted: number;
}

interface HessianMap {
  n: number;
  next: number;
  ratio: Float64Array;
  lambdaMax: Float64Array;
  surface: LiveSurface;
  started: number;
}

interface Rates {
  /** Milliseconds per landscape: its evaluation on the page's thread, or the time between two landscapes of the workers. */
  surfaces: number[];
  /** The workers' own milliseconds per landscape (the slowest band). */
  worker: number[];
  /** Per landscape of the workers: ms from the page's request to a worker starting on it, and from the last reply to the page taking it in. */
  waits: [number, number][];
  maps: number[];
}

/** The image sets' bundle texts, set by digits.js (written next to the page at build time). */
const BUNDLED: Record<string, string> = (globalThis as { LOSSCAPE_DIGITS?: Record<string, string> }).LOSSCAPE_DIGITS ?? {};
setDigitLoader((set) => {
  const text = BUNDLED[set];
  if (!text) throw new Error(`the ${set} subset is not bundled in this build (digits.js)`);
  return decodeDigits(text);
});

/** Resolves after pending events (worker messages) have run: a MessageChannel round trip, not clamped like a timer. */
function yieldToEvents(): Promise<void> {
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => {
      ch.port1.close();
      resolve();
    };
    ch.port2.postMessage(null);
  });
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

class Playground {
  session!: LiveSession;
  playing = false;
  backend = '';
  lastSurface: LiveSurface | null = null;
  map: HessianMap | null = null;
  lastMap: HessianMap | null = null;
  eos: EosRow[] = [];
  rates: Rates = { surfaces: [], worker: [], waits: [], maps: [] };
  private spent = { hessian: 0, total: 0 };
  saved: string | null = null;
  /** While set (benches), the loop does nothing: no training, no Hessian points. */
  quiet = false;
  private busy: Promise<void> = Promise.resolve();
  private landscape!: LandscapeView;
  /**
   * Landscape workers (wasm only): while training runs, landscapes are evaluated there, the grid's
   * rows split between them. Empty: landscapes are evaluated on the page's thread.
   */
  workers: Worker[] = [];
  /** The landscapes the workers hold (oldest first: one being evaluated, the next queued) and the parts returned so far. */
  private inflight: Pending[] = [];
  private seq = 0;
  /** Bumped by every reset: a worker reply of an older session is dropped. */
  private generation = 0;
  private latest: { theta: Float32Array; step: number } | null = null;
  private lastReply = 0;
  private boundaryNote = false;

  constructor(public config: LiveConfig) {}

  async start(autoplay: boolean): Promise<void> {
    const found = await ensureJax();
    this.backend = found.includes('webgpu') ? 'webgpu' : 'wasm';
    defaultDevice(this.backend as 'wasm');
    $('backend').textContent = `${this.backend} (available: ${devices.filter((d) => found.includes(d)).join(', ')})`;
    this.landscape = new LandscapeView($<HTMLCanvasElement>('landscape'));
    if (this.backend === 'wasm') this.startWorkers();
    this.buildControls();
    await this.reset();
    if (autoplay) this.play();
    void this.loop();
  }

  /**
   * The landscape workers: one per core beyond the page's own (at least one, at most
   * MAX_WORKERS); if a worker cannot start or fails, landscapes are evaluated on the page's thread.
   */
  private startWorkers(): void {
    const n = Math.max(1, Math.min(MAX_WORKERS, (navigator.hardwareConcurrency || 2) - 1));
    try {
      for (let i = 0; i < n; i++) {
        const w = new LandscapeWorker();
        w.postMessage({ digits: BUNDLED });
        w.onmessage = (e: MessageEvent<LandscapeReply>) => this.onLandscape(e.data);
        w.onerror = () => this.stopWorkers();
        this.workers.push(w);
      }
    } catch {
      this.stopWorkers();
    }
  }

  private stopWorkers(): void {
    for (const w of this.workers) w.terminate();
    this.workers = [];
    this.inflight = [];
  }

  /** Hand the latest weights to the workers unless they hold QUEUED landscapes already, a band of grid rows each. */
  private requestLandscape(): void {
    if (!this.workers.length || !this.latest || this.inflight.length >= QUEUED) return;
    const mine = this.inflight.filter((p) => p.req.id === this.generation);
    const newest = mine.length ? mine.at(-1)!.req.step : (this.lastSurface?.step ?? -1);
    if (this.latest.step <= newest) return;
    const rows = this.config.grid;
    const n = Math.min(this.workers.length, rows);
    const req: LandscapeRequest = {
      id: this.generation,
      seq: ++this.seq,
      config: this.config,
      theta: this.latest.theta,
      step: this.latest.step,
      rows: [0, rows],
    };
    this.inflight.push({ req, parts: [], posted: performance.timeOrigin + performance.now() });
    for (let k = 0; k < n; k++) {
      this.workers[k]!.postMessage({ ...req, rows: [Math.round((k * rows) / n), Math.round(((k + 1) * rows) / n)] });
    }
  }

  private onLandscape(r: LandscapeReply): void {
    if (r.error) {
      // a worker could not evaluate: from now on landscapes are evaluated on the page's thread
      this.stopWorkers();
      return;
    }
    const p = this.inflight.find((q) => q.req.seq === r.seq);
    if (!p) return;
    p.parts.push(r);
    if (p.parts.length < Math.min(this.workers.length, p.req.config.grid)) return;
    this.inflight.splice(this.inflight.indexOf(p), 1);
    // dropped: a landscape of an earlier session, of other settings, or older than the one shown
    const req = p.req;
    const current =
      req.id === this.generation && JSON.stringify(req.config) === JSON.stringify(this.config) && (!this.lastSurface || req.step > this.lastSurface.step);
    if (current) {
      const nx = req.config.grid;
      const loss = new Float64Array(nx * nx);
      const acc = new Float64Array(nx * nx);
      for (const part of p.parts) {
        loss.set(part.loss!, part.rows[0] * nx);
        acc.set(part.acc!, part.rows[0] * nx);
      }
      const now = performance.now();
      this.rates.surfaces.push(this.lastReply ? now - this.lastReply : Math.max(...p.parts.map((q) => q.ms ?? 0)));
      this.rates.worker.push(Math.max(...p.parts.map((q) => q.ms ?? Number.NaN)));
      const t = performance.timeOrigin + now;
      this.rates.waits.push([Math.max(...p.parts.map((q) => (q.got ?? t) - p.posted)), t - Math.max(...p.parts.map((q) => q.sent ?? t))]);
      this.lastReply = now;
      const theta = req.theta;
      this.lastSurface = { step: req.step, grid: liveGrid(req.config), values: { loss, acc }, plane: this.session.plane(theta), theta };
      this.landscape.show(this.lastSurface.grid, loss);
    }
    if (this.playing) this.requestLandscape();
  }

  private buildControls(): void {
    const form = $<HTMLFormElement>('settings');
    for (const el of form.querySelectorAll<HTMLInputElement | HTMLSelectElement>('[name]')) {
      const key = el.name as keyof LiveConfig;
      const v = this.config[key];
      if (el instanceof HTMLInputElement && el.type === 'checkbox') el.checked = v as boolean;
      else el.value = v === undefined ? '' : Array.isArray(v) ? v.join(',') : String(v);
      el.addEventListener('change', () => void this.apply());
    }
    $('play').addEventListener('click', () => (this.playing ? this.pause() : this.play()));
    $('step').addEventListener('click', () => void this.stepOnce());
    $('reset').addEventListener('click', () => void this.enqueue(() => this.reset()));
    $('save').addEventListener('click', () => void this.save());
  }

  /** Settings from the form: a data or network change restarts; the rest continue from the current weights. */
  private async apply(): Promise<void> {
    const raw: Record<string, unknown> = { ...this.config };
    for (const el of $<HTMLFormElement>('settings').querySelectorAll<HTMLInputElement | HTMLSelectElement>('[name]')) {
      const v = el instanceof HTMLInputElement && el.type === 'checkbox' ? el.checked : el.value;
      if (v === '' && el.name !== 'hidden') {
        delete raw[el.name];
        continue;
      }
      raw[el.name] = typeof v === 'boolean' ? v : el.name === 'hidden' ? v.split(',').filter(Boolean).map(Number) : /^[\d.e+-]+$/.test(v) ? Number(v) : v;
    }
    const parsed = LiveConfigSchema.safeParse(raw);
    if (!parsed.success) {
      $('message').textContent = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      return;
    }
    const next = parsed.data;
    const restart = needsReset(this.config, next);
    this.config = next;
    history.replaceState(null, '', `?${configToQuery(next, { autoplay: this.playing })}`);
    await this.enqueue(async () => {
      if (restart) await this.reset();
      else await this.session.reconfigure(next);
      this.map = null;
    });
  }

  private enqueue(f: () => Promise<void>): Promise<void> {
    this.busy = this.busy.then(f).catch((e) => this.fail(e));
    return this.busy;
  }

  private fail(e: unknown): void {
    this.pause();
    $('message').textContent = e instanceof Error ? e.message : String(e);
  }

  async reset(): Promise<void> {
    this.boundaryNote = false;
    this.generation++;
    this.latest = null;
    this.lastSurface = null;
    this.session?.dispose();
    this.session = await LiveSession.create(this.config);
    this.map = null;
    this.lastMap = null;
    this.eos = [];
    await this.refresh();
  }

  play(): void {
    this.playing = true;
    $('play').textContent = 'Pause';
  }

  pause(): void {
    this.playing = false;
    $('play').textContent = 'Play';
    // the paused state's landscape, on the page's thread (a worker reply for an earlier step is dropped)
    void this.enqueue(async () => {
      if (this.session && this.lastSurface?.step !== this.session.step) await this.refresh();
    });
  }

  /** Resolves once the work queued so far is done (tests wait on it after pausing). */
  idle(): Promise<void> {
    return this.busy;
  }

  stepOnce(): Promise<void> {
    this.pause();
    return this.enqueue(async () => {
      await this.session.train(1);
      await this.refresh();
    });
  }

  private async loop(): Promise<void> {
    for (;;) {
      if (this.quiet) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      await this.enqueue(async () => {
        const t0 = performance.now();
        if (this.playing) {
          let loss = Number.NaN;
          for (let i = 0; i < STEPS_PER_TICK; i++) {
            loss = await this.session.train(1);
            // let a finished landscape of the workers in (their replies are events; awaiting jax-js alone never yields to them)
            if (this.workers.length) await yieldToEvents();
            // the newest weights go to the worker as soon as it is idle, not only at the end of a tick
            if (this.workers.length && i < STEPS_PER_TICK - 1) {
              this.latest = { theta: await this.session.theta(), step: this.session.step };
              this.requestLandscape();
            }
          }
          if (!Number.isFinite(loss)) throw new Error(`training diverged at step ${this.session.step}: lower the learning rate and reset`);
          await this.refresh(this.workers.length > 0);
        }
        // while playing, Hessian points get at most HESSIAN_SHARE of the time; paused, all of it
        if (!this.playing || this.spent.hessian <= HESSIAN_SHARE * this.spent.total) {
          if (this.workers.length) await yieldToEvents();
          const t1 = performance.now();
          const trained = await this.hessianPoint();
          this.spent.hessian += performance.now() - t1 - trained;
        }
        this.spent.total += performance.now() - t0;
      });
      await new Promise((r) => requestAnimationFrame(() => r(null)));
    }
  }

  /**
   * A new landscape, boundary and curves at the current weights. With `inWorker` the landscape
   * is handed to the worker (shown when it is done) and only the rest is drawn here.
   */
  private async refresh(inWorker = false): Promise<void> {
    if (inWorker) {
      this.latest = { theta: await this.session.theta(), step: this.session.step };
      this.requestLandscape();
    } else {
      const t0 = performance.now();
      const s = await this.session.surface();
      this.rates.surfaces.push(performance.now() - t0);
      this.lastReply = 0;
      this.lastSurface = s;
      this.landscape.show(s.grid, s.values.loss);
    }
    const s = this.lastSurface;
    await this.session.measure();
    if (this.session.data.train.inputShape.length === 1 && this.session.data.train.inputShape[0] === 2) {
      const box = this.session.dataBox();
      const probs = await this.session.boundary(BOUNDARY_RES, box);
      drawBoundary($('boundary'), probs, BOUNDARY_RES, this.session.model.outputDim, box, this.session.data.all);
    } else if (!this.boundaryNote) {
      drawNote($('boundary'), 'images: no decision boundary to draw');
      this.boundaryNote = true;
    }
    drawCurves($('curves'), this.session.batchLoss, this.session.history);
    const h = this.session.history.at(-1)!;
    const centre = s ? s.values.loss[(s.values.loss.length - 1) / 2]! : Number.NaN;
    $('status').textContent =
      `step ${this.session.step} · epoch ${this.session.epoch.toFixed(2)} · train loss ${h.train_loss.toFixed(4)} · acc ${h.train_acc.toFixed(1)} % · ` +
      `test acc ${(h.test_acc ?? Number.NaN).toFixed(1)} % · subset loss ${centre.toFixed(4)}`;
    $('rates').textContent = `${this.surfacesPerSecond().toFixed(1)} landscapes/s · ${this.mapsPerSecond().toFixed(2)} Hessian maps/s`;
  }

  /**
   * One point of the |λmin/λmax| map; a finished map is shown and its centre's λmax recorded
   * against 2/η. While playing with landscape workers, training goes on at the solve's yields
   * (so the workers keep getting new weights); returns the milliseconds spent training there.
   */
  private async hessianPoint(): Promise<number> {
    const s = this.lastSurface;
    if (!s) return 0;
    let trained = 0;
    const between = async () => {
      if (!this.playing || !this.workers.length) return;
      const t0 = performance.now();
      await this.session.train(1);
      this.latest = { theta: await this.session.theta(), step: this.session.step };
      this.requestLandscape();
      trained += performance.now() - t0;
    };
    const n = this.config.hessianGrid;
    if (!this.map) {
      this.map = { n, next: 0, ratio: new Float64Array(n * n).fill(Number.NaN), lambdaMax: new Float64Array(n * n), surface: s, started: performance.now() };
    }
    const m = this.map;
    const pts = gridPoints({ x: { min: -this.config.range, max: this.config.range, n }, y: { min: -this.config.range, max: this.config.range, n } });
    const e = await this.session.eigenAt(m.surface.theta, m.surface.plane, pts[2 * m.next]!, pts[2 * m.next + 1]!, between);
    m.ratio[m.next] = e.ratio;
    m.lambdaMax[m.next] = e.lambdaMax;
    m.next++;
    drawRatioMap($('ratio'), n, m.next === n * n ? m.ratio : (this.lastMap?.ratio ?? m.ratio));
    if (m.next < n * n) return trained;
    this.rates.maps.push(performance.now() - m.started);
    this.lastMap = m;
    this.eos.push({ step: m.surface.step, lambdaMax: m.lambdaMax[(n * n - 1) / 2]!, twoOverLr: 2 / this.config.lr });
    drawEdgeOfStability($('eos'), this.eos);
    this.map = null;
    return trained;
  }

  surfacesPerSecond(): number {
    const r = this.rates.surfaces.slice(-10);
    return r.length ? (1000 * r.length) / r.reduce((a, b) => a + b, 0) : 0;
  }

  mapsPerSecond(): number {
    const r = this.rates.maps.slice(-3);
    return r.length ? (1000 * r.length) / r.reduce((a, b) => a + b, 0) : 0;
  }

  /** Save the session: through `losscape live` when served by it, else as a downloaded file. */
  async save(): Promise<string> {
    const wasPlaying = this.playing;
    this.pause();
    let text = '';
    await this.enqueue(async () => {
      const name = `live-${this.config.data}-step${this.session.step}`;
      text = JSON.stringify(await sessionDoc(this.session, name));
    });
    let where: string;
    if (location.protocol.startsWith('http')) {
      const r = await fetch('api/save', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: text });
      const body = (await r.json()) as { dir?: string; error?: string };
      if (!r.ok || !body.dir) throw new Error(body.error ?? `save failed (${r.status})`);
      where = `saved as run folder ${body.dir}`;
    } else {
      const a = document.createElement('a');
      a.href = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
      a.download = 'live-session.json';
      a.click();
      where = 'downloaded live-session.json: make a run folder with `losscape live --save live-session.json --out runs/live`';
    }
    this.saved = where;
    $('message').textContent = where;
    if (wasPlaying) this.play();
    return where;
  }
}

function page(): string {
  const opt = (values: readonly string[]) => values.map((v) => `<option>${v}</option>`).join('');
  return `
<header><h1>losscape live</h1><span class="muted">backend: <b id="backend">…</b></span>
<span id="rates" class="muted"></span></header>
<aside>
  <div class="buttons"><button id="play">Play</button><button id="step">Step</button><button id="reset">Reset</button><button id="save">Save run</button></div>
  <form id="settings" onsubmit="return false">
    <label>data <select name="data">${opt(['spirals', 'moons', 'circles', 'xor', ...DIGIT_SETS.filter((d) => BUNDLED[d])])}</select></label>
    <label>samples <input name="n" type="number" min="20" step="10"></label>
    <label>noise <input name="noise" type="number" min="0" max="1" step="0.01" placeholder="default"></label>
    <label>network <select name="model">${opt(['mlp', 'cnn'])}</select></label>
    <label>hidden widths (mlp) <input name="hidden" placeholder="64,64"></label>
    <label>activation <select name="activation">${opt(ACTIVATIONS)}</select></label>
    <label class="check"><input name="batchNorm" type="checkbox"> batch norm</label>
    <label class="check" title="hidden layers of equal width add their input before the activation"><input name="skip" type="checkbox"> skip connections</label>
    <label>dropout <input name="dropout" type="number" min="0" max="0.9" step="0.05"></label>
    <label>optimizer <select name="optimizer">${opt(OPTIMIZERS)}</select></label>
    <label>learning rate <input name="lr" type="number" min="0" step="0.001"></label>
    <label>batch size <input name="batchSize" type="number" min="1"></label>
    <label>seed <input name="seed" type="number" min="0"></label>
    <label>grid <input name="grid" type="number" min="5" max="41"></label>
    <label>range <input name="range" type="number" min="0.05" step="0.05"></label>
    <label>Hessian grid <input name="hessianGrid" type="number" min="1" max="15"></label>
    <label>direction seed <input name="dirSeed" type="number" min="0"></label>
  </form>
  <p id="message" class="muted"></p>
</aside>
<main>
  <section class="big"><h2>landscape L(θ + αδ + βη), log scale</h2><canvas id="landscape"></canvas></section>
  <section><h2>decision boundary</h2><canvas id="boundary"></canvas></section>
  <section><h2>|λmin/λmax| on the plane (dark 0 → bright 1)</h2><canvas id="ratio"></canvas></section>
  <section class="wide"><h2>loss and accuracy</h2><canvas id="curves"></canvas></section>
  <section class="wide eos"><h2>λmax at θ vs 2/η (edge of stability)</h2><canvas id="eos"></canvas></section>
  <p id="status"></p>
</main>`;
}

async function boot(): Promise<void> {
  const style = document.createElement('style');
  style.textContent = css;
  document.head.append(style);
  document.body.innerHTML = page();
  const { config, autoplay, problems } = configFromQuery(location.search);
  const pg = new Playground(config);
  (window as unknown as { live: Playground }).live = pg;
  if (problems.length) $('message').textContent = `ignored: ${problems.join('; ')}`;
  try {
    await pg.start(autoplay);
    document.body.dataset.ready = '1';
  } catch (e) {
    $('message').textContent = `could not start: ${e instanceof Error ? e.message : String(e)}`;
    document.body.dataset.ready = 'error';
  }
}

void boot();

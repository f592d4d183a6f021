/** Tiny DOM helpers: element builder, HiDPI canvas, the error card. */

type Attrs = Record<string, string | number | boolean | ((e: Event) => void) | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Node | string | null | undefined)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v as EventListener);
    else if (k === 'class') el.className = String(v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) el.append(c);
  return el;
}

/** A canvas that keeps its backing store at CSS size × devicePixelRatio. */
export class HiDpiCanvas {
  readonly canvas: HTMLCanvasElement;
  width = 0;
  height = 0;
  ratio = 1;
  private observer: ResizeObserver;

  constructor(className: string, onResize: () => void) {
    this.canvas = h('canvas', { class: className });
    this.observer = new ResizeObserver(() => {
      this.measure();
      onResize();
    });
    this.observer.observe(this.canvas);
  }

  measure(): void {
    const r = this.canvas.getBoundingClientRect();
    this.ratio = Math.min(window.devicePixelRatio || 1, 2);
    this.width = Math.max(1, Math.round(r.width));
    this.height = Math.max(1, Math.round(r.height));
    const w = Math.round(this.width * this.ratio);
    const hh = Math.round(this.height * this.ratio);
    if (this.canvas.width !== w || this.canvas.height !== hh) {
      this.canvas.width = w;
      this.canvas.height = hh;
    }
  }

  dispose(): void {
    this.observer.disconnect();
  }

  context(): CanvasRenderingContext2D {
    const ctx = this.canvas.getContext('2d')!;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    return ctx;
  }
}

/** The card that says why a run cannot be shown (full page, or in place of a run's 3-D view). */
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

/**
 * The header's view-state controls (plane, layer, colours, log scale, range,
 * Z clip, height). Each is tagged data-ctl=<field of ViewState> so changes
 * made elsewhere (keyboard, API) can be shown in it.
 */
import { SEQUENTIAL_COLORMAPS } from '../../core/colormap.js';
import type { DecodedScene } from './decoded-scene.js';
import { h } from './dom.js';
import type { Layer, Plane, ScaleMode, ViewState } from './state.js';

type Change = (change: Partial<ViewState>) => void;

const SCALE_OPTIONS: [ScaleMode, string][] = [
  ['global', 'run'],
  ['frame', 'frame'],
  ['track', 'track'],
];

function select(name: keyof ViewState, options: [string, string][], value: string, onChange: (value: string) => void): HTMLSelectElement {
  return h(
    'select',
    { 'data-ctl': name, onchange: (e) => onChange((e.target as HTMLSelectElement).value) },
    ...options.map(([v, t]) => {
      const o = h('option', { value: v }, t);
      if (v === value) o.selected = true;
      return o;
    }),
  );
}

function range(name: keyof ViewState, min: number, max: number, step: number, value: number, onChange: Change): HTMLInputElement {
  return h('input', {
    type: 'range',
    'data-ctl': name,
    min,
    max,
    step,
    value,
    oninput: (e) => onChange({ [name]: Number((e.target as HTMLInputElement).value) }),
  });
}

function checkbox(name: 'log', checked: boolean, onChange: Change): HTMLInputElement {
  const box = h('input', { type: 'checkbox', 'data-ctl': name, onchange: (e) => onChange({ [name]: (e.target as HTMLInputElement).checked }) });
  box.checked = checked;
  return box;
}

/** The controls for `view`, in header order; `extra` (panel controls, the warnings badge) follow them. */
export function viewControls(scene: DecodedScene, view: ViewState, onChange: Change, extra: (HTMLElement | null)[]): HTMLElement {
  const layers: [string, string][] = [
    ['loss', 'loss'],
    ['accuracy', 'accuracy'],
  ];
  if (scene.hasHessian) layers.push(['hessian', '|λmin/λmax|']);
  const planes: [string, string][] = [
    ['frames', 'checkpoints'],
    ['pca', 'PCA trajectory'],
  ];
  return h(
    'div',
    { class: 'ls-controls' },
    scene.hasPca
      ? h(
          'label',
          {},
          'Plane',
          select('plane', planes, view.plane, (v) => onChange({ plane: v as Plane })),
        )
      : null,
    h(
      'label',
      {},
      'Layer',
      select('layer', layers, view.layer, (v) => onChange({ layer: v as Layer })),
    ),
    h(
      'label',
      {},
      'Colours',
      select(
        'colormap',
        SEQUENTIAL_COLORMAPS.map((c) => [c, c]),
        view.colormap,
        (v) => onChange({ colormap: v }),
      ),
    ),
    h('label', { class: 'ls-check' }, checkbox('log', view.log, onChange), 'log scale'),
    h(
      'label',
      { title: "height and colour ranges: run (one for the whole run), frame (the frame on screen) or track (each checkpoint's, moving smoothly in between)" },
      'Range',
      select('scale', SCALE_OPTIONS, view.scale, (v) => onChange({ scale: v as ScaleMode })),
    ),
    h('label', {}, 'Z clip', range('clip', 0.05, 1, 0.01, view.clip, onChange)),
    h('label', {}, 'Height', range('exaggeration', 0.1, 4, 0.05, view.exaggeration, onChange)),
    ...extra,
  );
}

/** Show a change made elsewhere (keyboard, API) in the controls under `root`; `t` is the clamped timeline position. */
export function showInControls(root: HTMLElement, change: Partial<ViewState>, t: number): void {
  for (const name of ['log', 'scale', 'layer', 'colormap', 'plane', 't'] as const) {
    const v = change[name];
    if (v === undefined) continue;
    const c = root.querySelector<HTMLInputElement | HTMLSelectElement>(`[data-ctl="${name}"]`);
    if (!c) continue;
    if (c instanceof HTMLInputElement && c.type === 'checkbox') c.checked = Boolean(v);
    else if (document.activeElement !== c || name === 't') c.value = name === 't' ? String(t) : String(v);
  }
}

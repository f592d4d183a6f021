/**
 * The panel contract. A panel is one part of the viewer page (the 3-D views,
 * the heatmap, the 1-D slices, …): it builds its DOM once, draws from the
 * current state whenever that changes, and may add header controls and
 * keyboard shortcuts. The shell (app.ts) owns the state, the layout and the
 * frame loop; panels change the state only through their host, and never
 * talk to each other.
 */
import type { RunData } from '../data.js';
import type { DecodedScene, RunLook } from '../decoded-scene.js';
import { h } from '../dom.js';
import type { ViewState } from '../state.js';

/** Where a panel sits: the main area, the side column, or under the timeline's transport. */
export type Slot = 'main' | 'side' | 'timeline';

/** What every panel draws from. */
export interface PanelState {
  view: Readonly<ViewState>;
  /** Each run's look under `view` (null for a run that cannot be shown); a new array whenever `view` changed. */
  looks: readonly (RunLook | null)[];
  /** The run the side panels and the curves follow, its data and its look. */
  focus: number;
  run: RunData | null;
  look: RunLook | null;
  /** The slice crosshair: the clicked point, or the grid point nearest (0, 0); null without a look. */
  probe: [number, number] | null;
}

/** What the shell gives a panel when it makes it. */
export interface PanelHost {
  scene: DecodedScene;
  /** Change the selection (focused run, crosshair); every panel is drawn again. */
  select(change: { focus?: number; probe?: [number, number] | null }): void;
  /** Draw every panel again on the next frame (after a resize). */
  redraw(): void;
}

export interface Panel {
  /** Stable name, set as the element's data-panel attribute. */
  readonly id: string;
  /** What the panel shows, in words (the element's aria-label). */
  readonly title: string;
  readonly slot: Slot;
  /** The panel's root element; the shell puts it in its slot, in registry order. */
  readonly element: HTMLElement;
  /** Controls for the header row, after the view-state controls. */
  readonly controls?: HTMLElement[];
  /** Keyboard shortcuts: KeyboardEvent.key → action. */
  readonly keys?: Record<string, () => void>;
  /** Draw from the state; called after every change of the view state or the selection. */
  render(state: PanelState): void;
  /** Called on every animation frame (camera damping, deferred WebGL renders). */
  animate?(): void;
  /** Release observers and GPU resources. */
  dispose(): void;
}

/** Makes a panel for a scene, or null where the scene has nothing for it to show. */
export type PanelFactory = (host: PanelHost) => Panel | null;

/** A side-column card: a title row (title, optional muted note) above the content. */
export function card(title: HTMLElement, note: HTMLElement | null, content: Node[], className?: string): HTMLElement {
  return h('div', { class: className ? `ls-card ${className}` : 'ls-card' }, h('div', { class: 'ls-card-title' }, title, note), ...content);
}

/**
 * The view state: what the surfaces show and how (timeline position, scale,
 * layer, colours, plane). The interactive app changes it through its controls;
 * the movie renderer builds one per frame from the command's options.
 */

export type Layer = 'loss' | 'accuracy' | 'hessian';
export type Plane = 'frames' | 'pca';

export interface ViewState {
  /** Timeline position in frames (fractional between checkpoints). */
  t: number;
  log: boolean;
  /** Top of the height range as a fraction of the full range (values above are clipped). */
  clip: number;
  exaggeration: number;
  layer: Layer;
  colormap: string;
  plane: Plane;
  /** Height and colour ranges (see ScaleMode). */
  scale: ScaleMode;
}

/**
 * Where the height and colour ranges come from: `global`, one range for the
 * whole run (the landscape visibly sinks and sharpens; early frames can be
 * nearly flat); `frame`, the range of the values on screen; `track`, each
 * checkpoint's own range, moving between checkpoints with the same easing as
 * the surfaces (every frame fills the box, and the box does not jitter).
 * Colour bars and axes always show the range in use.
 */
export type ScaleMode = 'global' | 'frame' | 'track';
export const SCALE_MODES: readonly ScaleMode[] = ['global', 'frame', 'track'];

export const DEFAULT_VIEW: ViewState = { t: 0, log: true, clip: 1, exaggeration: 1, layer: 'loss', colormap: 'viridis', plane: 'frames', scale: 'global' };

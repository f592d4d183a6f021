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
  /**
   * Scale heights and colours to the frame on screen instead of the whole run
   * (the whole-run range shows the landscape sinking; fitting shows the shape
   * of flat early frames).
   */
  fit: boolean;
}

export const DEFAULT_VIEW: ViewState = { t: 0, log: true, clip: 1, exaggeration: 1, layer: 'loss', colormap: 'viridis', plane: 'frames', fit: false };

/** Every panel of the viewer page; within a slot, the page shows them in this order. */
import { curvaturePanel } from './curvature-panel.js';
import { curvesPanel } from './curves-panel.js';
import { heatmapPanel } from './heatmap-panel.js';
import { hessianPanel } from './hessian-panel.js';
import type { PanelFactory } from './panel.js';
import { planesPanel } from './planes-panel.js';
import { slicesPanel } from './slices-panel.js';
import { surfacesPanel } from './surfaces-panel.js';

export const PANELS: readonly PanelFactory[] = [surfacesPanel, heatmapPanel, slicesPanel, hessianPanel, planesPanel, curvesPanel, curvaturePanel];

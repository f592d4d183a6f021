import { jit, numpy as np } from '@jax-js/jax';
import { gridPoints } from '/work/wt/live2/src/core/grid.js';
import { LiveConfig } from '/work/wt/live2/src/live/config.js';
import { LiveSession } from '/work/wt/live2/src/live/session.js';
import { objective } from '/work/wt/live2/src/engine/objective.js';

const s = await LiveSession.create(LiveConfig.parse({}));
await s.train(20);
const theta = await s.theta();
const plane = s.plane(theta);
const pts = gridPoints(s.grid);
const e = s.engine;
let t = performance.now();
const ref = await e.evaluatePlane(theta, plane.dx, plane.dy, pts);
for (let i = 0; i < 3; i++) { t = performance.now(); const r = await e.evaluatePlane(theta, plane.dx, plane.dy, pts);
let md = 0; for (let j = 0; j < r.loss.length; j++) md = Math.max(md, Math.abs(r.loss[j]! - ref.loss[j]!) / Math.max(1, Math.abs(ref.loss[j]!)));
console.log('per point', (performance.now() - t).toFixed(0), md); }

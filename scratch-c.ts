import { JaxEngine } from './src/engine/jax/engine.js';
import { buildModel } from './src/model/zoo.js';
import { prepareData } from './src/run/data.js';
import { resolveConfig } from './src/run/config.js';
import { LiveConfig, runConfigOf, modelSpec } from './src/live/config.js';
const c = LiveConfig.parse({ data: 'mnist', model: 'cnn', subset: 0.05 });
const cfg = resolveConfig(runConfigOf(c, 'x', 1));
const data = await prepareData(cfg.data);
for (const ch of [[4, 8], [2, 4]]) {
const model = buildModel({ ...modelSpec(c), channels: ch } as never, data.train.inputShape, 10);
const theta = model.init(0);
for (const conv of ['im2col', 'lax'] as const) {
  const e = await JaxEngine.create(model, data.evalSubset, { conv });
  await e.evaluate(theta);
  let t = performance.now();
  for (let i = 0; i < 5; i++) await e.evaluate(theta);
  const fw = (performance.now() - t) / 5;
  await e.hvp(theta, theta);
  t = performance.now();
  for (let i = 0; i < 3; i++) await e.hvp(theta, theta);
  console.log(ch, conv, 'forward', fw.toFixed(1), 'ms; hvp', ((performance.now() - t) / 3).toFixed(1), 'ms', model.layout.size, 'params');
}}

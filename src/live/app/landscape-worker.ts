/**
 * The page's landscape worker: the same landscape as LiveSession.surface (landscapeAt: the
 * CLI's data split, model zoo, seeded filter-normalized plane and JaxEngine.evaluatePlane), on
 * a second thread, so landscapes are evaluated while the page's thread trains. It is given the
 * settings, θ and the grid rows to evaluate (with several workers each takes a band); it rebuilds its data, model and engine when the data or the network change.
 */
import { JaxEngine } from '../../engine/jax/engine.js';
import { ensureJax } from '../../model/jax.js';
import type { Model } from '../../model/model.js';
import type { LiveConfig } from '../config.js';
import { landscapeAt, liveData, liveModel, needsReset } from '../session.js';

export interface LandscapeRequest {
  id: number;
  config: LiveConfig;
  theta: Float32Array;
  step: number;
  /** Grid rows [from, to) this worker evaluates. */
  rows: [number, number];
}

export interface LandscapeReply {
  id: number;
  step: number;
  rows: [number, number];
  loss?: Float64Array;
  acc?: Float64Array;
  ms?: number;
  error?: string;
}

let built: { config: LiveConfig; model: Model; engine: JaxEngine } | null = null;

async function handle(r: LandscapeRequest): Promise<LandscapeReply> {
  await ensureJax();
  if (!built || needsReset(built.config, r.config)) {
    built?.engine.dispose();
    const data = liveData(r.config);
    const model = liveModel(r.config, data);
    built = { config: r.config, model, engine: await JaxEngine.create(model, data.evalSubset) };
  }
  const t0 = performance.now();
  const s = await landscapeAt(built.engine, built.model, r.config, r.theta, r.step, r.rows);
  return { id: r.id, step: r.step, rows: r.rows, loss: s.values.loss, acc: s.values.acc, ms: performance.now() - t0 };
}

self.onmessage = (e: MessageEvent<LandscapeRequest>) => {
  handle(e.data).then(
    (reply) => self.postMessage(reply),
    (err: unknown) => self.postMessage({ id: e.data.id, step: e.data.step, rows: e.data.rows, error: err instanceof Error ? err.message : String(err) }),
  );
};

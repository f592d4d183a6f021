/**
 * The page's landscape worker: the same landscape as LiveSession.surface (landscapeAt: the
 * CLI's data split, model zoo, seeded filter-normalized plane and JaxEngine.evaluatePlane), on
 * a second thread, so landscapes are evaluated while the page's thread trains. It is given the
 * settings, θ and the grid rows to evaluate (with several workers each takes a band), one request after the other as they arrive; it rebuilds its data, model and engine when the data or the network change.
 */
import type { JaxEngine } from '../../engine/jax/engine.js';
import { ensureJax } from '../../model/jax.js';
import type { Model } from '../../model/model.js';
import type { LiveConfig } from '../config.js';
import { decodeDigits, setDigitLoader } from '../digits.js';
import { landscapeAt, liveData, liveEngine, liveModel, needsReset } from '../session.js';

export interface LandscapeRequest {
  /** The page's session generation (a reply of an older one is dropped). */
  id: number;
  /** The request's number: the page matches the workers' bands by it. */
  seq: number;
  config: LiveConfig;
  theta: Float32Array;
  step: number;
  /** Grid rows [from, to) this worker evaluates. */
  rows: [number, number];
}

export interface LandscapeReply {
  id: number;
  seq: number;
  step: number;
  rows: [number, number];
  loss?: Float64Array;
  acc?: Float64Array;
  ms?: number;
  /** When the worker received the request and when it replied (epoch ms: performance.timeOrigin + now). */
  got?: number;
  sent?: number;
  error?: string;
}

let built: { config: LiveConfig; model: Model; engine: JaxEngine } | null = null;

const now = () => performance.timeOrigin + performance.now();

async function handle(r: LandscapeRequest): Promise<LandscapeReply> {
  const got = now();
  await ensureJax();
  if (!built || needsReset(built.config, r.config)) {
    built?.engine.dispose();
    const data = await liveData(r.config);
    const model = liveModel(r.config, data);
    built = { config: r.config, model, engine: await liveEngine(model, data) };
  }
  const t0 = performance.now();
  const s = await landscapeAt(built.engine, built.model, r.config, r.theta, r.step, r.rows);
  return { id: r.id, seq: r.seq, step: r.step, rows: r.rows, loss: s.values.loss, acc: s.values.acc, ms: performance.now() - t0, got, sent: now() };
}

/** The image sets' bundle texts (digits.ts), sent once by the page before any request. */
export interface DigitsMessage {
  digits: Record<string, string>;
}

let queue: Promise<void> = Promise.resolve();

self.onmessage = (e: MessageEvent<LandscapeRequest | DigitsMessage>) => {
  if ('digits' in e.data) {
    const texts = e.data.digits;
    setDigitLoader((set) => decodeDigits(texts[set] ?? ''));
    return;
  }
  const r = e.data;
  // one landscape at a time, in the order the page sent them (the page queues the next one early)
  queue = queue.then(() =>
    handle(r).then(
      (reply) => self.postMessage(reply),
      (err: unknown) => self.postMessage({ id: r.id, seq: r.seq, step: r.step, rows: r.rows, error: err instanceof Error ? err.message : String(err) }),
    ),
  );
};

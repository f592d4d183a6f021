/**
 * The backends that can run a LossEngine, and the one function that picks and creates an
 * engine for a model and a data subset. `auto` tries the backends in the order listed here
 * (fastest first), falling back with a warning when one cannot run the model: when its engine
 * cannot be created, or later, when its first evaluation of some kind fails (fallback.ts).
 *
 * Adding a backend: its engine module, one entry in BACKENDS, and its test.
 */
import type { Dataset } from '../data/dataset.js';
import type { Model } from '../model/model.js';
import type { EngineOptions, LossEngine } from './engine.js';
import { FallbackEngine, firstLine } from './fallback.js';
import { JaxEngine } from './jax/engine.js';
import { cudaAvailable } from './ort/device.js';
import { OrtEngine, type OrtEngineOptions } from './ort/engine.js';

export type Device = 'cpu' | 'cuda';

/** Options of createEngine: the evaluation options of every backend, and where it runs. */
export interface CreateEngineOptions extends EngineOptions {
  backend?: Backend;
  device?: Device;
  /** Intra-op threads (native backends). */
  threads?: number;
  /** Worker threads for planes, HVPs and Hessian tasks (native backends). */
  workers?: number;
}

interface BackendDefinition {
  /** The name users give (`--backend`, `engine.backend`). */
  name: string;
  /** What it is called in messages. */
  label: string;
  devices: readonly Device[];
  create(model: Model, data: Dataset, opts: CreateEngineOptions): Promise<LossEngine>;
}

/** The backends, in the order `auto` tries them. */
export const BACKENDS = [
  {
    name: 'onnx',
    label: 'onnxruntime',
    devices: ['cpu', 'cuda'],
    create: (model, data, opts) => OrtEngine.create(model, data, opts as OrtEngineOptions),
  },
  {
    name: 'jax',
    label: 'jax-js',
    devices: ['cpu'],
    create: (model, data, opts) => JaxEngine.create(model, data, opts),
  },
] as const satisfies readonly BackendDefinition[];

export type BackendName = (typeof BACKENDS)[number]['name'];
export type Backend = 'auto' | BackendName;
/** Every value `--backend` and `engine.backend` take. */
export const BACKEND_CHOICES = ['auto', ...BACKENDS.map((b) => b.name)] as [Backend, ...Backend[]];
/** The choices in words, for help texts. */
export const BACKEND_HELP = `auto (${BACKENDS.map((b) => b.name).join(', falling back to ')}), ${BACKENDS.map((b) => b.name).join(' or ')}`;

/**
 * An engine for `model` on `data`: the named backend, or with `auto` (default) the first that
 * can run the model on the device, warning about each one that could not.
 */
export async function createEngine(model: Model, data: Dataset, opts: CreateEngineOptions = {}, warn: (line: string) => void = () => {}): Promise<LossEngine> {
  const choice = opts.backend ?? 'auto';
  const device = opts.device ?? 'cpu';
  const named = BACKENDS.find((b) => b.name === choice);
  if (choice !== 'auto' && !named) throw new Error(`unknown backend "${choice}"; choose one of ${BACKEND_CHOICES.join(', ')}`);
  const candidates = (named ? [named] : BACKENDS).filter((b) => (b.devices as readonly Device[]).includes(device));
  if (candidates.length === 0) {
    const able = BACKENDS.filter((b) => (b.devices as readonly Device[]).includes(device)).map((b) => b.name);
    throw new Error(
      `--device ${device} needs the ${able.map((n) => BACKENDS.find((b) => b.name === n)!.label).join(' or ')} engine (backend auto or ${able.join(' or ')}), not ${choice}`,
    );
  }
  if (device === 'cuda') {
    const cuda = await cudaAvailable();
    if (!cuda.ok) throw new Error(cuda.message);
  }
  return createFrom(candidates, 0, Boolean(named), model, data, opts, warn);
}

/** The engine of candidates[i], falling back to the later candidates when it cannot be created or fails later. */
async function createFrom(
  candidates: readonly BackendDefinition[],
  start: number,
  named: boolean,
  model: Model,
  data: Dataset,
  opts: CreateEngineOptions,
  warn: (line: string) => void,
): Promise<LossEngine> {
  for (let i = start; i < candidates.length; i++) {
    const b = candidates[i]!;
    const next = candidates[i + 1];
    try {
      const engine = await b.create(model, data, opts);
      if (!next) return engine;
      return new FallbackEngine(engine, {
        label: b.label,
        nextLabel: next.label,
        warn,
        create: () => createFrom(candidates, i + 1, named, model, data, opts, warn),
      });
    } catch (e) {
      const why = firstLine(e);
      // the last backend runs whatever jax-js can express: its errors are about the model or data
      if (!next) throw named && b !== BACKENDS.at(-1) ? new Error(`the ${b.label} engine cannot run this model: ${why}`) : e;
      warn(`${b.label} cannot run this model (${why}); using ${next.label}, which is slower`);
    }
  }
  throw new Error('internal error: no backend was tried');
}

/**
 * `losscape curve A B --out DIR`: a mode-connecting Bézier curve between two trained networks
 * (Garipov et al. 2018), the barrier along the line and along the curve, the plane through
 * both minima and the bend, and a run folder whose frames travel along the curve.
 */
import type { Command } from 'commander';
import { LosscapeError } from '../../core/errors.js';
import { BACKEND_CHOICES, BACKEND_HELP } from '../../engine/registry.js';
import { CURVE_DEFAULTS, runCurve } from '../../studies/curve/curve.js';
import { curveInputsFromOnnx, curveInputsFromRuns } from '../../studies/curve/inputs.js';
import { TRAIN_BACKENDS } from '../../train/native.js';
import type { OptimizerSpec } from '../../train/optimizer.js';
import { contextOf } from '../context.js';
import { choiceFlag, numberFlag } from '../flags.js';

interface Flags {
  out: string;
  aCheckpoint?: string;
  bCheckpoint?: string;
  data?: string;
  steps: string;
  lr?: string;
  optimizer: string;
  momentum: string;
  schedule: string;
  batchSize: string;
  seed: string;
  points: string;
  grid: string;
  margin: string;
  frames: string;
  window: string;
  windowGrid: string;
  backend: string;
  trainBackend: string;
  fresh?: boolean;
}

const D = CURVE_DEFAULTS;

export function register(program: Command): void {
  program
    .command('curve')
    .summary('train a Bézier curve connecting two minima; barrier along line vs curve, its plane and a movie along it')
    .description(
      'Garipov et al. 2018: φ(t) = (1 − t)²θ₁ + 2t(1 − t)θ_b + t²θ₂ with the bend θ_b trained from the midpoint (t ~ U(0, 1) per step, ' +
        'the minibatch loss at φ(t)). Writes to --out a run folder whose frames travel along the curve (windows of the plane through θ₁, θ₂, θ_b; ' +
        'the whole plane with the curve as its path is the viewer\'s "PCA trajectory" plane), barrier.csv/.md, curve.json and curve.h5. ' +
        'Networks with batch norm are refused (running statistics are not recomputed along the curve).\n' +
        'Examples:\n' +
        '  losscape curve runs/mlp-s1 runs/mlp-s2 --out runs/curve --steps 2000\n' +
        '  losscape curve a.onnx b.onnx --data data.h5 --out runs/curve\n' +
        '  losscape view runs/curve && losscape video runs/curve --out curve.mp4',
    )
    .argument('<a>', 'θ₁: a run folder (its last checkpoint, or --a-checkpoint) or an ONNX file')
    .argument('<b>', 'θ₂: a run folder or an ONNX file of the same architecture')
    .requiredOption('--out <dir>', 'output folder (a run folder plus barrier and curve files)')
    .option('--a-checkpoint <k>', 'checkpoint index of θ₁ (run folder; default the last)')
    .option('--b-checkpoint <k>', 'checkpoint index of θ₂ (run folder; default the last)')
    .option('--data <file>', 'data file (with ONNX ends): the curve is trained and evaluated on all of it')
    .option('--steps <n>', 'curve training steps', String(D.steps))
    .option('--optimizer <type>', 'sgd (with momentum) or adam', 'sgd')
    .option('--lr <rate>', `learning rate (default ${D.lr} for sgd, 0.001 for adam)`)
    .option('--momentum <m>', 'SGD momentum', String(D.momentum))
    .option('--schedule <s>', 'learning-rate schedule: constant or cosine', D.schedule)
    .option('--batch-size <n>', 'minibatch size', String(D.batchSize))
    .option('--seed <n>', "seed of t, the minibatch order and dropout masks (streams 'curve-t', 'curve-shuffle', 'curve-dropout')", String(D.seed))
    .option('--points <n>', 'evenly spaced t of the barrier table', String(D.points))
    .option('--grid <n>', 'points per axis of the plane through θ₁, θ₂, θ_b', String(D.grid))
    .option('--margin <f>', 'margin around the three points, as a fraction of their range', String(D.margin))
    .option('--frames <k>', 'frames of the movie along the curve', String(D.frames))
    .option('--window <w>', 'half-width of each frame, in units of ‖θ₂ − θ₁‖', String(D.window))
    .option('--window-grid <n>', 'points per axis of each frame', String(D.windowGrid))
    .option('--backend <name>', BACKEND_HELP, 'auto')
    .option('--train-backend <name>', `curve training: ${TRAIN_BACKENDS.join(', ')}`, 'auto')
    .option('--fresh', 'overwrite surfaces computed with other settings')
    .action(async (a: string, b: string, f: Flags, c: Command) => {
      const ctx = contextOf(c);
      const int = (v: string, flag: string, min = 1) => numberFlag(v, flag, { integer: true, min })!;
      const type = choiceFlag(f.optimizer, '--optimizer', ['sgd', 'adam'] as const)!;
      const lr = numberFlag(f.lr, '--lr', { min: 0 }) ?? (type === 'sgd' ? D.lr : 0.001);
      const optimizer: OptimizerSpec =
        type === 'sgd'
          ? { type, lr, momentum: numberFlag(f.momentum, '--momentum', { min: 0 })!, weightDecay: 0 }
          : { type, lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };
      const backend = choiceFlag(f.backend, '--backend', BACKEND_CHOICES) ?? 'auto';
      const onnx = [a, b].map((p) => p.endsWith('.onnx'));
      if (onnx[0] !== onnx[1]) throw new LosscapeError('usage', 'give two run folders or two ONNX files');
      if (onnx[0] && !f.data) throw new LosscapeError('usage', 'with ONNX ends, give --data <file>');
      const ck = (v: string | undefined, flag: string) => numberFlag(v, flag, { integer: true, min: 0 });
      const warn = ctx.progress.warn;
      const inputs = onnx[0]
        ? await curveInputsFromOnnx(a, b, f.data!, { backend, warn })
        : await curveInputsFromRuns(a, b, { checkpoints: [ck(f.aCheckpoint, '--a-checkpoint'), ck(f.bCheckpoint, '--b-checkpoint')], backend, warn });
      const r = await runCurve(inputs, {
        steps: int(f.steps, '--steps'),
        optimizer,
        schedule: choiceFlag(f.schedule, '--schedule', ['constant', 'cosine'] as const)!,
        batchSize: int(f.batchSize, '--batch-size'),
        seed: int(f.seed, '--seed', 0),
        trainBackend: choiceFlag(f.trainBackend, '--train-backend', TRAIN_BACKENDS)!,
        points: int(f.points, '--points', 2),
        grid: int(f.grid, '--grid', 2),
        margin: numberFlag(f.margin, '--margin', { min: 0 })!,
        frames: int(f.frames, '--frames', 1),
        window: numberFlag(f.window, '--window', { min: 0 })!,
        windowGrid: int(f.windowGrid, '--window-grid', 2),
        out: f.out,
        fresh: f.fresh,
        progress: ctx.progress,
      });
      const p = (v: number) => v.toPrecision(4);
      ctx.out(
        `barrier along the line ${p(r.line.barrier)} (peak ${p(r.line.lMax)} at t = ${r.line.tMax.toFixed(3)}, lowest accuracy ${r.line.accMin.toFixed(1)}%); ` +
          `along the curve ${p(r.curve.barrier)} (peak ${p(r.curve.lMax)} at t = ${r.curve.tMax.toFixed(3)}, lowest accuracy ${r.curve.accMin.toFixed(1)}%)` +
          (Number.isFinite(r.ratio) ? `; curve/line ${(100 * r.ratio).toFixed(1)}%` : ''),
      );
      if (r.test) {
        ctx.out(
          `test subset: barrier along the line ${p(r.test.line.barrier)} (lowest accuracy ${r.test.line.accMin.toFixed(1)}%), along the curve ${p(r.test.curve.barrier)} (lowest accuracy ${r.test.curve.accMin.toFixed(1)}%)`,
        );
      }
      ctx.out(
        `bend at (${r.bend[0].toFixed(3)}, ${r.bend[1].toFixed(3)}) in units of ‖θ₂ − θ₁‖ = ${p(r.distance)}; ` +
          `times: curve ${r.timings.train.toFixed(1)} s (${r.trainEngine}), barrier ${r.timings.barrier.toFixed(1)} s, plane ${r.timings.plane.toFixed(1)} s, movie ${r.timings.movie.toFixed(1)} s`,
      );
      ctx.out(`curve: ${f.out} (barrier.csv, curve.json; losscape view ${f.out})`);
    });
}

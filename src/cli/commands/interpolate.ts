import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { LosscapeError } from '../../core/errors.js';
import { coordinates, gridSize } from '../../core/grid.js';
import { hashBytes } from '../../core/hash.js';
import { sameLayout } from '../../core/layout.js';
import type { ProgressTask } from '../../core/progress.js';
import type { Dataset } from '../../data/dataset.js';
import type { LossEngine } from '../../engine/engine.js';
import { BACKEND_CHOICES, BACKEND_HELP, createEngine } from '../../engine/registry.js';
import type { Model } from '../../model/model.js';
import { resolveConfig } from '../../run/config.js';
import { prepareData } from '../../run/data.js';
import { resolveModel } from '../../run/model.js';
import { RunStore } from '../../store/run-store.js';
import { computeSurface } from '../../surface/surface.js';
import { contextOf } from '../context.js';
import { choiceFlag, numberFlag } from '../flags.js';
import { gridFromFlags } from '../inputs.js';

interface Flags {
  from?: string;
  to?: string;
  fromModel?: string;
  toModel?: string;
  data?: string;
  x?: string;
  out?: string;
  backend?: string;
  fresh?: boolean;
}

/**
 * Linear interpolation between two weight vectors (Goodfellow et al. 2015):
 * L((1 − α)·θ_a + α·θ_b) = L(θ_a + α·(θ_b − θ_a)), a 1-D surface with direction θ_b − θ_a.
 */
export function register(program: Command): void {
  program
    .command('interpolate')
    .summary('1-D loss along the line between two checkpoints (e.g. init → final)')
    .description(
      'Evaluate L(θ_a + α·(θ_b − θ_a)) for α on an axis that may reach beyond [0, 1].\n' +
        'Examples:\n' +
        '  losscape interpolate runs/demo --from 0 --to last --x -0.5:1.5:81 --out interp.h5\n' +
        '  losscape interpolate --from-model init.onnx --to-model final.onnx --data data.h5 --out interp.h5',
    )
    .argument('[run]', 'a run folder')
    .option('--from <k>', 'checkpoint index of θ_a (run)', '0')
    .option('--to <k>', "checkpoint index of θ_b, or 'last' (run)", 'last')
    .option('--from-model <file.onnx>', 'θ_a from an ONNX file')
    .option('--to-model <file.onnx>', 'θ_b from an ONNX file (same architecture)')
    .option('--data <file>', 'data file (with --from-model/--to-model)')
    .option('--x <min:max:n>', 'α axis (0 = θ_a, 1 = θ_b)', '-0.5:1.5:41')
    .requiredOption('--out <file.h5>', 'output file (1-D surface: xcoordinates, train_loss, train_acc)')
    .option('--backend <name>', BACKEND_HELP, 'auto')
    .option('--fresh', 'overwrite an existing output computed with other settings')
    .action(async (run: string | undefined, f: Flags, c: Command) => {
      const ctx = contextOf(c);
      const grid = gridFromFlags(f.x, undefined, '-0.5:1.5:41');
      const backend = choiceFlag(f.backend, '--backend', BACKEND_CHOICES) ?? 'auto';
      if (!f.out!.endsWith('.h5')) throw new LosscapeError('usage', `--out ${f.out}: the output file must end in .h5`);
      let model: Model;
      let a: Float32Array;
      let b: Float32Array;
      let data: Dataset;
      let test: Dataset | undefined;
      let label: string;
      if (run) {
        const store = new RunStore(run);
        if (!store.exists()) throw new LosscapeError('usage', `${run} is not a run folder (no manifest.json)`);
        const cfg = resolveConfig(store.readManifest().config, `${run}/manifest.json`);
        const thetas = await store.readCheckpoints();
        const last = Math.max(...thetas.keys());
        const pick = (v: string | undefined, flag: string) => {
          const k = v === 'last' ? last : numberFlag(v, flag, { integer: true, min: 0 })!;
          const t = thetas.get(k);
          if (!t) throw new LosscapeError('usage', `${run} has no checkpoint ${k} (it has ${[...thetas.keys()].join(', ')})`);
          return [k, t.theta] as const;
        };
        const [ka, ta] = pick(f.from, '--from');
        const [kb, tb] = pick(f.to, '--to');
        a = ta;
        b = tb;
        const d = await prepareData(cfg.data);
        model = (await resolveModel(cfg.model, d.train.inputShape, d.train.outputDim)).model;
        data = d.evalSubset;
        test = d.testSubset;
        label = `checkpoints ${ka} → ${kb}`;
      } else {
        if (!f.fromModel || !f.toModel || !f.data) throw new LosscapeError('usage', 'give a run folder, or --from-model, --to-model and --data');
        for (const p of [f.fromModel, f.toModel, f.data]) if (!existsSync(p)) throw new LosscapeError('usage', `${p}: no such file`);
        const { loadOnnxModel } = await import('../../model/onnx/load.js');
        const { loadDataFile, fitToModelInput } = await import('../../data/files.js');
        const ia = await loadOnnxModel(f.fromModel);
        const ib = await loadOnnxModel(f.toModel);
        if (!sameLayout(ia.model.layout, ib.model.layout)) {
          throw new LosscapeError('usage', `${f.fromModel} and ${f.toModel} do not have the same parameters (names and shapes)`);
        }
        model = ia.model;
        a = ia.theta;
        b = ib.theta;
        data = fitToModelInput(await loadDataFile(f.data, { classes: model.outputDim }), model.inputShape);
        label = `${f.fromModel} → ${f.toModel}`;
      }
      const dir = new Float32Array(a.length);
      for (let i = 0; i < a.length; i++) dir[i] = b[i]! - a[i]!;
      const engines: { train: LossEngine; test?: LossEngine } = {
        train: await createEngine(model, data, { backend }, ctx.progress.warn),
      };
      if (test) engines.test = await createEngine(model, test, { backend }, ctx.progress.warn);
      const bar: { task?: ProgressTask } = {};
      const gf = await computeSurface({
        theta: a,
        dx: dir,
        grid,
        engines,
        path: f.out!,
        context: { kind: 'interpolation', data: hashBytes(data.x, data.y) },
        fresh: f.fresh,
        attrs: { interpolation: label, convention: 'x = α: weights θ_a + α·(θ_b − θ_a); α = 0 is θ_a, α = 1 is θ_b' },
        onProgress: (p) => {
          bar.task ??= ctx.progress.task('interpolation', gridSize(grid), 'points');
          bar.task.update(p.done);
        },
      });
      bar.task?.end();
      const loss = gf.values.train_loss!;
      const xs = coordinates(grid.x);
      let peak = -1;
      for (let i = 0; i < loss.length; i++) if (xs[i]! > 0 && xs[i]! < 1 && (peak < 0 || loss[i]! > loss[peak]!)) peak = i;
      const la = (await engines.train.evaluate(a)).loss;
      const lb = (await engines.train.evaluate(b)).loss;
      ctx.progress.log(
        `${label}: loss ${la.toPrecision(4)} at α = 0, ${lb.toPrecision(4)} at α = 1` +
          (peak >= 0 ? `; highest strictly between: ${loss[peak]!.toPrecision(4)} at α = ${xs[peak]!.toFixed(3)}` : ''),
      );
      for (const e of [engines.train, engines.test]) await e?.dispose();
      ctx.out(`interpolation: ${f.out}`);
    });
}

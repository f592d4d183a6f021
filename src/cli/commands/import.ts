import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { LosscapeError } from '../../core/errors.js';
import { parseAxis } from '../../core/grid.js';
import { NORMALIZATIONS, type Normalization } from '../../directions/directions.js';
import { BACKEND_CHOICES, BACKEND_HELP } from '../../engine/registry.js';
import { importRun } from '../../run/import.js';
import { contextOf } from '../context.js';
import { choiceFlag, numberFlag } from '../flags.js';

interface ImportFlags {
  out?: string;
  name?: string;
  weights?: string[];
  manifest?: string;
  inputShape?: string;
  data?: string;
  dataX?: string;
  dataY?: string;
  labels?: string;
  testFraction?: string;
  subset?: string;
  subsetSeed?: string;
  eval?: boolean;
  surfaces?: boolean;
  x?: string;
  y?: string;
  dirSeed?: string;
  norm?: string;
  backend?: string;
  fresh?: boolean;
}

function shapeFlag(v: string | undefined, flag: string): number[] | undefined {
  if (v === undefined) return undefined;
  const dims = v.split(/[,x×]/).map((s) => Number(s.trim()));
  if (dims.length === 0 || dims.some((d) => !Number.isInteger(d) || d <= 0))
    throw new LosscapeError('usage', `${flag} expects dimensions like 1,28,28; got "${v}"`);
  return dims;
}

function subsetFlag(v: string | undefined): number | 'all' | undefined {
  if (v === undefined || v === 'all') return v;
  return numberFlag(v, '--subset', { min: 0 });
}

export function register(program: Command): void {
  program
    .command('import')
    .summary('make a run folder from checkpoints trained elsewhere (ONNX, safetensors, HDF5, NPZ)')
    .description(
      'Bring your own model: checkpoints exported from PyTorch (torch.onnx.export) become a run folder (manifest.json, checkpoints.h5, model.onnx) that view, report, video and export read. Sources: a folder of ONNX files (one per checkpoint, same architecture), or one ONNX file for the architecture with --weights (safetensors, HDF5 datasets named like the parameters, or NPZ; files or a folder), or one ONNX file alone. Order: --manifest (JSON or one name per line; a checkpoints.json/.txt next to the files is used automatically), else natural name order (ckpt2 before ckpt10). With --data the checkpoints are evaluated on its train/test split; --surfaces also computes one landscape per checkpoint (seeded filter-normalized directions, as `losscape run`).\n' +
        'Examples:\n' +
        '  losscape import ckpts/ --data mnist.npz --surfaces --out runs/mine\n' +
        '  losscape import model.onnx --weights weights/ --data data.h5 --out runs/mine',
    )
    .argument('<source>', 'an ONNX file or a folder of ONNX files')
    .requiredOption('--out <dir>', 'run folder to create')
    .option('--name <name>', 'run name (default: the folder name)')
    .option('--weights <files...>', 'weight files or a folder of them (with an ONNX source)')
    .option('--manifest <file>', 'checkpoint order (JSON list, {"checkpoints": [...]} with step/epoch, or one name per line)')
    .option('--input-shape <dims>', 'per-sample model input shape when the ONNX input has symbolic dims, e.g. 1,28,28')
    .option('--data <file>', 'data file: HDF5 (X, y), NPY pair, NPZ, IDX (MNIST) or CSV')
    .option('--data-x <name>', 'name of the inputs in the data file (NPZ key / HDF5 dataset)')
    .option('--data-y <name>', 'name of the labels (NPZ key / HDF5 dataset / CSV column)')
    .option('--labels <file>', 'labels file of an NPY or IDX pair (default: found by name)')
    .option('--test-fraction <f>', 'held-out test fraction of the data (stratified)', '0.2')
    .option('--subset <size>', "evaluation subset of the landscapes: a count, a fraction or 'all'", 'all')
    .option('--subset-seed <n>', 'seed of the subset', '0')
    .option('--no-eval', 'do not evaluate the checkpoints on the data')
    .option('--surfaces', 'compute one landscape per checkpoint (needs --data)')
    .option('--x <min:max:n>', 'landscape x axis', '-1:1:41')
    .option('--y <min:max:n>', "landscape y axis ('none' for 1-D)", '-1:1:41')
    .option('--dir-seed <n>', 'seed of the random directions', '123')
    .option('--norm <kind>', `direction normalization: ${NORMALIZATIONS.join(', ')}`, 'filter')
    .option('--backend <name>', BACKEND_HELP, 'auto')
    .option('--fresh', 'replace an existing, non-empty output folder')
    .action(async (source: string, f: ImportFlags, c: Command) => {
      const ctx = contextOf(c);
      if (!existsSync(source)) throw new LosscapeError('usage', `${source}: no such file or folder`);
      for (const [flag, p] of [
        ['--data', f.data],
        ['--labels', f.labels],
        ['--manifest', f.manifest],
      ] as const) {
        if (p && !existsSync(p)) throw new LosscapeError('usage', `${flag} ${p}: no such file`);
      }
      for (const w of f.weights ?? []) if (!existsSync(w)) throw new LosscapeError('usage', `--weights ${w}: no such file or folder`);
      if (f.surfaces && !f.data) throw new LosscapeError('usage', '--surfaces needs --data (the samples the landscapes are evaluated on)');
      const y = f.y === 'none' ? null : f.y;
      try {
        parseAxis(f.x ?? '-1:1:41', '--x');
        if (y) parseAxis(y, '--y');
      } catch (e) {
        throw new LosscapeError('usage', (e as Error).message);
      }
      const testFraction = numberFlag(f.testFraction, '--test-fraction', { min: 0 });
      if (testFraction !== undefined && !(testFraction > 0 && testFraction < 1))
        throw new LosscapeError('usage', `--test-fraction must be in (0, 1), got ${f.testFraction}`);
      const name = f.name ?? resolve(f.out!).split(/[\\/]/).pop()!;
      if (!/^[\w.-]+$/.test(name)) throw new LosscapeError('usage', `--name "${name}": use letters, digits, ".", "_" or "-"`);
      const inputShape = shapeFlag(f.inputShape, '--input-shape');
      const m = await importRun(source, {
        out: f.out!,
        name,
        weights: f.weights,
        manifest: f.manifest,
        onnx: inputShape ? { inputShape } : undefined,
        data: f.data,
        dataOptions: { x: f.dataX, y: f.dataY, labels: f.labels },
        testFraction,
        subset: subsetFlag(f.subset),
        subsetSeed: numberFlag(f.subsetSeed, '--subset-seed', { integer: true, min: 0 }),
        evaluate: f.eval !== false,
        surfaces: Boolean(f.surfaces),
        x: f.x,
        y,
        directions: {
          seed: numberFlag(f.dirSeed, '--dir-seed', { integer: true, min: 0 }),
          norm: choiceFlag(f.norm, '--norm', NORMALIZATIONS) as Normalization | undefined,
        },
        backend: choiceFlag(f.backend, '--backend', BACKEND_CHOICES),
        fresh: Boolean(f.fresh),
        progress: ctx.progress,
      });
      const last = m.checkpoints[m.checkpoints.length - 1];
      if (last?.train_loss !== undefined) {
        ctx.progress.log(
          `last checkpoint: train loss ${last.train_loss.toFixed(4)} / acc ${last.train_acc.toFixed(1)}%` +
            (last.test_loss !== undefined ? `, test loss ${last.test_loss.toFixed(4)} / acc ${last.test_acc!.toFixed(1)}%` : ''),
        );
      }
      ctx.progress.log(`${m.checkpoints.length} checkpoint(s), ${m.frames.length} landscape(s)`);
      ctx.out(`run: ${resolve(f.out!)}`);
      if (m.frames.length) ctx.progress.log(`view it: npx losscape view ${f.out}`);
    });
}

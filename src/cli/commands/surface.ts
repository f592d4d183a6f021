import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { LosscapeError } from '../../core/errors.js';
import { gridSize } from '../../core/grid.js';
import type { ProgressTask } from '../../core/progress.js';
import { writeDirectionFile } from '../../directions/file.js';
import type { LossEngine } from '../../engine/engine.js';
import { cudaAvailable } from '../../engine/ort/device.js';
import { BACKEND_CHOICES, BACKEND_HELP, createEngine } from '../../engine/registry.js';
import { parseShard, type Shard, shardChunks, shardPath } from '../../jobs/shard.js';
import { checkCentre, computeSurface } from '../../surface/surface.js';
import { contextOf } from '../context.js';
import { choiceFlag, numberFlag } from '../flags.js';
import { addInputOptions, gridFromFlags, type InputFlags, resolveInputs } from '../inputs.js';

interface SurfaceFlags extends InputFlags {
  x?: string;
  y?: string;
  out?: string;
  mode?: string;
  backend?: string;
  chunk?: string;
  saveDirections?: string;
  fresh?: boolean;
  workers?: string;
  threads?: string;
  device?: string;
  shard?: string;
  dtype?: string;
}

export function register(program: Command): void {
  const cmd = program
    .command('surface')
    .summary('one loss landscape (1-D or 2-D) around a checkpoint or an ONNX model')
    .description(
      "Evaluate L(θ + x·δ + y·η) and the accuracy on a grid. Grids use the reference code's form min:max:n.\n" +
        'Examples:\n' +
        '  losscape surface runs/demo --checkpoint 3 --x -1:1:51 --y -1:1:51 --out s.h5\n' +
        '  losscape surface --model model.onnx --data data.h5 --directions directions.h5 --x -1:1:21 --y -1:1:21 --out s.h5\n' +
        'Output: HDF5 with xcoordinates, ycoordinates, train_loss, train_acc [ny, nx] (element [i, j] = (x[j], y[i])). Interrupted runs resume when rerun with the same arguments.',
    );
  addInputOptions(cmd)
    .option('--x <min:max:n>', 'x axis', '-1:1:51')
    .option('--y <min:max:n>', 'y axis (omit for a 1-D slice)')
    .requiredOption('--out <file.h5>', 'output surface file')
    .option('--mode <mode>', 'eval (running BN stats, no dropout) or train (batch stats, fixed dropout masks)', 'eval')
    .option('--backend <name>', BACKEND_HELP, 'auto')
    .option('--chunk <n>', 'points per resumable chunk', '64')
    .option('--save-directions <file.h5>', 'also write the directions used (reference layout)')
    .option('--fresh', 'overwrite an existing output computed with other settings')
    .option('--workers <n>', 'worker threads evaluating chunks in parallel (default: all cores when the grid has enough chunks)')
    .option('--threads <n>', 'onnxruntime intra-op threads per worker (default: 1 with workers, else all cores)')
    .option('--device <name>', 'cpu or cuda (onnxruntime CUDA provider, if installed)', 'cpu')
    .option('--dtype <dtype>', 'float32 or float64: the precision of the network evaluation (float64 for fixture work; default float32)', 'float32')
    .option('--shard <i/n>', 'compute only shard i of n (0-based) into <out>.shard-i-of-n.h5; combine with losscape merge')
    .action(async (run: string | undefined, f: SurfaceFlags, c: Command) => {
      const ctx = contextOf(c);
      const grid = gridFromFlags(f.x, f.y);
      const mode = choiceFlag(f.mode, '--mode', ['eval', 'train'] as const) ?? 'eval';
      const dtype = choiceFlag(f.dtype, '--dtype', ['float32', 'float64'] as const) ?? 'float32';
      const backend = choiceFlag(f.backend, '--backend', BACKEND_CHOICES) ?? 'auto';
      const chunk = numberFlag(f.chunk, '--chunk', { integer: true, min: 1 }) ?? 64;
      if (!f.out!.endsWith('.h5')) throw new LosscapeError('usage', `--out ${f.out}: the surface file must end in .h5`);
      const device = choiceFlag(f.device, '--device', ['cpu', 'cuda'] as const) ?? 'cpu';
      const threads = numberFlag(f.threads, '--threads', { integer: true, min: 1 });
      const shard = f.shard === undefined ? undefined : shardFlag(f.shard);
      const chunks = Math.ceil(gridSize(grid) / chunk);
      const mine = shard ? shardChunks(chunks, shard).length : chunks;
      const workers = numberFlag(f.workers, '--workers', { integer: true, min: 1 }) ?? defaultWorkers(mine);
      const out = shard ? shardPath(f.out!, shard) : f.out!;
      if (device === 'cuda') await requireCuda();
      const inp = await resolveInputs(run, f, Boolean(grid.y));
      for (const w of inp.warnings) ctx.progress.warn(w);
      const engineOpts = { backend, mode, workers, threads, device, dtype };
      // float32 surfaces keep their earlier fingerprint; a float64 one is a different computation
      const precision: Record<string, string> = dtype === 'float64' ? { dtype } : {};
      const engines: { train: LossEngine; test?: LossEngine } = {
        train: await createEngine(inp.model, inp.data, engineOpts, ctx.progress.warn),
      };
      if (inp.test) engines.test = await createEngine(inp.model, inp.test, engineOpts, ctx.progress.warn);
      if (f.saveDirections) await writeDirectionFile(f.saveDirections, inp.model.layout, inp.dx, inp.dy, { source: inp.directionSource });
      // the bar starts with the first progress report, i.e. after the output file was checked
      const bar: { task?: ProgressTask } = {};
      let last = { computed: 0, resumed: 0 };
      const center = await engines.train.evaluate(inp.theta);
      checkCentre(center, inp.checkpoint !== undefined ? `checkpoint ${inp.checkpoint}` : "the model's weights");
      const gf = await computeSurface({
        theta: inp.theta,
        dx: inp.dx,
        dy: inp.dy,
        grid,
        engines,
        path: out,
        shard,
        context: { ...inp.context, mode, ...precision },
        chunkSize: chunk,
        fresh: f.fresh,
        attrs: {
          dir_file: f.directions ?? f.saveDirections ?? '',
          directions: inp.directionSource,
          cosine: inp.cosine,
          center_loss: center.loss,
          center_acc: center.acc,
          mode,
          ...precision,
          ...(inp.checkpoint !== undefined ? { checkpoint: inp.checkpoint } : {}),
        },
        onProgress: (p) => {
          last = p;
          bar.task ??= ctx.progress.task('surface', gridSize(grid), 'points');
          bar.task.update(p.done, p.resumed ? `${p.resumed} resumed` : undefined);
        },
      });
      bar.task?.end();
      ctx.progress.log(`${last.computed} points computed, ${last.resumed} resumed from an earlier run`);
      for (const e of [engines.train, engines.test]) await e?.dispose();
      const loss = gf.values.train_loss!;
      let lo = Infinity;
      let hi = -Infinity;
      for (const v of loss) {
        if (!Number.isFinite(v)) continue;
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      ctx.progress.log(
        `loss at the centre ${center.loss.toPrecision(6)} (acc ${center.acc.toFixed(1)}%), range ${lo.toPrecision(4)} … ${hi.toPrecision(4)}; cos(δ, η) = ${inp.cosine.toFixed(4)}`,
      );
      if (shard)
        ctx.progress.log(
          `shard ${shard.index}/${shard.count}: ${mine} of ${chunks} chunks; combine the shards with: losscape merge ${shardPath(f.out!, { index: 0, count: shard.count }).replace('shard-0-of', 'shard-*-of')} --out ${f.out}`,
        );
      ctx.out(`surface: ${out}`);
    });
}

/** All cores when there are at least two chunks per core to share, else as many as there are chunks. */
export function defaultWorkers(chunks: number): number {
  const cores = availableParallelism();
  return Math.max(1, Math.min(cores, Math.floor(chunks / 2)));
}

export function shardFlag(text: string): Shard {
  try {
    return parseShard(text);
  } catch (e) {
    throw new LosscapeError('usage', (e as Error).message);
  }
}

/** One clear line (no stack trace) when onnxruntime's CUDA provider is missing. */
export async function requireCuda(): Promise<void> {
  const r = await cudaAvailable();
  if (!r.ok) throw new LosscapeError('usage', r.message);
}

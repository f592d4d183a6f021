import type { Command } from 'commander';
import { PROJECTION_NOTE, pcaStudy } from '../../studies/pca.js';
import { contextOf } from '../context.js';
import { choiceFlag, numberFlag } from '../flags.js';

interface PcaFlags {
  ignore?: string;
  n?: string;
  margin?: string;
  x?: string;
  y?: string;
  center: boolean;
  backend?: string;
  png?: boolean;
}

export function register(program: Command): void {
  program
    .command('pca')
    .summary("PCA plane of a run's training trajectory, the loss over it and the projected path")
    .description(
      "The first two principal components of θ_k − θ_final over the run's checkpoints (from the k × k Gram\n" +
        'matrix), explained variance, the trajectory projected onto that plane, and the loss over a grid that\n' +
        "covers the path. Writes <run>/pca/surface.h5, pca/directions.h5, pca/summary.json and the manifest's\n" +
        '"pca" entry (the viewer\'s "Plane: PCA trajectory").\n' +
        'Examples:\n' +
        '  losscape pca runs/demo\n' +
        '  losscape pca runs/demo --ignore none --n 41 --margin 0.5\n' +
        '  losscape snapshot runs/demo --plane pca --out pca.png',
    )
    .argument('<run>', 'run folder')
    .option('--ignore <what>', 'biasbn (tensors with ≤ 1 dim get no component, as the reference) or none', 'biasbn')
    .option('--n <points>', 'points per axis of the grid around the path', '31')
    .option('--margin <fraction>', 'margin around the path, as a fraction of its extent', '0.25')
    .option('--x <min:max:n>', 'explicit x axis (with --y) instead of the automatic grid')
    .option('--y <min:max:n>', 'explicit y axis')
    .option('--no-center', 'do not subtract the mean before PCA (the reference code, via sklearn, does)')
    .option('--backend <name>', 'auto, jax or onnx')
    .option('--png', 'also render figure.png (headless Chromium); figure.svg is always written')
    .action(async (run: string, f: PcaFlags, cmd: Command) => {
      const ctx = contextOf(cmd);
      const r = await pcaStudy(run, {
        ignore: choiceFlag(f.ignore, '--ignore', ['biasbn', 'none'] as const),
        n: numberFlag(f.n, '--n', { integer: true, min: 2 }),
        margin: numberFlag(f.margin, '--margin', { min: 0 }),
        x: f.x,
        y: f.y,
        center: f.center,
        backend: choiceFlag(f.backend, '--backend', ['auto', 'jax', 'onnx'] as const),
        progress: ctx.progress,
        png: f.png,
      });
      if (r.figure) ctx.progress.log(`figure: ${r.figure.png ?? r.figure.svg}`);
      const [e1, e2] = r.pca.explained;
      ctx.progress.log(
        `PCA of ${r.checkpoints} checkpoints over ${r.pca.tensors.length} tensors: explained variance PC1 ${(100 * e1).toFixed(2)}%, PC2 ${(100 * e2).toFixed(2)}% (together ${(100 * (e1 + e2)).toFixed(2)}%)`,
      );
      const maxRes = Math.max(...r.pca.residual);
      ctx.progress.log(`note: ${PROJECTION_NOTE} Largest relative distance of a checkpoint from the plane: ${maxRes.toFixed(3)}.`);
      ctx.progress.log(
        `grid x ${r.grid.x.min}:${r.grid.x.max}:${r.grid.x.n}, y ${r.grid.y!.min}:${r.grid.y!.max}:${r.grid.y!.n}; loss at θ_final ${r.centerLoss.toPrecision(5)}`,
      );
      ctx.progress.log(`view it: losscape view ${run}  (Plane: PCA trajectory)`);
      ctx.out(`pca: ${r.surface} explained ${e1.toFixed(4)} ${e2.toFixed(4)} (the path is a projection; contours off the plane may differ)`);
    });
}

/**
 * `losscape pca <run>`, `study: pca`: the PCA plane of a run's training
 * trajectory, the loss over it and the projected path.
 */
import { z } from 'zod';
import { defineRunStudy } from '../definition.js';
import { backendFlag, RUN_STUDY_KEYS } from '../run-options.js';
import { pcaFigure } from './figure.js';
import { PROJECTION_NOTE, pcaStudy } from './study.js';

export const pca = defineRunStudy({
  kind: 'pca',
  label: 'PCA',
  input: 'run',
  spec: z
    .object({
      ignore: z.enum(['biasbn', 'none']).default('biasbn'),
      n: z.number().int().min(2).default(31),
      margin: z.number().min(0).default(0.25),
      x: z.string().optional(),
      y: z.string().optional(),
      center: z.boolean().default(true),
      backend: RUN_STUDY_KEYS.backend,
    })
    .strict(),
  compute: pcaStudy,
  configOptions: (spec, s) => ({ ...spec, fresh: s.fresh, progress: s.progress }),
  figure: (r, png) => pcaFigure(r.run, png),
  report(r, io, run) {
    const [a, b] = r.pca.explained;
    io.log(`explained variance PC1 ${(100 * a).toFixed(2)}%, PC2 ${(100 * b).toFixed(2)}%; ${PROJECTION_NOTE}`);
    io.log(`view: losscape view ${run}  (Plane: PCA trajectory)`);
    io.out(`study: ${r.surface} (the path is a projection; contours off the plane may differ)`);
  },
  command: {
    summary: "PCA plane of a run's training trajectory, the loss over it and the projected path",
    description:
      'The first two principal components of θ_k − θ_final over the run\'s checkpoints (from the k × k Gram matrix), explained variance, the trajectory projected onto that plane, and the loss over a grid that covers the path. Writes <run>/pca/surface.h5, pca/directions.h5, pca/projection.h5 (proj_xcoord, proj_ycoord for the paper\'s plot_contour_trajectory), pca/summary.json and the manifest\'s "pca" entry (the viewer\'s "Plane: PCA trajectory").\n' +
      'Examples:\n' +
      '  losscape pca runs/demo\n' +
      '  losscape pca runs/demo --ignore none --n 41 --margin 0.5\n' +
      '  losscape snapshot runs/demo --plane pca --out pca.png',
    flags: [
      {
        flags: '--ignore <what>',
        description: 'biasbn (tensors with ≤ 1 dim get no component, as the reference) or none',
        default: 'biasbn',
        key: 'ignore',
        value: { type: 'choice', choices: ['biasbn', 'none'] },
      },
      {
        flags: '--n <points>',
        description: 'points per axis of the grid around the path',
        default: '31',
        key: 'n',
        value: { type: 'number', integer: true, min: 2 },
      },
      {
        flags: '--margin <fraction>',
        description: 'margin around the path, as a fraction of its extent',
        default: '0.25',
        key: 'margin',
        value: { type: 'number', min: 0 },
      },
      { flags: '--x <min:max:n>', description: 'explicit x axis (with --y) instead of the automatic grid', key: 'x' },
      { flags: '--y <min:max:n>', description: 'explicit y axis', key: 'y' },
      { flags: '--no-center', description: 'do not subtract the mean before PCA (the reference code, via sklearn, does)', key: 'center' },
      backendFlag,
    ],
    print(r, io, { run }) {
      const [e1, e2] = r.pca.explained;
      io.log(
        `PCA of ${r.checkpoints} checkpoints over ${r.pca.tensors.length} tensors: explained variance PC1 ${(100 * e1).toFixed(2)}%, PC2 ${(100 * e2).toFixed(2)}% (together ${(100 * (e1 + e2)).toFixed(2)}%)`,
      );
      const maxRes = Math.max(...r.pca.residual);
      io.log(`note: ${PROJECTION_NOTE} Largest relative distance of a checkpoint from the plane: ${maxRes.toFixed(3)}.`);
      io.log(
        `grid x ${r.grid.x.min}:${r.grid.x.max}:${r.grid.x.n}, y ${r.grid.y!.min}:${r.grid.y!.max}:${r.grid.y!.n}; loss at θ_final ${r.centerLoss.toPrecision(5)}`,
      );
      io.log(`view it: losscape view ${run}  (Plane: PCA trajectory)`);
      io.out(`pca: ${r.surface} explained ${e1.toFixed(4)} ${e2.toFixed(4)} (the path is a projection; contours off the plane may differ)`);
    },
  },
});

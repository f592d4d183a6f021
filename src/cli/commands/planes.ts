/**
 * `losscape planes RUN`: how honest a run's pictures are: the hidden-curvature report of every
 * frame's plane (manifest frames[k].curvature) and the trajectory relative to every plane
 * (trajectory.json); `losscape view` shows both.
 */
import type { Command } from 'commander';
import { computeRunPlanes } from '../../run/planes.js';
import { contextOf } from '../context.js';
import { numberFlag } from '../flags.js';

export function register(program: Command): void {
  program
    .command('planes')
    .summary("hidden-curvature report of every frame's plane, and the path relative to each plane")
    .description(
      "For every frame of a run: the plane's in-plane curvatures δᵀHδ/‖δ‖², ηᵀHη/‖η‖², its 2×2 Hessian eigenvalues and the full λmin/λmax at the centre, flagged as a hidden saddle when λmin < −ε·λmax but the plane shows no curvature below −ε·λmax; and where every checkpoint (the next one above all) projects onto the frame's plane and how far off it lies (trajectory.json). Runs with `directions.type: hessian` or a `curvature:` section write these while they run.\n" +
        'Example: losscape planes runs/demo && losscape view runs/demo',
    )
    .argument('<run>', 'run folder')
    .option('--epsilon <e>', 'hidden-saddle threshold ε (default: the run config, else 0.01)')
    .action(async (dir: string, o: { epsilon?: string }, c: Command) => {
      const ctx = contextOf(c);
      const epsilon = numberFlag(o.epsilon, '--epsilon', { min: 0 });
      const { reports, trajectory } = await computeRunPlanes(dir, { epsilon, progress: ctx.progress });
      for (const f of reports) {
        const k = f.curvature!;
        const next = trajectory.frames.find((t) => t.checkpoint === f.checkpoint)?.next;
        const step = next ? `; next checkpoint ${(100 * next.captured).toFixed(1)}% in the plane, ${next.offPlane.toPrecision(3)} off it` : '';
        ctx.out(
          `checkpoint ${f.checkpoint}: in-plane ${k.curvatureX.toPrecision(4)}, ${k.curvatureY.toPrecision(4)}; plane eig ${k.planeEigenvalues.map((v) => v.toPrecision(4)).join(', ')}; ` +
            `λmin ${k.lambdaMin.toPrecision(4)}, λmax ${k.lambdaMax.toPrecision(4)}${k.hiddenSaddle ? ' — HIDDEN SADDLE' : ''}${step}`,
        );
      }
      ctx.out(`wrote ${dir}/trajectory.json and the curvature reports in ${dir}/manifest.json`);
    });
}

/**
 * `losscape hessian`: the Hessian of the mean loss over the evaluation subset,
 * at one point (λmax, λmin, ratio, trace ± se, ε-sharpness, top-k, density),
 * over a grid (an eigenvalue map file), or for a whole run (hessian/ckpt-*.h5
 * and a sharpness table). Inputs as for `losscape surface`.
 */

import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { LosscapeError } from '../../core/errors.js';
import { gridSize } from '../../core/grid.js';
import { isLearnable } from '../../core/layout.js';
import type { ProgressTask } from '../../core/progress.js';
import type { LossEngine } from '../../engine/engine.js';
import { BACKEND_CHOICES, BACKEND_HELP, type Backend, createEngine } from '../../engine/registry.js';
import { computeEigenmap } from '../../hessian/eigenmap.js';
import { pointDensity, pointEigenvalues, pointTrace, stepsToConverge, TRACE_AUTO_LIMIT } from '../../hessian/point.js';
import { epsSharpness, SHARPNESS_DEFAULTS } from '../../hessian/sharpness.js';
import { CERTIFY_TOL, DEFAULT_CONVERGENCE } from '../../linalg/extremes.js';
import { PARAM_SELECTIONS, type ParamSelection, selects } from '../../linalg/hessian-operator.js';
import { LANCZOS_CONVERGENCE, LANCZOS_DEFAULTS, type LanczosConvergence } from '../../linalg/lanczos.js';
import { resolveConfig } from '../../run/config.js';
import { computeRunEigenmaps } from '../../run/eigenmaps.js';
import { runSharpness, sharpnessCsv } from '../../run/sharpness.js';
import { RunStore } from '../../store/run-store.js';
import { type CliContext, contextOf } from '../context.js';
import { choiceFlag, numberFlag } from '../flags.js';
import { addInputOptions, gridFromFlags, type InputFlags, resolveInputs } from '../inputs.js';
import { defaultWorkers } from './surface.js';

interface HessianFlags extends InputFlags {
  x?: string;
  y?: string;
  out?: string;
  params?: string;
  convergence?: string;
  tol?: string;
  maxIter?: string;
  backend?: string;
  dtype?: string;
  mode?: string;
  chunk?: string;
  fresh?: boolean;
  top?: string;
  density?: string;
  probes?: string;
  epsilon?: string;
  seed?: string;
  warmStart?: boolean;
  allCheckpoints?: boolean;
  sharpness?: string;
  every?: string;
  workers?: string;
  threads?: string;
  certify?: boolean;
  certifyTol?: string;
  trace?: boolean;
}

interface Common {
  params?: ParamSelection;
  convergence?: LanczosConvergence;
  tol?: number;
  maxIter?: number;
  certify: boolean;
  certifyTol?: number;
  backend?: Backend;
  dtype?: 'float32' | 'float64';
  mode?: 'eval' | 'train';
  seed: number;
  probes: number;
  epsilon: number;
}

export function register(program: Command): void {
  const cmd = program
    .command('hessian')
    .summary('Hessian eigenvalues (λmax, λmin, trace, sharpness) at a point, over a grid, or along a run')
    .description(
      "The Hessian of the MEAN loss over the evaluation subset, by exact Hessian-vector products and Lanczos (both ends of the spectrum in one run, true signs). All parameters by default; --params ndim>1 keeps only tensors with more than one dimension (the reference code's choice), the others held fixed.\n" +
        'Modes:\n' +
        '  at the centre (default): λmax, λmin, |λmin/λmax|, trace ± standard error, ε-sharpness; --top K, --density FILE\n' +
        '    losscape hessian --model model.onnx --data data.h5 --top 5\n' +
        '  a map over a grid (--out): channels max_eig, min_eig, eig_ratio, hvps, converged, certified [ny, nx]\n' +
        '    losscape hessian --model model.onnx --data data.h5 --directions dirs.h5 --x -1:1:5 --y -1:1:5 --out eig.h5\n' +
        '  a run: maps for every `hessian.every`-th checkpoint into hessian/ckpt-*.h5 (listed in the manifest), and/or a sharpness table per checkpoint with the train/test gap\n' +
        '    losscape hessian runs/demo --all-checkpoints\n' +
        '    losscape hessian runs/demo --sharpness sharpness.csv\n' +
        "With --all-checkpoints, the grid, --params, --convergence, --tol and --max-iter default to the run config's hessian section. Every converged λmin/λmax is checked: a second, short Lanczos run from a random vector makes sure no eigenvalue lies beyond them by more than --certify-tol (certified = 1; an eigenvalue found beyond is solved for). Interrupted maps resume when rerun with the same arguments.",
    );
  addInputOptions(cmd)
    .option('--x <min:max:n>', 'x axis of a map (with --out)')
    .option('--y <min:max:n>', 'y axis of a map (omit for a 1-D slice)')
    .option('--out <file.h5>', 'write an eigenvalue map over the grid to this file')
    .option('--params <which>', "tensors in the Hessian: all or 'ndim>1' (default all)")
    .option(
      '--convergence <test>',
      `what --tol bounds for λmax and λmin: eigenvalue (the Ritz values' error estimate) or residual (‖Hy − θy‖); default ${DEFAULT_CONVERGENCE}`,
    )
    .option(
      '--tol <t>',
      `Lanczos tolerance relative to |λ|max (default ${LANCZOS_DEFAULTS.tol.eigenvalue} for eigenvalue, ${LANCZOS_DEFAULTS.tol.residual} for residual)`,
    )
    .option('--max-iter <n>', `Lanczos steps (HVPs) per point at most (default ${LANCZOS_DEFAULTS.maxIter})`)
    .option('--certify-tol <t>', `how far beyond λmin/λmax the check rules out eigenvalues, relative to |λ|max (default ${CERTIFY_TOL})`)
    .option('--no-certify', 'skip the check (points are then converged but not certified)')
    .option('--backend <name>', `${BACKEND_HELP} (default auto; a run's own backend for a run)`)
    .option('--dtype <dtype>', 'float32 or float64 (default float32)')
    .option('--mode <mode>', 'eval (running BN stats) or train (batch stats, fixed dropout masks); default eval')
    .option('--chunk <n>', 'points per resumable chunk of a map (default: one grid row; warm starts stay inside a chunk)')
    .option('--workers <n>', 'worker threads for a map, each computing whole chunks (default: all cores when the map has enough chunks)')
    .option('--threads <n>', 'onnxruntime intra-op threads per worker (default 1 with workers, else all cores)')
    .option('--fresh', 'overwrite an existing map computed with other settings')
    .option('--top <k>', 'also the k largest eigenvalues (centre)')
    .option('--density <file.csv>', 'spectral density by stochastic Lanczos quadrature (centre), columns lambda,density')
    .option(
      '--trace',
      `Hutchinson's trace at the centre (default: on up to ${TRACE_AUTO_LIMIT.toExponential(0)} coordinates; the eigenvalues are printed first)`,
    )
    .option('--no-trace', 'skip the trace at the centre')
    .option('--probes <n>', 'Hutchinson probes for the trace', String(SHARPNESS_DEFAULTS.traceProbes))
    .option('--epsilon <e>', 'box size of ε-sharpness (Keskar et al.)', SHARPNESS_DEFAULTS.epsilon.toExponential())
    .option('--seed <n>', 'seed of the start and probe vectors', '0')
    .option('--no-warm-start', 'start every map point from a random vector')
    .option('--all-checkpoints', 'a run: eigenvalue maps for every hessian.every-th checkpoint (and the last)')
    .option('--sharpness <file.csv>', 'a run: λmax, λmin, trace, ε-sharpness and the train/test gap per checkpoint')
    .option('--every <k>', 'a run: every k-th checkpoint for --sharpness (default: hessian.every)')
    .action(async (run: string | undefined, f: HessianFlags, c: Command) => {
      const ctx = contextOf(c);
      const common: Common = {
        params: choiceFlag(f.params, '--params', PARAM_SELECTIONS),
        convergence: choiceFlag(f.convergence, '--convergence', LANCZOS_CONVERGENCE),
        tol: positive(f.tol, '--tol'),
        maxIter: numberFlag(f.maxIter, '--max-iter', { integer: true, min: 2 }),
        certify: f.certify !== false,
        certifyTol: positive(f.certifyTol, '--certify-tol'),
        backend: choiceFlag(f.backend, '--backend', BACKEND_CHOICES),
        dtype: choiceFlag(f.dtype, '--dtype', ['float32', 'float64'] as const),
        mode: choiceFlag(f.mode, '--mode', ['eval', 'train'] as const),
        seed: numberFlag(f.seed, '--seed', { integer: true, min: 0 }) ?? 0,
        probes: numberFlag(f.probes, '--probes', { integer: true, min: 2 }) ?? SHARPNESS_DEFAULTS.traceProbes,
        epsilon: numberFlag(f.epsilon, '--epsilon', { min: 0 }) ?? SHARPNESS_DEFAULTS.epsilon,
      };
      const top = numberFlag(f.top, '--top', { integer: true, min: 1 });
      const chunk = numberFlag(f.chunk, '--chunk', { integer: true, min: 1 });
      const runMode = Boolean(f.allCheckpoints || f.sharpness);
      if (f.out && !f.out.endsWith('.h5')) throw new LosscapeError('usage', `--out ${f.out}: the eigenvalue map file must end in .h5`);
      if (f.density && !f.density.endsWith('.csv')) throw new LosscapeError('usage', `--density ${f.density}: the density file must end in .csv`);
      if (f.sharpness && !f.sharpness.endsWith('.csv')) throw new LosscapeError('usage', `--sharpness ${f.sharpness}: the table must end in .csv`);
      if (runMode) {
        if (!run) throw new LosscapeError('usage', '--all-checkpoints and --sharpness need a run folder');
        if (f.out || top || f.density)
          throw new LosscapeError('usage', '--out, --top and --density work on one point or grid, not with --all-checkpoints/--sharpness');
        if (f.mode) throw new LosscapeError('usage', "--mode: a run's maps use the run's surface mode");
        if (f.workers || f.threads)
          throw new LosscapeError('usage', "--workers/--threads: a run's maps use the run's engine settings (engine.workers, engine.threads)");
        return runLevel(run, f, common, chunk, ctx);
      }
      if ((f.x || f.y) && !f.out) throw new LosscapeError('usage', 'a map over --x/--y needs --out FILE.h5');
      if ((f.workers || f.threads) && !f.out) throw new LosscapeError('usage', '--workers and --threads are for a map (--out FILE.h5)');
      if (f.out && (top || f.density)) throw new LosscapeError('usage', '--top and --density are for the centre point (omit --out)');
      if (f.every) throw new LosscapeError('usage', '--every works with --sharpness on a run');
      return f.out ? mapMode(run, f, common, chunk, ctx) : centreMode(run, f, common, top, ctx);
    });
}

function positive(v: string | undefined, flag: string): number | undefined {
  const n = numberFlag(v, flag);
  if (n !== undefined && !(n > 0)) throw new LosscapeError('usage', `${flag} must be positive, got ${v}`);
  return n;
}

async function engineFor(
  inp: Awaited<ReturnType<typeof resolveInputs>>,
  o: Common,
  ctx: CliContext,
  par: { workers?: number; threads?: number } = {},
): Promise<LossEngine> {
  return createEngine(inp.model, inp.data, { backend: o.backend ?? 'auto', mode: o.mode ?? 'eval', dtype: o.dtype ?? 'float32', ...par }, ctx.progress.warn);
}

/** Runs `fn` on a view of the engine whose HVPs advance a progress bar (ETA) of `total` HVPs. */
async function withHvpProgress<T>(engine: LossEngine, ctx: CliContext, label: string, total: number, fn: (e: LossEngine) => Promise<T>): Promise<T> {
  const task = ctx.progress.task(label, total, 'HVPs');
  let n = 0;
  const counted: LossEngine = {
    ...countingView(engine),
    hvp: async (t, v) => {
      const r = await engine.hvp(t, v);
      task.update(Math.min(total, ++n));
      return r;
    },
  };
  try {
    return await fn(counted);
  } finally {
    task.end();
  }
}

function fmt(v: number): string {
  return Number.isFinite(v) ? v.toPrecision(8) : String(v);
}

/** The coordinates and tensors of a parameter selection (learnable tensors only). */
function selectionSize(engine: LossEngine, params: ParamSelection): { coords: number; tensors: number } {
  const picked = engine.layout.entries.filter((e) => selects(e, params));
  return { coords: picked.reduce((a, e) => a + e.size, 0), tensors: picked.length };
}

/**
 * The Lanczos solve with a progress bar whose total (and ETA) follows its convergence: each
 * convergence test re-estimates the steps still needed (stepsToConverge), capped at maxIter.
 */
async function lanczosWithProgress<T>(
  engine: LossEngine,
  ctx: CliContext,
  maxIter: number,
  solve: (e: LossEngine, onTest: (steps: number, worst: number) => void) => Promise<T>,
): Promise<T> {
  const tests: { steps: number; worst: number }[] = [];
  let done = 0;
  let total = maxIter;
  const task = ctx.progress.task('lanczos', total, 'HVPs');
  const onTest = (steps: number, worst: number) => {
    tests.push({ steps, worst });
    const more = stepsToConverge(tests);
    if (more !== null) total = Math.max(done, Math.min(maxIter, steps + more));
    task.update(done, more === null ? '' : `converging (error ${worst.toPrecision(2)}× tol)`, total);
  };
  const counted: LossEngine = {
    ...countingView(engine),
    hvp: async (t, v) => {
      const r = await engine.hvp(t, v);
      done++;
      // the check after convergence (certify) adds steps beyond the estimate
      total = Math.max(total, done);
      task.update(done, undefined, total);
      return r;
    },
  };
  try {
    return await solve(counted, onTest);
  } finally {
    task.end();
  }
}

/** A view of the engine without hessianTask (so that solves run here, where their HVPs are seen). */
function countingView(engine: LossEngine): LossEngine {
  return {
    layout: engine.layout,
    samples: engine.samples,
    dtype: engine.dtype,
    description: engine.description,
    evaluate: (t) => engine.evaluate(t),
    gradient: (t) => engine.gradient(t),
    hvp: (t, v) => engine.hvp(t, v),
    evaluatePlane: (t, a, b, p) => engine.evaluatePlane(t, a, b, p),
    hessianNullCoordinates: engine.hessianNullCoordinates ? () => engine.hessianNullCoordinates!() : undefined,
    dispose: () => {},
  };
}

async function centreMode(run: string | undefined, f: HessianFlags, o: Common, top: number | undefined, ctx: CliContext): Promise<void> {
  const inp = await resolveInputs(run, f, false);
  for (const w of inp.warnings) ctx.progress.warn(w);
  const engine = await engineFor(inp, o, ctx);
  try {
    const params = o.params ?? 'all';
    const size = selectionSize(engine, params);
    const states = engine.layout.entries.filter((e) => !isLearnable(e.role)).length;
    const withTrace = f.trace ?? size.coords <= TRACE_AUTO_LIMIT;
    ctx.progress.log(
      `Hessian of the mean loss over ${engine.samples} samples, params ${params}: ${size.coords} coordinates in ${size.tensors} tensors` +
        `${states ? ` (not the ${states} running-statistics buffers)` : ''}, ${engine.description}`,
    );
    const maxIter = o.maxIter ?? LANCZOS_DEFAULTS.maxIter;
    const eig = await lanczosWithProgress(engine, ctx, maxIter, (e, onLanczosTest) =>
      pointEigenvalues(e, inp.theta, {
        params,
        convergence: o.convergence,
        tol: o.tol,
        maxIter,
        seed: o.seed,
        top,
        certify: o.certify,
        certifyTol: o.certifyTol,
        onLanczosTest,
      }),
    );
    if (!eig.converged) ctx.progress.warn(`Lanczos reached --max-iter ${maxIter} before --tol; the values are the last estimates`);
    // the eigenvalues first: the trace and ε-sharpness may take much longer on big models
    ctx.out(`params: ${params} (${eig.dim} coordinates)`);
    ctx.out(`lambda_max: ${fmt(eig.lambdaMax)}`);
    ctx.out(`lambda_min: ${fmt(eig.lambdaMin)}`);
    ctx.out(`ratio: ${fmt(eig.ratio)}`);
    if (o.certify)
      ctx.out(
        `certified: ${eig.certified ? 'yes' : 'no'} (no eigenvalue beyond λmin/λmax by more than ${o.certifyTol ?? CERTIFY_TOL}·|λ|max; ${eig.certifyHvps} HVPs)`,
      );
    if (eig.top) ctx.out(`top: ${Array.from(eig.top, fmt).join(' ')}`);
    let hvps = eig.hvps;
    let traceHvps = 0;
    if (withTrace) {
      const tr = await withHvpProgress(engine, ctx, 'trace', o.probes, (e) => pointTrace(e, inp.theta, { params, probes: o.probes, seed: o.seed + 1 }));
      ctx.out(`trace: ${fmt(tr.trace)} ± ${tr.stderr.toPrecision(3)} (${tr.probes} probes)`);
      traceHvps = tr.hvps;
    } else {
      ctx.progress.log(`trace skipped: ${size.coords} coordinates is above ${TRACE_AUTO_LIMIT} (--trace computes it with ${o.probes} HVPs)`);
    }
    const eps = await epsSharpness(engine, inp.theta, { epsilon: o.epsilon, params });
    ctx.out(`loss: ${fmt(eps.loss)}`);
    ctx.out(`eps_sharpness: ${fmt(eps.sharpness)} % (epsilon ${o.epsilon}, ${eps.steps} gradients)`);
    hvps += traceHvps;
    if (f.density) {
      const d = await withHvpProgress(engine, ctx, 'density', 90, (e) => pointDensity(e, inp.theta, { params, seed: o.seed + 2 }));
      const lines = ['lambda,density', ...Array.from(d.grid, (t, i) => `${t},${d.density[i]}`)];
      writeFileSync(f.density, `${lines.join('\n')}\n`);
      hvps += d.hvps;
      ctx.out(`density: ${f.density}`);
    }
    ctx.out(`hvps: ${hvps} (${eig.hvps} Lanczos, ${traceHvps} trace)`);
  } finally {
    await engine.dispose();
  }
}

async function mapMode(run: string | undefined, f: HessianFlags, o: Common, chunk: number | undefined, ctx: CliContext): Promise<void> {
  const grid = gridFromFlags(f.x, f.y, '-1:1:5');
  const chunks = Math.ceil(gridSize(grid) / (chunk ?? grid.x.n));
  const workers = numberFlag(f.workers, '--workers', { integer: true, min: 1 }) ?? defaultWorkers(chunks);
  const threads = numberFlag(f.threads, '--threads', { integer: true, min: 1 });
  const inp = await resolveInputs(run, f, Boolean(grid.y));
  for (const w of inp.warnings) ctx.progress.warn(w);
  const engine = await engineFor(inp, o, ctx, { workers, threads });
  const params = o.params ?? 'all';
  const bar: { task?: ProgressTask } = {};
  try {
    const { file, stats } = await computeEigenmap({
      engine,
      theta: inp.theta,
      dx: inp.dx,
      dy: inp.dy,
      grid,
      path: f.out!,
      params,
      convergence: o.convergence,
      tol: o.tol,
      maxIter: o.maxIter,
      certify: o.certify,
      certifyTol: o.certifyTol,
      seed: o.seed,
      warmStart: f.warmStart !== false,
      chunkSize: chunk,
      context: { ...inp.context, mode: o.mode ?? 'eval' },
      fresh: f.fresh,
      attrs: {
        dir_file: f.directions ?? '',
        directions: inp.directionSource,
        cosine: inp.cosine,
        mode: o.mode ?? 'eval',
        // the tensors the Hessian is over (learnable only: running statistics are buffers)
        hessian_tensors: engine.layout.entries
          .filter((e) => selects(e, params))
          .map((e) => e.name)
          .join(' '),
        ...(inp.checkpoint !== undefined ? { checkpoint: inp.checkpoint } : {}),
      },
      onProgress: (p) => {
        bar.task ??= ctx.progress.task('hessian', gridSize(grid), 'points');
        bar.task.update(p.done, p.resumed ? `${p.resumed} resumed` : undefined);
      },
    });
    bar.task?.end();
    const range = (c: string) => {
      const v = Array.from(file.values[c]!).filter(Number.isFinite);
      return v.length ? `${fmt(Math.min(...v))} … ${fmt(Math.max(...v))}` : '–';
    };
    ctx.progress.log(
      `${stats.points} points computed, ${stats.resumed} resumed from an earlier run` +
        (stats.points ? `; ${(stats.hvps / stats.points).toFixed(1)} HVPs and ${(stats.ms / stats.points).toFixed(0)} ms per point` : ''),
    );
    if (stats.unconverged)
      ctx.progress.warn(
        `${stats.unconverged} points not converged: --max-iter reached, or the check could not certify them (see the converged and certified channels)`,
      );
    else if (o.certify && stats.points)
      ctx.progress.log(`every point certified (${(stats.certifyHvps / stats.points).toFixed(1)} HVPs per point for the checks)`);
    ctx.progress.log(`λmax ${range('max_eig')}, λmin ${range('min_eig')}, |λmin/λmax| ${range('eig_ratio')} (params ${params})`);
    ctx.out(`eigenmap: ${f.out}`);
  } finally {
    bar.task?.end();
    await engine.dispose();
  }
}

async function runLevel(run: string, f: HessianFlags, o: Common, chunk: number | undefined, ctx: CliContext): Promise<void> {
  const store = new RunStore(run);
  if (!store.exists()) throw new LosscapeError('usage', `${run} is not a run folder (no manifest.json)`);
  if (f.model || f.data || f.directions) throw new LosscapeError('usage', 'give either a run folder or --model/--data, not both');
  if (chunk !== undefined) throw new LosscapeError('usage', "--chunk: a run's maps use one grid row per chunk");
  const cfg = resolveConfig(store.readManifest().config, `${run}/manifest.json`);
  const every = numberFlag(f.every, '--every', { integer: true, min: 1 });
  if (f.allCheckpoints) {
    const certify = f.certify === false ? false : undefined; // the config's hessian.certify unless --no-certify
    const spec = { x: f.x, y: f.y, params: o.params, convergence: o.convergence, tol: o.tol, maxIter: o.maxIter, certify, certifyTol: o.certifyTol };
    const r = await computeRunEigenmaps(store, cfg, {
      spec,
      backend: o.backend,
      dtype: o.dtype,
      progress: ctx.progress,
      fresh: f.fresh,
      seed: o.seed,
      warmStart: f.warmStart !== false,
    });
    const pts = r.frames.reduce((a, fr) => a + fr.stats.points, 0);
    const hvps = r.frames.reduce((a, fr) => a + fr.stats.hvps, 0);
    ctx.progress.log(
      `${r.frames.length} eigenvalue maps (${r.spec.x}${r.spec.y ? ` × ${r.spec.y}` : ''}, params ${r.spec.params}); ${pts} points computed` +
        (pts ? `, ${(hvps / pts).toFixed(1)} HVPs per point` : ''),
    );
    if (r.skipped.length) ctx.progress.warn(`no directions file (no landscape) at checkpoints ${r.skipped.join(', ')}`);
    for (const fr of r.frames) ctx.out(`hessian: ${store.path(fr.file)}`);
  }
  if (f.sharpness) {
    const rows = await runSharpness(store, cfg, {
      every: every ?? cfg.hessian?.every ?? 1,
      params: o.params,
      convergence: o.convergence,
      tol: o.tol,
      maxIter: o.maxIter,
      traceProbes: o.probes,
      epsilon: o.epsilon,
      seed: o.seed,
      backend: o.backend,
      dtype: o.dtype,
      progress: ctx.progress,
    });
    writeFileSync(f.sharpness, sharpnessCsv(rows));
    ctx.progress.log('checkpoint  λmax        trace ± se            ε-sharp %   test−train loss');
    for (const r of rows) {
      ctx.progress.log(
        `${String(r.checkpoint).padStart(10)}  ${r.lambdaMax.toPrecision(5).padEnd(10)}  ${`${r.trace.toPrecision(5)} ± ${r.traceStderr.toPrecision(2)}`.padEnd(20)}  ${r.epsSharpness.toPrecision(4).padEnd(10)}  ${Number.isFinite(r.gapLoss) ? r.gapLoss.toPrecision(4) : '–'}`,
      );
    }
    ctx.out(`sharpness: ${f.sharpness}`);
  }
}

import { resolve } from 'node:path';
import type { Command } from 'commander';
import { LosscapeError } from '../../core/errors.js';
import { loadConfigFile, type RunConfig } from '../../run/config.js';
import { type PipelineOptions, runPipeline } from '../../run/pipeline.js';
import { type CliContext, contextOf } from '../context.js';
import { numberFlag } from '../flags.js';
import { shardFlag } from './surface.js';

export function register(program: Command): void {
  program
    .command('run')
    .summary('train a model and compute its landscape movie from a config file')
    .description(
      'Train the model a config (JSON or YAML) describes and compute one 2-D landscape per checkpoint. Rerunning the same command resumes where it stopped; a different config in the same folder is refused (use --fresh to discard the old run).',
    )
    .argument('<config>', 'config file (.json, .yaml or .yml)')
    .option('--out <dir>', 'run folder (default: runs/<name>)')
    .option('--fresh', 'discard an existing run with a different config in the output folder')
    .option('--workers <n>', "worker threads for the landscapes (default: the config's engine.workers)")
    .option('--shard <i/n>', 'compute only shard i of n (0-based) of every landscape; combine with losscape merge <run>')
    .action(async (configPath: string, o: { out?: string; fresh?: boolean; workers?: string; shard?: string }, cmd: Command) => {
      const cfg = loadConfigFile(configPath);
      const shard = o.shard === undefined ? undefined : shardFlag(o.shard);
      if (shard && o.fresh) throw new LosscapeError('usage', '--fresh cannot be combined with --shard (shards share the run folder)');
      const workers = numberFlag(o.workers, '--workers', { integer: true, min: 1 });
      await runAndReport(cfg, o.out ?? `runs/${cfg.name}`, Boolean(o.fresh), contextOf(cmd), { shard, workers });
    });
}

export async function runAndReport(
  cfg: RunConfig,
  outDir: string,
  fresh: boolean,
  ctx: CliContext,
  extra: Pick<PipelineOptions, 'shard' | 'workers'> = {},
): Promise<void> {
  const m = await runPipeline(cfg, outDir, { fresh, progress: ctx.progress, ...extra });
  if (extra.shard) {
    ctx.progress.log(`shard ${extra.shard.index}/${extra.shard.count} of every landscape done; when all shards are: losscape merge ${outDir}`);
    ctx.out(`run: ${resolve(outDir)}`);
    return;
  }
  const last = m.checkpoints[m.checkpoints.length - 1];
  const g = cfg.surface;
  ctx.progress.log(
    `${m.model.name}: ${m.checkpoints.length} checkpoints, final train loss ${last?.train_loss.toFixed(4)} / acc ${last?.train_acc.toFixed(1)}%` +
      (last?.test_loss !== undefined ? `, test loss ${last.test_loss.toFixed(4)} / acc ${last.test_acc!.toFixed(1)}%` : ''),
  );
  ctx.progress.log(`${m.frames.length} landscapes (${g.x}${g.y ? ` × ${g.y}` : ''}) on ${m.data.subset.size} samples`);
  ctx.out(`run: ${resolve(outDir)}`);
  ctx.progress.log(`view it:   npx losscape view ${outDir}`);
  ctx.progress.log(`report:    npx losscape report ${outDir}    video: npx losscape video ${outDir}`);
}

/**
 * losscape merge: combine the shard files of a sharded surface (`surface --shard i/n`) or of a
 * sharded run (`run --shard i/n`) into the file one process would have written.
 */

import { existsSync, statSync } from 'node:fs';
import { relative } from 'node:path';
import type { Command } from 'commander';
import { LosscapeError } from '../../core/errors.js';
import { findShardFiles, mergeShardFiles, parseShardPath } from '../../jobs/shard.js';
import { resolveConfig } from '../../run/config.js';
import { frameFile, RunStore } from '../../store/run-store.js';
import { checkpointSteps } from '../../train/train.js';
import { contextOf } from '../context.js';

export function register(program: Command): void {
  program
    .command('merge')
    .summary('combine the shard files of a sharded surface or run')
    .description(
      'Combine what `losscape surface --shard i/n` or `losscape run --shard i/n` computed on several machines. Every shard must be complete and computed with the same configuration and directions.\n' +
        'Examples:\n' +
        '  losscape merge s.shard-0-of-3.h5 s.shard-1-of-3.h5 s.shard-2-of-3.h5 --out s.h5\n' +
        "  losscape merge runs/demo          (every landscape of a sharded run; fills in the run's frames)",
    )
    .argument('<inputs...>', 'shard files, or one run folder')
    .option('--out <file.h5>', 'merged surface file (default: the name the shard files share)')
    .action(async (inputs: string[], o: { out?: string }, c: Command) => {
      const ctx = contextOf(c);
      if (inputs.length === 1 && existsSync(inputs[0]!) && statSync(inputs[0]!).isDirectory()) {
        if (o.out) throw new LosscapeError('usage', '--out is for shard files; a run is merged in place');
        const n = await mergeRun(inputs[0]!, (line) => ctx.progress.log(line));
        ctx.out(`merged: ${n} landscape${n === 1 ? '' : 's'} in ${inputs[0]}`);
        return;
      }
      for (const p of inputs) if (!existsSync(p)) throw new LosscapeError('usage', `${p}: no such file or run folder`);
      let out = o.out;
      if (!out) {
        const targets = new Set(inputs.map((p) => parseShardPath(p)?.target ?? ''));
        if (targets.size !== 1 || targets.has('')) throw new LosscapeError('usage', 'give --out FILE.h5 (the inputs do not share one *.shard-i-of-n.h5 name)');
        out = [...targets][0]!;
      }
      if (!out.endsWith('.h5')) throw new LosscapeError('usage', `--out ${out}: the merged file must end in .h5`);
      if (inputs.includes(out)) throw new LosscapeError('usage', `--out ${out} is one of the inputs`);
      await mergeShardFiles(inputs, out);
      ctx.out(`merged: ${out}`);
    });
}

/** Merge every sharded landscape of a run and record the frames; returns how many were merged. */
export async function mergeRun(dir: string, log: (line: string) => void = () => {}): Promise<number> {
  const store = new RunStore(dir);
  if (!store.exists()) throw new LosscapeError('usage', `${dir} is not a run folder (no manifest.json); did shard 0 of the run finish?`);
  const manifest = store.readManifest();
  const cfg = resolveConfig(manifest.config, `${dir}/manifest.json`);
  const steps = checkpointSteps(cfg.train, manifest.data.train);
  const last = steps.length - 1;
  const wanted = steps.map((_, i) => i).filter((i) => i % cfg.surface.every === 0 || i === last);
  const have = new Set(manifest.checkpoints.map((c) => c.index));
  const untrained = wanted.filter((i) => !have.has(i));
  if (untrained.length > 0) {
    throw new LosscapeError(
      'usage',
      `${dir}: checkpoint${untrained.length > 1 ? 's' : ''} ${untrained.join(', ')} not trained yet; let shard 0 of the run finish first`,
    );
  }
  let merged = 0;
  for (const index of wanted) {
    const rel = frameFile('surfaces', index);
    const target = store.path(rel);
    const shards = findShardFiles(target);
    const frame = manifest.frames.find((f) => f.checkpoint === index);
    if (shards.length === 0) {
      if (frame?.surface && existsSync(store.path(frame.surface))) continue; // computed without shards
      throw new LosscapeError(
        'usage',
        `${dir}: checkpoint ${index} has no landscape and no shard files (${relative(dir, target).replace(/\.h5$/, '.shard-*-of-*.h5')})`,
      );
    }
    let gf: Awaited<ReturnType<typeof mergeShardFiles>>;
    try {
      gf = await mergeShardFiles(shards, target);
    } catch (e) {
      if (e instanceof LosscapeError) throw new LosscapeError(e.kind, `checkpoint ${index}: ${e.message}`);
      throw e;
    }
    const num = (k: string) => (typeof gf.attrs[k] === 'number' ? (gf.attrs[k] as number) : undefined);
    const next = {
      checkpoint: index,
      surface: rel,
      directions: typeof gf.attrs.dir_file === 'string' ? (gf.attrs.dir_file as string) : frameFile('directions', index),
      center_loss: num('center_loss'),
      center_acc: num('center_acc'),
      cosine: num('cosine'),
    };
    manifest.frames = [...manifest.frames.filter((f) => f.checkpoint !== index), { ...frame, ...next }].sort((a, b) => a.checkpoint - b.checkpoint);
    merged++;
    log(`checkpoint ${index}: ${shards.length} shards → ${rel}`);
  }
  store.writeManifest(manifest);
  return merged;
}

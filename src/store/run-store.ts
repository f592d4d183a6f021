/**
 * The run folder (docs/run-format.md): manifest.json, checkpoints.h5,
 * train-state.h5 (optimizer state of the latest checkpoint, for resuming),
 * directions/, surfaces/, hessian/. Every write is atomic.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ParamSpec } from '../core/layout.js';
import type { PlaneCurvature } from '../hessian/plane-curvature.js';
import type { CurvaturePoint } from '../hessian/timeline.js';
import { asFloat32, type H5Tree, readH5, writeH5 } from '../io/h5.js';
import type { Metrics4 } from '../train/metrics.js';
import { lockFolder } from './lock.js';

export const RUN_FORMAT = 'losscape-run/1';

export interface CheckpointInfo extends Metrics4 {
  index: number;
  step: number;
  epoch: number;
  /** The curvature timeline's point (run/timeline.ts). */
  curvature?: CurvaturePoint;
}

export interface FrameInfo {
  checkpoint: number;
  surface?: string;
  directions?: string;
  hessian?: string;
  /** The centre row and column on other evaluation subsets (data.subset.errorBars). */
  spread?: string;
  center_loss?: number;
  center_acc?: number;
  /** Cosine between the two directions. */
  cosine?: number;
  /** Hidden-curvature report of the frame's plane (run/planes.ts). */
  curvature?: PlaneCurvature;
}

export interface SubsetInfo {
  seed: number;
  size: number;
  indices: number[];
}

export interface Manifest {
  format: string;
  name: string;
  created: string;
  updated: string;
  status: 'running' | 'complete' | 'failed';
  versions: Record<string, string>;
  config: unknown;
  /** Hash of the config; a rerun with another config is refused. */
  configHash: string;
  model: { name: string; params: number; layout: ParamSpec[] };
  data: {
    name: string;
    train: number;
    test: number;
    inputShape: number[];
    classes: number;
    task: string;
    subset: SubsetInfo;
    testSubset?: SubsetInfo;
  };
  history: (Metrics4 & { step: number; epoch: number })[];
  checkpoints: CheckpointInfo[];
  frames: FrameInfo[];
  hessian?: { params: string; grid: string };
  pca?: { surface: string; path: [number, number][]; explained: [number, number] };
  timings: Record<string, number>;
  error?: string;
}

export class RunStore {
  constructor(readonly dir: string) {}

  static manifestPath(dir: string): string {
    return join(dir, 'manifest.json');
  }

  exists(): boolean {
    return existsSync(RunStore.manifestPath(this.dir));
  }

  path(rel: string): string {
    return join(this.dir, rel);
  }

  /**
   * Lock the run folder (created if missing) for writing by this process; the release function.
   * A part (e.g. "shard-0-of-4") shares the folder with the other parts, not with a whole-run writer.
   */
  lock(what: string, part?: string): () => void {
    mkdirSync(this.dir, { recursive: true });
    return lockFolder(this.dir, { what, part });
  }

  ensureDirs(): void {
    for (const d of ['', 'directions', 'surfaces', 'hessian']) mkdirSync(join(this.dir, d), { recursive: true });
  }

  readManifest(): Manifest {
    const p = RunStore.manifestPath(this.dir);
    let m: Manifest;
    try {
      m = JSON.parse(readFileSync(p, 'utf8')) as Manifest;
    } catch {
      throw new Error(`${p}: not a readable run manifest`);
    }
    if (m.format !== RUN_FORMAT) throw new Error(`${p}: unknown run format "${m.format}"`);
    return m;
  }

  writeManifest(m: Manifest): void {
    m.updated = new Date().toISOString();
    writeAtomic(RunStore.manifestPath(this.dir), `${JSON.stringify(m, null, 1)}\n`);
  }

  /** Rewrite checkpoints.h5 with every checkpoint so far. */
  async writeCheckpoints(layout: ParamSpec[], thetas: Map<number, { theta: Float32Array; step: number; epoch: number }>): Promise<void> {
    const tree: H5Tree = {};
    for (const [i, c] of [...thetas].sort((a, b) => a[0] - b[0])) {
      tree[`theta/${i}`] = { data: c.theta, attrs: { step: c.step, epoch: c.epoch } };
    }
    await writeH5(this.path('checkpoints.h5'), tree, { layout: JSON.stringify(layout) });
  }

  async readCheckpoints(): Promise<Map<number, { theta: Float32Array; step: number; epoch: number }>> {
    const out = new Map<number, { theta: Float32Array; step: number; epoch: number }>();
    const p = this.path('checkpoints.h5');
    if (!existsSync(p)) return out;
    const h = await readH5(p);
    for (const name of h.children('theta')) {
      const d = h.get(`theta/${name}`)!;
      out.set(Number(name), {
        theta: asFloat32(d.value, `${p}: theta/${name}`),
        step: Number(d.attrs.step ?? 0),
        epoch: Number(d.attrs.epoch ?? 0),
      });
    }
    return out;
  }

  async writeTrainState(step: number, nextIndex: number, optState: Float32Array[]): Promise<void> {
    const tree: H5Tree = {};
    optState.forEach((s, i) => (tree[`state/${i}`] = { data: s }));
    await writeH5(this.path('train-state.h5'), tree, { step, nextIndex });
  }

  async readTrainState(): Promise<{ step: number; nextIndex: number; optState: Float32Array[] } | null> {
    const p = this.path('train-state.h5');
    if (!existsSync(p)) return null;
    const h = await readH5(p);
    const names = h
      .children('state')
      .map(Number)
      .sort((a, b) => a - b);
    return {
      step: Number(h.attrs.step),
      nextIndex: Number(h.attrs.nextIndex),
      optState: names.map((i) => asFloat32(h.get(`state/${i}`)!.value, `${p}: state/${i}`)),
    };
  }
}

export function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

export function frameFile(kind: 'surfaces' | 'directions' | 'hessian' | 'spread', index: number): string {
  return `${kind}/ckpt-${String(index).padStart(4, '0')}.h5`;
}

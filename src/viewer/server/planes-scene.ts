/**
 * The planes part of a run's scene (../shared/planes.ts): each frame's hidden-curvature report
 * (manifest frames[k].curvature) and the trajectory relative to its plane (trajectory.json,
 * written by run/planes.ts). Absent when the run has neither; a malformed file is a warning.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CurvatureRow, CurvatureScene, PathPointScene, PlaneFrameScene } from '../shared/planes.js';

type Json = Record<string, unknown>;

export function loadPlanes(dir: string, frames: unknown[], warn: (line: string) => void): PlaneFrameScene[] | undefined {
  const byCheckpoint = new Map<number, PlaneFrameScene>();
  const entry = (k: number) => byCheckpoint.get(k) ?? byCheckpoint.set(k, { checkpoint: k }).get(k)!;
  for (const f of frames) {
    const fr = f as Json | null;
    const c = curvatureOf(fr?.curvature);
    if (fr && typeof fr.checkpoint === 'number' && c) entry(fr.checkpoint).curvature = c;
  }
  const path = join(dir, 'trajectory.json');
  if (existsSync(path)) {
    try {
      const doc = JSON.parse(readFileSync(path, 'utf8')) as Json;
      if (!Array.isArray(doc.frames)) throw new Error('"frames" is not a list');
      for (const t of doc.frames as Json[]) {
        if (typeof t?.checkpoint !== 'number') continue;
        const e = entry(t.checkpoint);
        if (typeof t.unitX === 'number') e.unitX = t.unitX;
        const next = pointOf(t.next);
        if (next && typeof (t.next as Json).captured === 'number') e.next = { ...next, captured: (t.next as Json).captured as number };
        if (Array.isArray(t.path)) e.path = t.path.map(pointOf).filter((p): p is PathPointScene => p !== null);
      }
    } catch (e) {
      warn(`trajectory.json skipped: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  return byCheckpoint.size ? [...byCheckpoint.values()].sort((a, b) => a.checkpoint - b.checkpoint) : undefined;
}

const isNum = (v: unknown): v is number => typeof v === 'number';

function curvatureOf(v: unknown): CurvatureScene | null {
  const c = v as Json | null;
  if (!c || typeof c !== 'object') return null;
  const keys = ['curvatureX', 'curvatureY', 'lambdaMin', 'lambdaMax', 'epsilon'] as const;
  if (!keys.every((k) => isNum(c[k])) || !Array.isArray(c.planeEigenvalues) || typeof c.hiddenSaddle !== 'boolean') return null;
  return {
    curvatureX: c.curvatureX as number,
    curvatureY: c.curvatureY as number,
    planeEigenvalues: (c.planeEigenvalues as unknown[]).filter(isNum),
    lambdaMin: c.lambdaMin as number,
    lambdaMax: c.lambdaMax as number,
    epsilon: c.epsilon as number,
    hiddenSaddle: c.hiddenSaddle,
  };
}

function pointOf(v: unknown): PathPointScene | null {
  const p = v as Json | null;
  if (!p || typeof p !== 'object') return null;
  if (!['checkpoint', 'alpha', 'beta', 'offPlane', 'distance'].every((k) => isNum(p[k]))) return null;
  return {
    checkpoint: p.checkpoint as number,
    alpha: p.alpha as number,
    beta: p.beta as number,
    offPlane: p.offPlane as number,
    distance: p.distance as number,
    near: p.near === true,
  };
}

/** The curvature timeline from the manifest's checkpoint rows (those with a `curvature` point). */
export function loadCurvatureTimeline(checkpoints: unknown): CurvatureRow[] | undefined {
  if (!Array.isArray(checkpoints)) return undefined;
  const rows: CurvatureRow[] = [];
  for (const c of checkpoints as Json[]) {
    const k = c?.curvature as Json | undefined;
    if (!k || !isNum(c.index) || !isNum(c.step) || !['lambdaMax', 'threshold', 'trace', 'epsSharpness'].every((f) => isNum(k[f]))) continue;
    const row: CurvatureRow = {
      checkpoint: c.index,
      step: c.step,
      lambdaMax: k.lambdaMax as number,
      threshold: k.threshold as number,
      trace: k.trace as number,
      epsSharpness: k.epsSharpness as number,
    };
    if (isNum(k.preconditionedLambdaMax) && isNum(k.preconditionedThreshold)) {
      row.preconditionedLambdaMax = k.preconditionedLambdaMax;
      row.preconditionedThreshold = k.preconditionedThreshold;
    }
    rows.push(row);
  }
  return rows.length ? rows.sort((a, b) => a.step - b.step) : undefined;
}

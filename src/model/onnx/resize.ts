/**
 * ONNX Resize in `nearest` mode as slices and broadcasts (differentiable and jit-able; a gather
 * would need a scatter in its gradient). Per resized axis the source index of every output
 * position follows the node's coordinate_transformation_mode and nearest_mode; integer
 * upsampling is one broadcast, anything else a concatenation of runs of equal source indices.
 */
import { numpy as np } from '@jax-js/jax';

type Arr = np.Array;

export interface NearestSpec {
  coordMode: string;
  nearestMode: string;
}

/** The source index of each of `outLen` output positions along an axis of length `inLen`. */
export function nearestIndices(inLen: number, outLen: number, scale: number, spec: NearestSpec): number[] {
  const original = (x: number): number => {
    switch (spec.coordMode) {
      case 'half_pixel':
        return (x + 0.5) / scale - 0.5;
      case 'pytorch_half_pixel':
        return outLen > 1 ? (x + 0.5) / scale - 0.5 : 0;
      case 'align_corners':
        return outLen === 1 ? 0 : (x * (inLen - 1)) / (outLen - 1);
      case 'asymmetric':
        return x / scale;
      case 'tf_half_pixel_for_nn':
        return (x + 0.5) / scale;
      default:
        throw new Error(`Resize: coordinate_transformation_mode "${spec.coordMode}" is not supported in nearest mode`);
    }
  };
  const round = (v: number): number => {
    switch (spec.nearestMode) {
      case 'round_prefer_floor':
        return v - Math.floor(v) === 0.5 ? Math.floor(v) : Math.round(v);
      case 'round_prefer_ceil':
        return Math.round(v);
      case 'floor':
        return Math.floor(v);
      case 'ceil':
        return Math.ceil(v);
      default:
        throw new Error(`Resize: nearest_mode "${spec.nearestMode}" is not supported`);
    }
  };
  return Array.from({ length: outLen }, (_, i) => Math.min(inLen - 1, Math.max(0, round(original(i)))));
}

/** x resized along `axis` so that output position i reads x[..., idx[i], ...]. x is consumed. */
function pickAlong(x: Arr, axis: number, idx: number[]): Arr {
  const n = x.shape[axis]!;
  if (idx.length === n && idx.every((v, i) => v === i)) return x;
  const k = idx.length / n;
  if (Number.isInteger(k) && idx.every((v, i) => v === Math.floor(i / k))) {
    // integer upsampling: [.., n, ..] → [.., n, 1, ..] → [.., n, k, ..] → [.., n·k, ..]
    const shape = [...x.shape];
    const withUnit = [...shape.slice(0, axis + 1), 1, ...shape.slice(axis + 1)];
    const wide = [...shape.slice(0, axis + 1), k, ...shape.slice(axis + 1)];
    const out = [...shape];
    out[axis] = n * k;
    return np.broadcastTo(x.reshape(withUnit), wide).reshape(out);
  }
  const runs: { src: number; len: number }[] = [];
  for (const v of idx) {
    const last = runs.at(-1);
    if (last && last.src === v) last.len++;
    else runs.push({ src: v, len: 1 });
  }
  const pieces = runs.map(({ src, len }) => {
    const sel: ([] | [number, number])[] = x.shape.map(() => [] as []);
    sel[axis] = [src, src + 1];
    const one = x.ref.slice(...sel);
    if (len === 1) return one;
    const shape = [...one.shape];
    shape[axis] = len;
    return np.broadcastTo(one, shape);
  });
  x.dispose();
  return pieces.length === 1 ? pieces[0]! : np.concatenate(pieces, axis);
}

/** Nearest-neighbour resize of x to `outShape` (same rank; `scales` per axis, as the node gives or implies them). */
export function resizeNearest(x: Arr, outShape: number[], scales: number[], spec: NearestSpec): Arr {
  let y = x;
  const inShape = [...x.shape];
  for (let a = 0; a < inShape.length; a++) {
    if (outShape[a] === inShape[a] && scales[a] === 1) continue;
    y = pickAlong(y, a, nearestIndices(inShape[a]!, outShape[a]!, scales[a]!, spec));
  }
  return y;
}

/**
 * Convolution by im2col in jax-js: the input's windows unfolded into a patch matrix and one
 * (grouped) matmul with the flattened kernel. Any number of spatial axes, strides, dilations,
 * groups and asymmetric zero padding; the zoo's layers and the ONNX importer both use it.
 *
 * Layouts follow PyTorch / ONNX: x [N, C, ...spatial], w [O, C/group, ...kernel], result
 * [N, O, ...out]. Every function consumes its Array arguments (jax-js reference counting).
 */
import { numpy as np } from '@jax-js/jax';

type Arr = np.Array;

export interface ConvGeometry {
  /** Per spatial axis (default 1). */
  strides?: number[];
  /** Zero padding before and after each spatial axis (default 0). */
  padBegin?: number[];
  padEnd?: number[];
  /** Kernel dilation per spatial axis (default 1). */
  dilations?: number[];
  /** Channel groups (default 1). */
  group?: number;
}

const product = (xs: readonly number[]): number => xs.reduce((a, b) => a * b, 1);

/** Output length of a convolution along one axis. */
export function convOutSize(inSize: number, kernel: number, stride: number, dilation: number, padBegin: number, padEnd: number): number {
  return Math.floor((inSize + padBegin + padEnd - dilation * (kernel - 1) - 1) / stride) + 1;
}

/** Zero padding of the spatial axes (2..) of x. */
export function zeroPadSpatial(x: Arr, begin: number[], end: number[]): Arr {
  if (begin.every((p) => p === 0) && end.every((p) => p === 0)) return x;
  return np.pad(x, [[0, 0], [0, 0], ...begin.map((b, i) => [b, end[i]!] as [number, number])]);
}

/** x[..., start:end:step, ...] along one axis, step > 0, via slice + reshape (jax-js has no strided slice). */
export function stridedAxis(x: Arr, axis: number, start: number, end: number, step: number): Arr {
  const n = Math.max(0, Math.ceil((end - start) / step));
  const idx: ([] | [number, number])[] = x.shape.map(() => [] as []);
  if (step === 1) {
    idx[axis] = [start, end];
    return x.slice(...idx);
  }
  const stop = Math.min(start + n * step, x.shape[axis]!);
  idx[axis] = [start, stop];
  let y = x.slice(...idx);
  const have = stop - start;
  if (have < n * step) {
    const w: [number, number][] = y.shape.map(() => [0, 0]);
    w[axis] = [0, n * step - have];
    y = np.pad(y, w);
  }
  const shape = [...y.shape];
  shape.splice(axis, 1, n, step);
  const pick: ([] | number)[] = shape.map(() => [] as []);
  pick[axis + 1] = 0;
  return y.reshape(shape).slice(...(pick as never[]));
}

/** The kernel position of flat index k (row-major over `kernel`). */
function kernelPosition(k: number, kernel: number[]): number[] {
  const pos: number[] = new Array(kernel.length);
  let r = k;
  for (let i = kernel.length - 1; i >= 0; i--) {
    pos[i] = r % kernel[i]!;
    r = Math.floor(r / kernel[i]!);
  }
  return pos;
}

/**
 * All window offsets of a strided, dilated window over the spatial axes of a padded x: K
 * arrays of shape [N, C, ...out] (K = prod(kernel), row-major kernel positions), each the
 * input seen at one kernel position. Unit-stride axes are cut in one slice. x is consumed.
 */
export function windowSlices(x: Arr, kernel: number[], strides: number[], dilations: number[], out: number[]): Arr[] {
  const res: Arr[] = [];
  const unit = strides.map((s) => s === 1);
  for (let k = 0; k < product(kernel); k++) {
    const starts = kernelPosition(k, kernel).map((p, i) => p * dilations[i]!);
    let y = x.ref;
    if (unit.some(Boolean)) {
      y = y.slice([], [], ...starts.map((s, i) => (unit[i] ? ([s, s + out[i]!] as [number, number]) : ([] as []))));
    }
    starts.forEach((s, i) => {
      if (!unit[i]) y = stridedAxis(y, i + 2, s, s + (out[i]! - 1) * strides[i]! + 1, strides[i]!);
    });
    res.push(y);
  }
  x.dispose();
  return res;
}

/** Convolution by im2col: one (grouped) matmul over the kernel's shifted copies of x. */
export function convIm2col(x: Arr, w: Arr, geometry: ConvGeometry = {}): Arr {
  const [n, cin] = x.shape as [number, number];
  const [o, cg, ...ks] = w.shape as number[];
  const sp = x.shape.slice(2) as number[];
  const strides = geometry.strides ?? sp.map(() => 1);
  const begin = geometry.padBegin ?? sp.map(() => 0);
  const end = geometry.padEnd ?? sp.map(() => 0);
  const dil = geometry.dilations ?? sp.map(() => 1);
  const group = geometry.group ?? 1;
  const out = sp.map((d, i) => convOutSize(d, ks[i]!, strides[i]!, dil[i]!, begin[i]!, end[i]!));
  if (out.some((d) => d <= 0)) throw new Error(`Conv: kernel [${ks}] does not fit the padded input [${sp}]`);
  const cols = windowSlices(zeroPadSpatial(x, begin, end), ks, strides, dil, out);
  // [N, C, K, ...out]
  const stacked = np.stack(cols, 2);
  const K = product(ks);
  const P = product(out);
  const sd = out.length;
  if (group === 1) {
    // → [N, ...out, C, K] → [N·P, C·K]
    const patches = stacked.transpose([0, ...out.map((_, i) => 3 + i), 1, 2]).reshape([n * P, cin * K]);
    const y = np.dot(patches, w.reshape([o!, cg! * K]).transpose());
    return y.reshape([n, ...out, o!]).transpose([0, sd + 1, ...out.map((_, i) => 1 + i)]);
  }
  // [N, g, cg, K, ...out] → [g, N, ...out, cg, K] → [g, N·P, cg·K]
  const og = o! / group;
  const patches = stacked
    .reshape([n, group, cg!, K, ...out])
    .transpose([1, 0, ...out.map((_, i) => 4 + i), 2, 3])
    .reshape([group, n * P, cg! * K]);
  const wg = w.reshape([group, og, cg! * K]).transpose([0, 2, 1]);
  const y = np.matmul(patches, wg); // [g, N·P, og]
  return y
    .reshape([group, n, ...out, og])
    .transpose([1, 0, sd + 2, ...out.map((_, i) => 2 + i)])
    .reshape([n, o!, ...out]);
}

/**
 * An in-memory dataset: inputs as one row-major Float32Array [n, ...inputShape]
 * and either integer class labels (classification) or float targets (regression).
 */
export interface Dataset {
  name: string;
  /** Per-sample input shape, e.g. [784], [1, 28, 28] or [2]. */
  inputShape: number[];
  /** Inputs, row-major [n, ...inputShape]. */
  x: Float32Array;
  /** Class labels 0..numClasses-1 (classification) or targets [n, targetDim] (regression). */
  y: Int32Array | Float32Array;
  task: 'classification' | 'regression';
  /** Number of classes (classification) or target dimension (regression). */
  outputDim: number;
}

/** A data set's fixed training and test splits (Fashion-MNIST, CIFAR). */
export interface TrainTest {
  train: Dataset;
  test: Dataset;
}

export function count(ds: Dataset): number {
  return ds.y.length / (ds.task === 'regression' ? ds.outputDim : 1);
}

export function sampleSize(ds: Dataset): number {
  let s = 1;
  for (const d of ds.inputShape) s *= d;
  return s;
}

/** The samples at `indices`, in that order (copies). */
export function take(ds: Dataset, indices: ArrayLike<number>, name = ds.name): Dataset {
  const d = sampleSize(ds);
  const t = ds.task === 'regression' ? ds.outputDim : 1;
  const n = indices.length;
  const x = new Float32Array(n * d);
  const y = ds.task === 'regression' ? new Float32Array(n * t) : new Int32Array(n);
  for (let k = 0; k < n; k++) {
    const i = indices[k]!;
    x.set(ds.x.subarray(i * d, (i + 1) * d), k * d);
    if (t === 1) y[k] = ds.y[i]!;
    else y.set(ds.y.subarray(i * t, (i + 1) * t), k * t);
  }
  return { ...ds, name, x, y };
}

/** Reshape every sample (e.g. [784] → [1, 28, 28]); the data is shared. */
export function withInputShape(ds: Dataset, inputShape: number[]): Dataset {
  const a = inputShape.reduce((p, q) => p * q, 1);
  if (a !== sampleSize(ds)) {
    throw new Error(`cannot view samples of shape [${ds.inputShape}] as [${inputShape}]`);
  }
  return { ...ds, inputShape: [...inputShape] };
}

/** Number of samples per class (classification only). */
export function classCounts(ds: Dataset): number[] {
  const c = new Array<number>(ds.outputDim).fill(0);
  for (const v of ds.y) c[v]!++;
  return c;
}

/** Check shapes, label range and finiteness; throws one clear line. */
export function validateDataset(ds: Dataset): void {
  const n = count(ds);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`dataset "${ds.name}" has no samples`);
  if (ds.x.length !== n * sampleSize(ds)) {
    throw new Error(`dataset "${ds.name}": ${ds.x.length} input values do not fit ${n} samples of shape [${ds.inputShape}]`);
  }
  for (let i = 0; i < ds.x.length; i++) {
    if (!Number.isFinite(ds.x[i]!)) throw new Error(`dataset "${ds.name}": input value ${i} is not finite`);
  }
  if (ds.task === 'classification') {
    for (let i = 0; i < ds.y.length; i++) {
      const v = ds.y[i]!;
      if (!Number.isInteger(v) || v < 0 || v >= ds.outputDim) {
        throw new Error(`dataset "${ds.name}": label ${v} of sample ${i} is outside 0..${ds.outputDim - 1}`);
      }
    }
  }
}

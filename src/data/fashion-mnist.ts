/**
 * Fashion-MNIST (Xiao et al. 2017) from Debian's `dataset-fashion-mnist` package: 60,000 training
 * and 10,000 test images of 28×28 grey pixels in ten clothing classes, stored as the four gzipped
 * IDX files of the original distribution under /usr/share/datasets/fashion-mnist. Pixels are
 * scaled to [0, 1] (torchvision's ToTensor).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LosscapeError } from '../core/errors.js';
import { readIdx } from '../io/idx.js';
import type { Dataset, TrainTest } from './dataset.js';
import { toDataset } from './files.js';

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

function split(dir: string, prefix: 'train' | 't10k'): Dataset {
  const images = join(dir, `${prefix}-images-idx3-ubyte.gz`);
  const labels = join(dir, `${prefix}-labels-idx1-ubyte.gz`);
  const x = readIdx(readFileSync(images), images);
  const y = readIdx(readFileSync(labels), labels);
  const name = `fashion-mnist-${prefix === 't10k' ? 'test' : 'train'}`;
  return toDataset(x, y, { inputShape: [1, 28, 28], classes: 10, name }, images, labels);
}

/** The training and test splits of Fashion-MNIST in `dir` (default: where the Debian package puts them). */
export function loadFashionMnist(dir = FASHION_MNIST_DIR): TrainTest {
  const missing = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'].filter(
    (f) => !existsSync(join(dir, f)),
  );
  if (missing.length > 0) {
    throw new LosscapeError(
      'input',
      `Fashion-MNIST not found (${join(dir, missing[0]!)} is missing): install it with \`sudo apt-get install dataset-fashion-mnist\``,
    );
  }
  return { train: split(dir, 'train'), test: split(dir, 't10k') };
}

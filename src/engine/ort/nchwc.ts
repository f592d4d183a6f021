/**
 * onnxruntime's NCHWc block size on this machine (MlasNchwcGetBlockSize: 8 with AVX2, 16 with
 * AVX-512), found by running its ReorderInput on a 4-channel tensor: the output has the
 * channels rounded up to one block. null when the NCHWc kernels are missing or the block cannot
 * be told from the probe (other architectures, a minimal build): graphs then stay plain ONNX.
 */
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../../compile/graph-builder.js';

let probe: Promise<number | null> | null = null;

export function nchwcBlockSize(): Promise<number | null> {
  probe ??= (async () => {
    const b = new GraphBuilder();
    b.addInput('x', 'float32', [1, 4, 1, 1]);
    const [y] = b.node('ReorderInput', ['x'], {}, 1, 'com.microsoft.nchwc');
    b.namedNode('Identity', [y!], 'y');
    b.addOutput('y', 'float32', [1, -1, 1, 1]);
    try {
      const s = await ort.InferenceSession.create(b.toModel('nchwc-probe'), { logSeverityLevel: 4 });
      try {
        const r = await s.run({ x: new ort.Tensor('float32', new Float32Array(4), [1, 4, 1, 1]) });
        // 4 channels come back as 4 both without NCHWc kernels (block 1) and with a block of 4:
        // only the x86 blocks (8, 16) are trusted
        const block = Number(r.y!.dims[1]);
        return block >= 8 && (block & (block - 1)) === 0 ? block : null;
      } finally {
        await s.release();
      }
    } catch {
      return null;
    }
  })();
  return probe;
}

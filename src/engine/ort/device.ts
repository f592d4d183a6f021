/**
 * Whether onnxruntime's CUDA execution provider can be used here, found by creating a tiny
 * session with the 'cuda' provider only. The npm package ships CPU binaries; the CUDA provider
 * is a separate download its install script makes on request (this project's .npmrc skips it).
 */
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../../compile/graph-builder.js';

/** How to get the CUDA provider (one line). */
export const CUDA_INSTALL_HINT =
  'install it with `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node` (Linux x64, CUDA 12 and cuDNN 9 on the machine; ' +
  'the variable overrides the project .npmrc line onnxruntime-node-install=skip), see docs/performance.md';

let probe: Promise<{ ok: true } | { ok: false; message: string }> | null = null;

function tinyModel(): Uint8Array {
  const b = new GraphBuilder();
  b.addInput('x', 'float32', [1]);
  b.namedNode('Identity', ['x'], 'y');
  b.addOutput('y', 'float32', [1]);
  return b.toModel('cuda-probe');
}

/** ok, or one line saying why not and how to install the provider. */
export function cudaAvailable(): Promise<{ ok: true } | { ok: false; message: string }> {
  probe ??= (async () => {
    // the failed provider load is also logged by onnxruntime's native logger; failures come
    // back as exceptions anyway, so keep its own output to fatal errors
    ort.env.logLevel = 'fatal';
    try {
      const s = await ort.InferenceSession.create(tinyModel(), { executionProviders: ['cuda'], logSeverityLevel: 4 });
      await s.release();
      return { ok: true as const };
    } catch (e) {
      const why = String((e as Error)?.message ?? e)
        .split('\n')[0]!
        .trim()
        .slice(0, 160);
      return {
        ok: false as const,
        message: `--device cuda: onnxruntime's CUDA provider is not available here (${why || 'no CUDA provider'}); ${CUDA_INSTALL_HINT}`,
      };
    }
  })();
  return probe;
}

/**
 * `losscape hessian` at a point on a big model: the Lanczos ETA follows the solve's convergence
 * (its tests' error / tolerance, extrapolated), not the iteration cap; the eigenvalues are printed
 * before the trace, which is optional (--trace / --no-trace; off above TRACE_AUTO_LIMIT
 * coordinates by default); a model exported with folded batch norm gets one warning line.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stepsToConverge } from '../../src/hessian/point.js';
import { readH5 } from '../../src/io/h5.js';
import { lanczos } from '../../src/linalg/lanczos.js';
import { cli } from '../helpers/cli.js';

const REAL = new URL('../fixtures/real-models/', import.meta.url).pathname;

describe('stepsToConverge', () => {
  it('extrapolates a geometric decrease exactly; no estimate without a falling trend', () => {
    const tests = [10, 11, 12, 13].map((steps) => ({ steps, worst: 1000 * 0.5 ** (steps - 10) }));
    // 125 × tol at step 13, halving per step: 7 more steps to reach ≤ 1
    expect(stepsToConverge(tests)).toBe(Math.ceil(Math.log(125) / Math.log(2)));
    expect(stepsToConverge(tests.slice(0, 2))).toBeNull();
    expect(stepsToConverge([5, 6, 7].map((steps) => ({ steps, worst: 50 })))).toBeNull();
  });

  it('on a Lanczos solve: once the error falls steadily, the estimate is the step it converges at', async () => {
    // a bulk in [0, 1] and an outlier at each end, close to it (slow convergence, as at a minimum)
    const n = 3000;
    const diag = Float64Array.from({ length: n }, (_, i) => (i === 0 ? 1.1 : i === 1 ? -0.05 : Math.sin(i) ** 2));
    const op = { dim: n, matvec: async (v: Float64Array) => Float64Array.from(v, (x, i) => x * diag[i]!) };
    const tests: { steps: number; worst: number }[] = [];
    const predicted: { steps: number; at: number | null }[] = [];
    const r = await lanczos(op, {
      which: 'both',
      tol: 1e-6,
      convergence: 'eigenvalue',
      maxIter: 400,
      onTest: (steps, worst) => {
        tests.push({ steps, worst });
        const more = stepsToConverge(tests);
        predicted.push({ steps, at: more === null ? null : steps + more });
      },
    });
    expect(r.converged).toBe(true);
    expect(Math.abs(r.lambdaMax - 1.1)).toBeLessThan(1e-5);
    const final = tests.at(-1)!.steps;
    expect(final).toBeGreaterThan(30);
    // from 3/4 of the way on, every estimate is within a few steps of the truth (the cap says 400)
    const late = predicted.filter((p) => p.steps >= 0.75 * final);
    expect(late.length).toBeGreaterThan(3);
    for (const p of late) expect(Math.abs(p.at! - final)).toBeLessThanOrEqual(Math.max(3, 0.1 * final));
  });
});

describe('losscape hessian at a point on an exported model', () => {
  it('warns about folded batch norm, prints the eigenvalues first, --no-trace skips the trace', () => {
    const r = cli(['hessian', '--model', `${REAL}mobilenet_folded.onnx`, '--data', `${REAL}data.h5`, '--no-trace', '--max-iter', '60']);
    expect(r.code, r.stderr).toBe(0);
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('warning:'));
    expect(warnings.some((l) => /batch norm looks folded.*training=torch\.onnx\.TrainingMode\.PRESERVE, do_constant_folding=False/.test(l))).toBe(true);
    const keys = r.stdout
      .trim()
      .split('\n')
      .map((l) => l.slice(0, l.indexOf(':')));
    expect(keys.indexOf('lambda_max')).toBeLessThan(keys.indexOf('loss'));
    expect(keys).not.toContain('trace');
    expect(r.stdout).toMatch(/hvps: \d+ \(\d+ Lanczos, 0 trace\)/);
  }, 120_000);

  it('keeps batch norm when exported with PRESERVE: no warning, running statistics are not Hessian coordinates', () => {
    const r = cli(['hessian', '--model', `${REAL}resnet_bn.onnx`, '--data', `${REAL}data.h5`, '--probes', '4', '--max-iter', '60']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('folded');
    // 20 learnable tensors of net.parameters() (5181 values); the 12 running statistics are buffers
    expect(r.stderr).toMatch(/params all: 5181 coordinates in 20 tensors \(not the 12 running-statistics buffers\)/);
    expect(r.stdout).toMatch(/^params: all \(5181 coordinates\)$/m);
    expect(r.stdout).toMatch(/^trace: .* \(4 probes\)$/m);
  }, 120_000);

  it('a map records the tensors its Hessian is over: the learnable ones, in net.parameters() order', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'losscape-eig-')), 'eig.h5');
    const args = ['--model', `${REAL}resnet_bn.onnx`, '--data', `${REAL}data.h5`, '--directions', `${REAL}resnet_bn.dirs.h5`];
    const r = cli(['hessian', ...args, '--x', '0:0:1', '--out', out, '--max-iter', '40', '--no-certify', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const meta = JSON.parse(readFileSync(`${REAL}resnet_bn.json`, 'utf8')) as { parameters: { name: string }[] };
    expect((await readH5(out)).attrs.hessian_tensors).toBe(meta.parameters.map((p) => p.name).join(' '));
  }, 120_000);
});

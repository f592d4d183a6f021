/**
 * The curvature timeline (hessian/timeline.ts, run/timeline.ts): the preconditioned λmax of
 * Adam on a quadratic with a known answer; a reduced full-batch GD run on a small MLP whose λmax
 * rises (progressive sharpening) against 2/η; an Adam run with the preconditioned values; the
 * viewer's timeline panel.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { inverseSqrtPreconditioner, preconditionedLambdaMax } from '../../src/hessian/timeline.js';
import { resolveConfig } from '../../src/run/config.js';
import { runPipeline } from '../../src/run/pipeline.js';
import { type Browser, launchBrowser, waitForViewer } from '../../src/viewer/server/browser.js';
import { loadScene } from '../../src/viewer/server/scene.js';
import { startServer, type ViewerServer } from '../../src/viewer/server/server.js';
import { ensureBuilt, settled } from '../viewer/helpers.js';
import { quadraticEngine } from './quadratic-engine.js';

const root = mkdtempSync(join(tmpdir(), 'losscape-timeline-'));
let browser: Browser | undefined;
let server: ViewerServer | undefined;
afterAll(async () => {
  await browser?.close();
  await server?.close();
  rmSync(root, { recursive: true, force: true });
});

/** examples/configs/edge-of-stability.yaml at reduced size: 250 points, 150 steps, a 3×3 grid. */
function eosConfig(over: Record<string, unknown> = {}) {
  const doc = parseYaml(readFileSync(new URL('../../examples/configs/edge-of-stability.yaml', import.meta.url), 'utf8'));
  return resolveConfig({
    ...doc,
    name: 'eos-small',
    data: { ...doc.data, n: 250 },
    model: { ...doc.model, hidden: [16, 16] },
    train: { ...doc.train, epochs: 150 },
    surface: { x: '-1:1:3', y: '-1:1:3', every: 3 },
    ...over,
  });
}

describe('preconditioned sharpness', () => {
  it('λmax of P^{-1/2} H P^{-1/2} on a diagonal quadratic', async () => {
    const n = 6;
    const diag = [1, 2, 3, 4, 5, 6];
    const a = new Float64Array(n * n);
    diag.forEach((v, i) => (a[i * n + i] = v));
    const v = Float32Array.from([4, 1, 0.25, 9, 16, 1e-4]);
    const learnable = Uint8Array.from([1, 1, 1, 1, 1, 0]);
    const d = inverseSqrtPreconditioner({ v, learnable, step: 10, beta1: 0.9, beta2: 0.99, eps: 1e-8 });
    const c2 = 1 - 0.99 ** 10;
    const expected = Math.max(...diag.slice(0, 5).map((h, i) => h / (Math.sqrt(v[i]! / c2) + 1e-8)));
    expect(d[5]).toBe(0);
    const got = await preconditionedLambdaMax(quadraticEngine(a, n), new Float32Array(n), d);
    expect(got).toBeCloseTo(expected, 6);
  });
});

describe('curvature timeline of a run', () => {
  it('full-batch GD: λmax rises toward 2/η (progressive sharpening), at every checkpoint', async () => {
    const m = await runPipeline(eosConfig(), join(root, 'gd'));
    const pts = m.checkpoints.map((c) => c.curvature!);
    expect(pts).toHaveLength(4);
    // full batch: the run's one batch per epoch is the whole training set, which the timeline's loss averages over
    expect(m.data.train).toBe(200);
    expect(m.data.subset.size).toBe(200);
    for (const p of pts) expect(p.threshold).toBeCloseTo(10, 12);
    expect(pts.at(-1)!.lambdaMax).toBeGreaterThan(1.5 * pts[0]!.lambdaMax);
    expect(pts.every((p) => p.preconditionedLambdaMax === undefined)).toBe(true);
    const scene = await loadScene(join(root, 'gd'));
    expect(scene.runs[0]!.curvature!.map((r) => r.step)).toEqual([0, 50, 100, 150]);
  });

  it("Adam: the preconditioned λmax against Adam's threshold (2 + 2β1)/((1 − β1)η)", async () => {
    const cfg = eosConfig({ name: 'adam', train: { epochs: 100, batchSize: 100000, optimizer: { type: 'adam', lr: 0.01 }, seed: 1, checkpointEvery: 50 } });
    expect(cfg.train.optimizer.type).toBe('adam');
    const m = await runPipeline(cfg, join(root, 'adam'));
    const pts = m.checkpoints.map((c) => c.curvature!);
    // no Adam state before the first step
    expect(pts[0]!.preconditionedLambdaMax).toBeUndefined();
    for (const p of pts.slice(1)) {
      expect(p.preconditionedThreshold).toBeCloseTo(38 / 0.01, 8);
      expect(p.preconditionedLambdaMax).toBeGreaterThan(p.lambdaMax);
    }
  });

  it('the viewer shows the timeline under the movie timeline, following the current checkpoint', async () => {
    ensureBuilt();
    server = await startServer({ runs: [join(root, 'gd')], port: 0 });
    browser = await launchBrowser({ width: 1100, height: 900 });
    await browser.page.goto(server.url);
    expect(await waitForViewer(browser.page)).toBeNull();
    await browser.page.evaluate('window.losscape.app.set({ t: 1, playing: false })');
    await settled(browser.page);
    const text = await browser.page.locator('[data-panel="curvature"] [data-role="curvature-now"]').textContent();
    expect(text).toMatch(/^step 150: λmax .* vs 2\/η 10 /);
  });
});

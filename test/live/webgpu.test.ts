/**
 * The live playground on WebGPU (Chromium's SwiftShader adapter: WebGPU on the CPU): the page
 * picks WebGPU when an adapter exists, trains, and its landscape equals the Node jax-js
 * engine's at the same weights and directions (1e-5).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { gridPoints } from '../../src/core/grid.js';
import { LiveConfig } from '../../src/live/config.js';
import { LiveSession } from '../../src/live/session.js';
import { chromiumPath } from '../../src/viewer/server/browser.js';
import { ensureBuilt, ROOT } from '../viewer/helpers.js';
import { QUERY, ready } from './helpers.js';

describe('live playground on WebGPU', () => {
  it('picks WebGPU where the browser has an adapter (SwiftShader here) and gives the CLI engine’s numbers at the same weights', async () => {
    ensureBuilt({ cli: true });
    const profile = mkdtempSync(join(tmpdir(), 'losscape-webgpu-'));
    const args = [
      '--enable-unsafe-webgpu',
      '--use-webgpu-adapter=swiftshader',
      '--enable-features=Vulkan',
      '--use-angle=swiftshader',
      '--enable-unsafe-swiftshader',
    ];
    if (process.getuid?.() === 0) args.push('--no-sandbox');
    const ctx = await chromium.launchPersistentContext(profile, { executablePath: chromiumPath(), headless: true, args });
    const node = await LiveSession.create(LiveConfig.parse({ n: 600, noise: 0.05, hidden: [32, 32], grid: 11, hessianGrid: 3 }));
    try {
      const page = ctx.pages()[0] ?? (await ctx.newPage());
      await page.goto(`file://${ROOT}dist/live/app/index.html?${QUERY}`);
      await ready(page);
      expect(await page.textContent('#backend')).toMatch(/^webgpu/);
      const r = (await page.evaluate(`(async () => {
        const s = window.live.session;
        await s.train(20);
        const sf = await s.surface();
        return { theta: [...sf.theta], loss: [...sf.values.loss], step: s.step };
      })()`)) as { theta: number[]; loss: number[]; step: number };
      expect(r.step).toBe(20);
      const theta = Float32Array.from(r.theta);
      const plane = node.plane(theta);
      const ref = await node.engine.evaluatePlane(theta, plane.dx, plane.dy, gridPoints(node.grid));
      expect(r.loss).toHaveLength(ref.loss.length);
      for (let k = 0; k < ref.loss.length; k++) expect(Math.abs(r.loss[k]! - ref.loss[k]!)).toBeLessThan(1e-5 * ref.loss[k]!);
    } finally {
      node.dispose();
      await ctx.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });
});

import { grad, init, jvp } from '@jax-js/jax';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ConvKind, cnnLoss, cnnShapes } from '../helpers/jax-models.js';
import { compareWithJit, oneHotLabels, randn, rng } from './helpers.js';

beforeAll(async () => {
  await init('wasm');
});

for (const conv of ['lax', 'im2col'] as ConvKind[]) {
  describe(`CNN (${conv} conv), N=64`, () => {
    let params: any[], v: any[], x: any, y: any;
    beforeAll(() => {
      const r = rng(conv === 'lax' ? 2 : 3);
      const mk = () => cnnShapes().map((s) => randn(r, s, s.length === 1 ? 0.1 : 1 / Math.sqrt(s.slice(1).reduce((a, b) => a * b, s[0] === 256 ? 256 : 1))));
      params = mk();
      v = mk();
      x = randn(r, [64, 1, 28, 28]);
      y = oneHotLabels(r, 64, 10);
    });
    const loss = (p: any, x: any, y: any) => cnnLoss(p, x, y, conv);

    it('loss', async () => {
      const c = await compareWithJit(loss, [params, x, y]);
      expect(c.errors[0]).toBeLessThan(1e-5);
      if (conv === 'lax') expect(c.summary.ops.Conv).toBe(2);
    });

    it('grad', async () => {
      const c = await compareWithJit((p: any, x: any, y: any) => grad(loss)(p, x, y), [params, x, y]);
      expect(c.errors).toHaveLength(6);
      for (const e of c.errors) expect(e).toBeLessThan(1e-5);
    });

    it('hvp (jvp of grad)', async () => {
      const hvp = (p: any, t: any, x: any, y: any) => jvp((pp: any) => grad(loss)(pp, x, y), [p], [t])[1];
      const c = await compareWithJit(hvp, [params, v, x, y]);
      expect(c.errors).toHaveLength(6);
      for (const e of c.errors) expect(e).toBeLessThan(1e-5);
    });
  });
}

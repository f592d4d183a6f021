/** Shared by the live page tests: the quick session's URL settings and waiting for the page. */
import type { Page } from 'playwright-core';
import { expect } from 'vitest';

/** A small, quick session: 2-32-32-3 (Adam) on 600 spiral points, 11×11 landscapes, 3×3 Hessian maps. */
export const QUERY = 'n=600&noise=0.05&hidden=32,32&opt=adam&lr=0.02&grid=11&hgrid=3&ckpt=20';

/** Wait until the playground has started (and did not fail). */
export async function ready(page: Page): Promise<void> {
  await page.waitForFunction('document.body.dataset.ready', undefined, { timeout: 90_000 });
  expect(await page.evaluate('document.body.dataset.ready')).toBe('1');
}

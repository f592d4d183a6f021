/**
 * `npm run bench:live`: the live playground's refresh rates in headless Chromium (the page's
 * own jax-js backend: wasm here, no WebGPU adapter), for the issue's configuration: a
 * 2-64-64-3 ReLU MLP on a 300-point evaluation subset (20 % of 1,500 spiral points),
 * 21×21 landscapes on [-1, 1]², a 7×7 |λmin/λmax| map (Lanczos, tol 1e-4, at most 80 HVPs
 * per point). Prints:
 *  - landscapes per second with training paused (compute only, best of --reps),
 *  - Hessian maps per second (one whole 7×7 map, paused),
 *  - while playing for --seconds: landscape refreshes per second of wall time and steps per
 *    second. Landscapes are then evaluated by the page's landscape worker(s) (one per core beyond
 *    the page's own, at least one) on the newest weights while the page's thread trains, draws the
 *    boundary and curves and computes Hessian points; the workers' own time per landscape is printed.
 * Chromium's CPU time per landscape and per map is printed too: on a busy shared machine wall
 * time overstates the work, and CPU time is what an idle core would take.
 * Flags: --seconds N (default 20)  --reps N (default 5)  --grid N (landscape points per side, default 21)
 * --json FILE. Quote the load average with the numbers.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { launchBrowser } from '../src/viewer/server/browser.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Clock ticks per second of /proc/<pid>/stat's CPU times (Linux's USER_HZ). */
const CLK_TCK = 100;

/**
 * CPU time (ms) used so far by this process's descendants (the Chromium processes): on a busy
 * shared machine wall time overstates the work, CPU time does not (Linux only).
 */
function chromiumCpuMs(): number {
  const stats = new Map<number, { ppid: number; ticks: number }>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const text = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
      stats.set(Number(d), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) });
    } catch {
      // the process ended meanwhile
    }
  }
  const mine = (pid: number): boolean => {
    for (let p = stats.get(pid)?.ppid; p !== undefined && p > 0; p = stats.get(p)?.ppid) if (p === process.pid) return true;
    return false;
  };
  let ticks = 0;
  for (const [pid, s] of stats) if (mine(pid)) ticks += s.ticks;
  return (1000 * ticks) / CLK_TCK;
}

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

interface MapRates {
  mapMs: number;
  hvps: number;
  backend: string;
  params: number;
  subset: number;
}

const SURFACES = (reps: number) => `(async () => {
  const s = window.live.session;
  const surfaceMs = [];
  for (let i = 0; i < ${reps}; i++) {
    const t0 = performance.now();
    await s.surface();
    surfaceMs.push(performance.now() - t0);
  }
  return surfaceMs;
})()`;

const MAP = `(async () => {
  const l = window.live;
  const s = l.session;
  const sf = await s.surface();
  const n = l.config.hessianGrid;
  const r = l.config.range;
  let hvps = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    const a = -r + (2 * r * j) / (n - 1);
    const b = -r + (2 * r * i) / (n - 1);
    hvps += (await s.eigenAt(sf.theta, sf.plane, a, b)).hvps;
  }
  return { mapMs: performance.now() - t0, hvps, backend: l.backend, params: s.model.layout.size, subset: s.data.evalSubset.y.length };
})()`;

async function main(): Promise<void> {
  const seconds = flag('seconds', 20);
  const reps = flag('reps', 5);
  const grid = flag('grid', 21);
  const load0 = loadavg()[0]!;
  const b = await launchBrowser({ width: 1280, height: 800 });
  try {
    const page = b.page;
    await page.goto(`file://${ROOT}dist/live/app/index.html${grid === 21 ? '' : `?grid=${grid}`}`);
    await page.waitForFunction('document.body.dataset.ready', undefined, { timeout: 120_000 });
    // the page's loop stays quiet while paused rates are measured (else its Hessian points run alongside)
    await page.evaluate('window.live.quiet = true');
    await page.evaluate('window.live.idle()');
    await page.evaluate('window.live.session.surface()'); // compile once
    const cpu0 = chromiumCpuMs();
    const surfaceMs = (await page.evaluate(SURFACES(reps))) as number[];
    const cpu1 = chromiumCpuMs();
    const paused = (await page.evaluate(MAP)) as MapRates;
    const cpu2 = chromiumCpuMs();
    const before = (await page.evaluate(
      '({ step: window.live.session.step, n: window.live.rates.surfaces.length, w: window.live.rates.worker.length, t: performance.now() })',
    )) as {
      step: number;
      n: number;
      w: number;
      t: number;
    };
    await page.evaluate('window.live.quiet = false');
    await page.click('#play');
    await new Promise((r) => setTimeout(r, seconds * 1000));
    await page.click('#play');
    const after = (await page.evaluate(
      '({ step: window.live.session.step, n: window.live.rates.surfaces.length, t: performance.now(), maps: window.live.rates.maps.length, worker: window.live.rates.worker, waits: window.live.rates.waits, workers: window.live.workers.length })',
    )) as {
      step: number;
      n: number;
      t: number;
      maps: number;
      worker: number[];
      waits: [number, number][];
      workers: number;
    };
    const workerMs = after.worker.slice(before.w).sort((a, b) => a - b);
    const medianWorkerMs = workerMs.length ? workerMs[Math.floor(workerMs.length / 2)]! : Number.NaN;
    const wall = (after.t - before.t) / 1000;
    const median = (v: number[]) => (v.length ? [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]! : Number.NaN);
    const waits = after.waits.slice(before.w);
    const startWaitMs = median(waits.map((w) => w[0]));
    const replyWaitMs = median(waits.map((w) => w[1]));
    const best = Math.min(...surfaceMs);
    const cpuSurfaceMs = (cpu1 - cpu0) / reps;
    const cpuMapMs = cpu2 - cpu1;
    const out = {
      date: new Date().toISOString(),
      backend: paused.backend,
      model: `mlp 2-64-64-3 relu (${paused.params} parameters)`,
      subset: paused.subset,
      grid: `${grid}x${grid}`,
      hessianGrid: '7x7',
      pausedSurfacesPerSecond: 1000 / best,
      pausedSurfaceMs: surfaceMs,
      /** Chromium CPU time per landscape and per map: what an idle core would take (the page runs on one thread). */
      cpuMsPerSurface: cpuSurfaceMs,
      cpuMsPerMap: cpuMapMs,
      idleCoreSurfacesPerSecond: 1000 / cpuSurfaceMs,
      idleCoreMapsPerSecond: 1000 / cpuMapMs,
      hessianMapsPerSecond: 1000 / paused.mapMs,
      hessianMapSeconds: paused.mapMs / 1000,
      hvpsPerPoint: paused.hvps / 49,
      playingRefreshesPerSecond: (after.n - before.n) / wall,
      playingWorkers: after.workers,
      /** Median time the landscape worker(s) took per landscape while training ran. */
      playingWorkerMsPerSurface: medianWorkerMs,
      /** Medians: from the page posting a landscape to a worker starting on it (with one queued, includes the wait behind the one evaluated), and from a worker's reply to the page taking it in. */
      playingStartWaitMs: startWaitMs,
      playingReplyWaitMs: replyWaitMs,
      playingStepsPerSecond: (after.step - before.step) / wall,
      playingHessianMaps: after.maps,
      playingSeconds: wall,
      loadavg: [load0, loadavg()[0]!],
    };
    const where = (await page.textContent('#backend')) ?? '';
    console.log(`live playground (file://), headless Chromium, backend ${where}; ${out.model}, ${out.subset}-point subset`);
    console.log(`  landscapes/s (${grid}×${grid}, paused, best of ${reps}): ${out.pausedSurfacesPerSecond.toFixed(2)}  (${best.toFixed(0)} ms each)`);
    console.log(
      `  Hessian maps/s (7×7, paused):               ${out.hessianMapsPerSecond.toFixed(3)}  (${out.hessianMapSeconds.toFixed(1)} s each, ${out.hvpsPerPoint.toFixed(0)} HVPs per point)`,
    );
    console.log(
      `  playing ${wall.toFixed(0)} s: ${out.playingRefreshesPerSecond.toFixed(2)} landscape refreshes/s (${after.workers} worker${after.workers === 1 ? '' : 's'}, median ${medianWorkerMs.toFixed(0)} ms each; mean ${(workerMs.reduce((a, b) => a + b, 0) / workerMs.length).toFixed(0)}; replies wait ${replyWaitMs.toFixed(0)} ms for the page), ${out.playingStepsPerSecond.toFixed(1)} steps/s, ${after.maps} Hessian maps`,
    );
    console.log(
      `  Chromium CPU time: ${cpuSurfaceMs.toFixed(0)} ms per landscape, ${(cpuMapMs / 1000).toFixed(1)} s per map → on an idle core ${out.idleCoreSurfacesPerSecond.toFixed(2)} landscapes/s, ${out.idleCoreMapsPerSecond.toFixed(3)} maps/s`,
    );
    console.log(`  load average ${out.loadavg.map((v) => v.toFixed(2)).join(' → ')}`);
    const json = process.argv.indexOf('--json');
    if (json >= 0) writeFileSync(process.argv[json + 1]!, `${JSON.stringify(out, null, 1)}\n`);
  } finally {
    await b.close();
  }
}

await main();

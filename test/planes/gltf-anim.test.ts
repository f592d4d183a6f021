/**
 * The animated glTF (export/gltf-anim.ts): one mesh with one morph target per frame whose
 * positions are the frames' surfaces, an animation of the weights; it passes the Khronos glTF
 * validator (npm gltf-validator) and loads in three.js's GLTFLoader in the test browser with one
 * morph target per frame, where the animation at frame k's time shows frame k. Also the OBJ
 * sequence.
 */
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coordinates, type Grid } from '../../src/core/grid.js';
import type { SurfaceFrame } from '../../src/export/frames.js';
import { parseGlb, surfacesToMorphGlb, surfaceToObj } from '../../src/export/index.js';
import { type Browser, launchBrowser } from '../../src/viewer/server/browser.js';
import { ROOT } from '../viewer/helpers.js';

const grid: Grid = { x: { min: -1, max: 1, n: 5 }, y: { min: -1, max: 1, n: 4 } };

/** Frame k: loss = 1 + x² + 2y² + k·x (a tilting bowl). */
function frame(k: number): SurfaceFrame {
  const xs = coordinates(grid.x);
  const ys = coordinates(grid.y!);
  const loss = new Float64Array(xs.length * ys.length);
  for (let i = 0; i < ys.length; i++) for (let j = 0; j < xs.length; j++) loss[i * xs.length + j] = 1 + xs[j]! ** 2 + 2 * ys[i]! ** 2 + k * xs[j]!;
  return {
    label: `ckpt-000${k}`,
    checkpoint: k,
    step: 10 * k,
    grid,
    xs,
    ys,
    values: { train_loss: loss },
    done: new Uint8Array(loss.length).fill(1),
    source: 'test',
  };
}

const frames = [0, 1, 2].map(frame);
const glb = surfacesToMorphGlb(frames, { frameSeconds: 0.5 });

/** The validator, when installed (a devDependency: `npm install`); a variable name keeps tsc from needing its types. */
const VALIDATOR = 'gltf-validator';
const validatorModule = await import(VALIDATOR).catch(() => null);
const validator: { validateBytes(b: Uint8Array): Promise<any> } | null = validatorModule ? (validatorModule.default ?? validatorModule) : null;

describe('animated glTF with morph targets', () => {
  it('one mesh, one morph target per frame: base + target k = frame k; a LINEAR weights animation', () => {
    const { json, bin } = parseGlb(glb) as { json: any; bin: Uint8Array };
    expect(json.meshes).toHaveLength(1);
    const prim = json.meshes[0].primitives[0];
    expect(prim.targets).toHaveLength(3);
    const read = (a: number) => {
      const acc = json.accessors[a];
      const view = json.bufferViews[acc.bufferView];
      return new Float32Array(bin.buffer.slice(bin.byteOffset + view.byteOffset, bin.byteOffset + view.byteOffset + view.byteLength));
    };
    const base = read(prim.attributes.POSITION);
    frames.forEach((f, k) => {
      const d = read(prim.targets[k].POSITION);
      for (let v = 0; v < base.length / 3; v++) expect(base[3 * v + 1]! + d[3 * v + 1]!).toBeCloseTo(f.values.train_loss![v]!, 5);
    });
    const anim = json.animations[0];
    expect(anim.channels[0].target.path).toBe('weights');
    expect(anim.samplers[0].interpolation).toBe('LINEAR');
    expect(Array.from(read(anim.samplers[0].input))).toEqual([0, 0.5, 1]);
    expect(Array.from(read(anim.samplers[0].output))).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
  });

  it.skipIf(!validator)('passes the Khronos glTF validator (npm gltf-validator; skipped when it is not installed)', async () => {
    const report = await validator!.validateBytes(glb);
    const messages = (report.issues.messages ?? []).map((m: { code: string; message: string; severity: number }) => `${m.severity} ${m.code}: ${m.message}`);
    expect(report.issues.numErrors, messages.join('\n')).toBe(0);
    expect(report.issues.numWarnings, messages.join('\n')).toBe(0);
    expect(report.info.hasMorphTargets).toBe(true);
    expect(report.info.animationCount).toBe(1);
  });

  it('an OBJ per frame: vertices (x, loss, −y), normals, two triangles per cell', () => {
    const obj = surfaceToObj(frames[1]!);
    const v = obj.split('\n').filter((l) => l.startsWith('v '));
    expect(v).toHaveLength(20);
    expect(v[0]).toBe(`v -1 ${Math.fround(1 + 1 + 2 - 1)} 1`);
    expect(obj.split('\n').filter((l) => l.startsWith('vn '))).toHaveLength(20);
    expect(obj.split('\n').filter((l) => l.startsWith('f '))).toHaveLength(2 * 4 * 3);
  });
});

describe("three.js's GLTFLoader in the test browser", () => {
  let browser: Browser;
  beforeAll(async () => {
    // GLTFLoader and AnimationMixer bundled for the page
    const out = await build({
      stdin: {
        contents: `import { AnimationMixer, LoopOnce } from 'three';
          import { GLTFLoader } from 'three/examples/jsm/loaders/GLTFLoader.js';
          window.loadGlb = (b64) => new Promise((res, rej) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            new GLTFLoader().parse(bytes.buffer, '', (gltf) => {
              let mesh = null;
              gltf.scene.traverse((o) => { if (o.isMesh) mesh = o; });
              const mixer = new AnimationMixer(gltf.scene);
              const action = mixer.clipAction(gltf.animations[0]);
              action.setLoop(LoopOnce, 1);
              action.clampWhenFinished = true;
              action.play();
              const at = (t) => { mixer.setTime(t); return Array.from(mesh.morphTargetInfluences); };
              res({ targets: mesh.geometry.morphAttributes.position.length, names: Object.keys(mesh.morphTargetDictionary ?? {}), clips: gltf.animations.length, at0: at(0), at1: at(0.5), atMid: at(0.75), at2: at(1) });
            }, rej);
          });`,
        resolveDir: ROOT,
      },
      bundle: true,
      format: 'iife',
      write: false,
      logLevel: 'silent',
    });
    browser = await launchBrowser({ width: 200, height: 200 });
    await browser.page.setContent('<html><body></body></html>');
    await browser.page.addScriptTag({ content: out.outputFiles[0]!.text });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  it('loads with one morph target per frame; the animation at frame k shows frame k, blending in between', async () => {
    const r = (await browser.page.evaluate(`window.loadGlb(${JSON.stringify(Buffer.from(glb).toString('base64'))})`)) as Record<string, any>;
    expect(r.targets).toBe(3);
    expect(r.names).toEqual(['ckpt-0000', 'ckpt-0001', 'ckpt-0002']);
    expect(r.clips).toBe(1);
    expect(r.at0).toEqual([1, 0, 0]);
    expect(r.at1).toEqual([0, 1, 0]);
    expect(r.atMid[1]).toBeCloseTo(0.5, 5);
    expect(r.atMid[2]).toBeCloseTo(0.5, 5);
    expect(r.at2).toEqual([0, 0, 1]);
  });
});

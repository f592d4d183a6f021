/**
 * The lit 3-D surface (three.js). One SurfaceView owns a WebGL canvas, a
 * camera and its geometry; `show()` writes heights, colours, normals and
 * contour lines into the existing buffers (reallocated only when the grid
 * changes), so scrubbing the timeline allocates nothing.
 *
 * World space: data x → world X, data y → world −Z, height → world Y. The
 * longer side of the grid spans [−1, 1]; heights are normalised to
 * HEIGHT × exaggeration.
 */
import * as THREE from 'three';
import { OrbitControls } from 'three/addons/controls/OrbitControls.js';
import type { Colormap } from '../../../core/colormap.js';
import { lutIndex } from '../../../core/colormap.js';
import { contourLevels, contourSegments } from '../../../core/contour.js';
import { type AxisTitles, bilinear, type Field } from '../data.js';
import { Axes3D, type AxesInput, type AxisLabel } from './axes3d.js';

export const HEIGHT = 0.75;
const FLOOR = -0.12;

export interface SurfaceLook {
  grid: Pick<Field, 'x' | 'y' | 'nx' | 'ny'>;
  /** Height values (already transformed), row-major [ny, nx]. */
  heights: Float32Array;
  /** Heights are normalised from lo to cap (values above cap are clipped flat). */
  lo: number;
  cap: number;
  exaggeration: number;
  /** Colour source and its range. */
  colors: Float32Array;
  colorLo: number;
  colorHi: number;
  cmap: Colormap;
  contours: number;
  /** Trajectory (data coordinates) and the current point on it. */
  path?: [number, number][] | undefined;
  marker?: [number, number] | null | undefined;
  /** How heights were transformed (the loss axis labels losses); linear when absent. */
  scale?: { log: boolean; shift: number };
  /** Axis titles; no axes are drawn without them. */
  titles?: AxisTitles | undefined;
}

export interface CameraState {
  position: [number, number, number];
  target: [number, number, number];
}

export const DEFAULT_CAMERA: CameraState = { position: [2.27, 1.84, 2.68], target: [0, 0.1, 0] };

export class SurfaceView {
  readonly renderer: THREE.WebGLRenderer;
  readonly camera: THREE.PerspectiveCamera;
  readonly scene = new THREE.Scene();
  controls: OrbitControls | null = null;
  private geometry = new THREE.BufferGeometry();
  private floorGeometry = new THREE.BufferGeometry();
  private mesh: THREE.Mesh;
  private backMesh: THREE.Mesh;
  private floor: THREE.Mesh;
  private lines: THREE.LineSegments;
  private floorLines: THREE.LineSegments;
  private frame: THREE.LineSegments;
  private pathGroup = new THREE.Group();
  private markerMesh: THREE.Mesh;
  private axes = new Axes3D();
  private axesInput: AxesInput | null = null;
  private gridKey = '';
  private maskKey = '';
  private pathKey = '';

  constructor(canvas: HTMLCanvasElement, opts: { interactive: boolean }) {
    this.renderer = new THREE.WebGLRenderer({ canvas, antialias: true, alpha: true, preserveDrawingBuffer: true });
    this.renderer.setClearColor(0x000000, 0);
    this.camera = new THREE.PerspectiveCamera(34, 1, 0.05, 100);
    this.setCamera(DEFAULT_CAMERA);

    this.scene.add(new THREE.HemisphereLight(0xf2f4ff, 0x2a2f3c, 1.55));
    const key = new THREE.DirectionalLight(0xffffff, 1.9);
    key.position.set(2.5, 4, 2.2);
    this.scene.add(key);
    const rim = new THREE.DirectionalLight(0x9fb6ff, 0.55);
    rim.position.set(-3, 1.5, -2.5);
    this.scene.add(rim);

    const material = new THREE.MeshStandardMaterial({
      vertexColors: true,
      roughness: 0.62,
      metalness: 0.02,
      side: THREE.FrontSide,
      polygonOffset: true,
      polygonOffsetFactor: 1,
      polygonOffsetUnits: 1,
    });
    this.mesh = new THREE.Mesh(this.geometry, material);
    this.scene.add(this.mesh);
    // The underside (seen where a wall of the landscape faces away from the light, e.g. the near
    // wall of a bowl) in its own colours, dimmed but unlit: lit like the top it would be nearly
    // black, a dark seam along the rim.
    const underside = new THREE.MeshBasicMaterial({
      vertexColors: true,
      color: 0x8c8c8c,
      side: THREE.BackSide,
      polygonOffset: true,
      polygonOffsetFactor: 1,
      polygonOffsetUnits: 1,
    });
    this.backMesh = new THREE.Mesh(this.geometry, underside);
    this.scene.add(this.backMesh);

    const floorMaterial = new THREE.MeshBasicMaterial({ vertexColors: true, transparent: true, opacity: 0.12, depthWrite: false, side: THREE.DoubleSide });
    this.floor = new THREE.Mesh(this.floorGeometry, floorMaterial);
    this.floor.renderOrder = -1;
    this.scene.add(this.floor);

    this.lines = new THREE.LineSegments(
      new THREE.BufferGeometry(),
      new THREE.LineBasicMaterial({ color: 0xffffff, transparent: true, opacity: 0.38, depthWrite: false }),
    );
    this.scene.add(this.lines);
    this.floorLines = new THREE.LineSegments(
      new THREE.BufferGeometry(),
      new THREE.LineBasicMaterial({ color: 0xaab4d0, transparent: true, opacity: 0.22, depthWrite: false }),
    );
    this.scene.add(this.floorLines);

    this.frame = new THREE.LineSegments(new THREE.BufferGeometry(), new THREE.LineBasicMaterial({ color: 0x8b93a7, transparent: true, opacity: 0.35 }));
    this.scene.add(this.frame);
    this.scene.add(this.pathGroup);
    this.markerMesh = new THREE.Mesh(
      new THREE.SphereGeometry(0.032, 20, 14),
      new THREE.MeshStandardMaterial({ color: 0xffb545, emissive: 0xff8a00, emissiveIntensity: 0.6, roughness: 0.4 }),
    );
    this.markerMesh.visible = false;
    this.scene.add(this.markerMesh);
    this.scene.add(this.axes.object);

    if (opts.interactive) {
      this.controls = new OrbitControls(this.camera, canvas);
      this.controls.target.set(...DEFAULT_CAMERA.target);
      this.controls.enableDamping = true;
      this.controls.dampingFactor = 0.12;
      this.controls.minDistance = 0.6;
      this.controls.maxDistance = 12;
      this.controls.update();
    }
  }

  setSize(width: number, height: number, pixelRatio = 1): void {
    this.renderer.setPixelRatio(pixelRatio);
    this.renderer.setSize(width, height, false);
    this.camera.aspect = width / Math.max(height, 1);
    // Keep the whole surface in view on narrow canvases.
    // vertical field of view 34°, widened so the horizontal one is at least 52°
    const fitWidth = 2 * Math.atan(Math.tan((52 * Math.PI) / 360) / this.camera.aspect) * (180 / Math.PI);
    this.camera.fov = Math.max(34, fitWidth);
    this.camera.updateProjectionMatrix();
  }

  getCamera(): CameraState {
    const t = this.controls?.target ?? new THREE.Vector3(...DEFAULT_CAMERA.target);
    return { position: this.camera.position.toArray() as [number, number, number], target: t.toArray() as [number, number, number] };
  }

  setCamera(c: CameraState): void {
    this.camera.position.set(...c.position);
    if (this.controls) this.controls.target.set(...c.target);
    this.camera.lookAt(new THREE.Vector3(...c.target));
  }

  /** Rotate the default camera by `azimuth` radians about the vertical axis. */
  orbit(azimuth: number, base: CameraState = DEFAULT_CAMERA): void {
    const [x, y, z] = base.position;
    const [tx, _ty, tz] = base.target;
    const r = Math.hypot(x - tx, z - tz);
    const a = Math.atan2(x - tx, z - tz) + azimuth;
    this.setCamera({ position: [tx + r * Math.sin(a), y, tz + r * Math.cos(a)], target: base.target });
  }

  /** Draw the scene (the axes follow the camera). */
  render(): void {
    this.axes.object.visible = this.axesInput !== null;
    if (this.axesInput) {
      const size = this.renderer.getSize(new THREE.Vector2());
      this.axes.update(this.axesInput, this.camera, size.x, size.y);
    } else this.axes.labels = [];
    this.renderer.render(this.scene, this.camera);
  }

  /** The axis labels of the last render, in CSS pixels of the canvas. */
  get axisLabels(): AxisLabel[] {
    return this.axes.labels;
  }

  dispose(): void {
    this.controls?.dispose();
    this.renderer.dispose();
  }

  /** Data coordinates → world X and Z. */
  private worldXZ(g: SurfaceLook['grid']): { wx: (x: number) => number; wz: (y: number) => number } {
    const span = Math.max(g.x.max - g.x.min, g.y.max - g.y.min) || 1;
    const cx = (g.x.max + g.x.min) / 2;
    const cy = (g.y.max + g.y.min) / 2;
    return { wx: (x) => ((x - cx) / span) * 2, wz: (y) => (-(y - cy) / span) * 2 };
  }

  private heightOf(look: SurfaceLook, v: number): number {
    const span = look.cap - look.lo || 1;
    const u = Math.min(Math.max((v - look.lo) / span, 0), 1);
    return u * HEIGHT * look.exaggeration;
  }

  show(look: SurfaceLook): void {
    const { nx, ny, x, y } = look.grid;
    const n = nx * ny;
    const key = `${nx}|${ny}|${x.min}|${x.max}|${y.min}|${y.max}`;
    const { wx, wz } = this.worldXZ(look.grid);
    if (key !== this.gridKey) this.allocate(look, wx, wz);

    const pos = this.geometry.getAttribute('position') as THREE.BufferAttribute;
    const col = this.geometry.getAttribute('color') as THREE.BufferAttribute;
    const p = pos.array as Float32Array;
    const c = col.array as Float32Array;
    const cspan = look.colorHi - look.colorLo || 1;
    const lin = look.cmap.linear;
    let mask = '';
    let holes = 0;
    for (let k = 0; k < n; k++) {
      const v = look.heights[k]!;
      if (Number.isFinite(v)) p[k * 3 + 1] = this.heightOf(look, v);
      else {
        p[k * 3 + 1] = 0;
        holes++;
      }
      const cv = look.colors[k]!;
      if (Number.isFinite(cv) && Number.isFinite(v)) {
        const q = lutIndex((cv - look.colorLo) / cspan) * 3;
        c[k * 3] = lin[q]!;
        c[k * 3 + 1] = lin[q + 1]!;
        c[k * 3 + 2] = lin[q + 2]!;
      } else {
        c[k * 3] = c[k * 3 + 1] = c[k * 3 + 2] = 0.03;
      }
    }
    if (holes) for (let k = 0; k < n; k++) mask += Number.isFinite(look.heights[k]!) ? '1' : '0';
    if (mask !== this.maskKey) this.buildIndex(look, mask);
    pos.needsUpdate = true;
    col.needsUpdate = true;
    this.geometry.computeVertexNormals();
    this.geometry.computeBoundingSphere();

    // contour lines lifted onto the surface
    const levels = contourLevels(look.lo, look.cap, look.contours);
    const segs: number[] = [];
    const gxw = (j: number) => wx(x.min + (nx > 1 ? (j / (nx - 1)) * (x.max - x.min) : 0));
    const gzw = (i: number) => wz(y.min + (ny > 1 ? (i / (ny - 1)) * (y.max - y.min) : 0));
    for (const lv of levels) {
      const h = this.heightOf(look, lv) + 0.004;
      const s = contourSegments(look.heights, nx, ny, lv);
      for (let q = 0; q < s.length; q += 4) segs.push(gxw(s[q]!), h, gzw(s[q + 1]!), gxw(s[q + 2]!), h, gzw(s[q + 3]!));
    }
    writeSegments(this.lines, segs);
    // the same contours projected onto the floor
    for (let q = 1; q < segs.length; q += 3) segs[q] = FLOOR + 0.001;
    writeSegments(this.floorLines, segs);

    this.showPath(look, wx, wz);
    this.axesInput = look.titles
      ? {
          x: look.grid.x,
          y: look.grid.y,
          wx,
          wz,
          floor: FLOOR,
          height: (u) => this.heightOf(look, u),
          lo: look.lo,
          cap: look.cap,
          log: look.scale?.log ?? false,
          shift: look.scale?.shift ?? 0,
          titles: look.titles,
        }
      : null;
  }

  private allocate(look: SurfaceLook, wx: (x: number) => number, wz: (y: number) => number): void {
    const { nx, ny, x, y } = look.grid;
    const n = nx * ny;
    const pos = new Float32Array(n * 3);
    const floor = new Float32Array(n * 3);
    for (let i = 0; i < ny; i++) {
      const yv = ny > 1 ? y.min + (i / (ny - 1)) * (y.max - y.min) : y.min;
      for (let j = 0; j < nx; j++) {
        const xv = nx > 1 ? x.min + (j / (nx - 1)) * (x.max - x.min) : x.min;
        const k = (i * nx + j) * 3;
        pos[k] = floor[k] = wx(xv);
        pos[k + 2] = floor[k + 2] = wz(yv);
        floor[k + 1] = FLOOR;
      }
    }
    const position = new THREE.BufferAttribute(pos, 3);
    position.setUsage(THREE.DynamicDrawUsage);
    const color = new THREE.BufferAttribute(new Float32Array(n * 3), 3);
    color.setUsage(THREE.DynamicDrawUsage);
    this.geometry.dispose();
    this.geometry = new THREE.BufferGeometry();
    this.geometry.setAttribute('position', position);
    this.geometry.setAttribute('color', color);
    this.mesh.geometry = this.geometry;
    this.backMesh.geometry = this.geometry;
    this.floorGeometry.dispose();
    this.floorGeometry = new THREE.BufferGeometry();
    this.floorGeometry.setAttribute('position', new THREE.BufferAttribute(floor, 3));
    this.floorGeometry.setAttribute('color', color); // shared: the floor is the surface's shadow map
    this.floor.geometry = this.floorGeometry;

    // outline of the floor
    const x0 = wx(x.min),
      x1 = wx(x.max),
      z0 = wz(y.min),
      z1 = wz(y.max);
    const f = FLOOR;
    const fr = [x0, f, z0, x1, f, z0, x1, f, z0, x1, f, z1, x1, f, z1, x0, f, z1, x0, f, z1, x0, f, z0];
    this.frame.geometry.dispose();
    this.frame.geometry = new THREE.BufferGeometry();
    this.frame.geometry.setAttribute('position', new THREE.BufferAttribute(new Float32Array(fr), 3));
    this.gridKey = `${nx}|${ny}|${x.min}|${x.max}|${y.min}|${y.max}`;
    this.maskKey = '-';
    this.pathKey = '';
  }

  /** Two triangles per cell, skipping cells with unfinished (NaN) corners. */
  private buildIndex(look: SurfaceLook, mask: string): void {
    const { nx, ny } = look.grid;
    const ok = (k: number) => !mask || mask[k] === '1';
    const idx: number[] = [];
    for (let i = 0; i < ny - 1; i++) {
      for (let j = 0; j < nx - 1; j++) {
        const a = i * nx + j;
        const b = a + 1;
        const c = a + nx + 1;
        const d = a + nx;
        if (!(ok(a) && ok(b) && ok(c) && ok(d))) continue;
        idx.push(a, b, c, a, c, d);
      }
    }
    const attr = nx * ny > 65535 ? new THREE.Uint32BufferAttribute(idx, 1) : new THREE.Uint16BufferAttribute(idx, 1);
    this.geometry.setIndex(attr);
    this.floorGeometry.setIndex(attr);
    this.maskKey = mask;
  }

  private showPath(look: SurfaceLook, wx: (x: number) => number, wz: (y: number) => number): void {
    const path = look.path;
    const heightAt = (px: number, py: number) => {
      const v = bilinear(look.grid, look.heights, px, py);
      return (Number.isFinite(v) ? this.heightOf(look, v) : 0) + 0.012;
    };
    if (!path || path.length < 2) {
      this.pathGroup.clear();
      this.pathKey = '';
    } else {
      const key = `${look.lo}|${look.cap}|${look.exaggeration}|${path.length}|${this.gridKey}`;
      if (key !== this.pathKey) {
        for (const o of this.pathGroup.children) (o as THREE.Mesh).geometry.dispose();
        this.pathGroup.clear();
        const pts: THREE.Vector3[] = [];
        for (let k = 0; k < path.length - 1; k++) {
          const [ax, ay] = path[k]!;
          const [bx, by] = path[k + 1]!;
          for (let q = 0; q < 10; q++) {
            const f = q / 10;
            const px = ax + (bx - ax) * f;
            const py = ay + (by - ay) * f;
            pts.push(new THREE.Vector3(wx(px), heightAt(px, py), wz(py)));
          }
        }
        const [lx, ly] = path[path.length - 1]!;
        pts.push(new THREE.Vector3(wx(lx), heightAt(lx, ly), wz(ly)));
        const curve = new THREE.CatmullRomCurve3(pts, false, 'centripetal');
        const tube = new THREE.Mesh(
          new THREE.TubeGeometry(curve, Math.min(pts.length * 2, 800), 0.0085, 6, false),
          new THREE.MeshStandardMaterial({ color: 0xffffff, emissive: 0x5f6f8f, roughness: 0.35 }),
        );
        this.pathGroup.add(tube);
        const dotGeo = new THREE.SphereGeometry(0.016, 12, 8);
        const dotMat = new THREE.MeshStandardMaterial({ color: 0xf5f7ff, roughness: 0.4 });
        for (const [px, py] of path) {
          const m = new THREE.Mesh(dotGeo, dotMat);
          m.position.set(wx(px), heightAt(px, py), wz(py));
          this.pathGroup.add(m);
        }
        this.pathKey = key;
      }
    }
    if (look.marker) {
      const [mx, my] = look.marker;
      this.markerMesh.position.set(wx(mx), heightAt(mx, my) + 0.01, wz(my));
      this.markerMesh.visible = true;
    } else this.markerMesh.visible = false;
  }
}

/** Write line segments into a LineSegments' growable position buffer. */
function writeSegments(lines: THREE.LineSegments, segs: number[]): void {
  const g = lines.geometry;
  let a = g.getAttribute('position') as THREE.BufferAttribute | undefined;
  if (!a || a.array.length < segs.length) {
    a = new THREE.BufferAttribute(new Float32Array(Math.max(segs.length * 2, 600)), 3);
    a.setUsage(THREE.DynamicDrawUsage);
    g.setAttribute('position', a);
  }
  (a.array as Float32Array).set(segs);
  a.needsUpdate = true;
  g.setDrawRange(0, segs.length / 3);
  g.computeBoundingSphere();
}

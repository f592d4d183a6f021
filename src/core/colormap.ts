/**
 * The colormaps of every picture losscape makes (viewer, videos, snapshots, figures, glTF and
 * PLY exports): matplotlib's perceptual maps as 11 sRGB stops each (at 0, 0.1, …, 1; two for
 * gray), linearly interpolated, and coolwarm (5 stops) for signed differences.
 */
const STOPS = {
  viridis: ['440154', '482475', '414487', '355f8d', '2a788e', '21918c', '22a884', '44bf70', '7ad151', 'bddf26', 'fde725'],
  magma: ['000004', '140e36', '3b0f70', '641a80', '8c2981', 'b73779', 'de4968', 'f7705c', 'fe9f6d', 'fecf92', 'fcfdbf'],
  inferno: ['000004', '160b39', '420a68', '6a176e', '932667', 'bc3754', 'dd513a', 'f37819', 'fca50a', 'f6d746', 'fcffa4'],
  plasma: ['0d0887', '41049d', '6a00a8', '8f0da4', 'b12a90', 'cc4778', 'e16462', 'f2844b', 'fca636', 'fcce25', 'f0f921'],
  cividis: ['00224e', '123570', '3b496c', '575d6d', '707173', '8a8678', 'a59c74', 'c3b369', 'e1cc55', 'fee838', 'ffea46'],
  gray: ['111111', 'ffffff'],
  coolwarm: ['3b4cc0', '8db0fe', 'dddddd', 'f49a7b', 'b40426'],
} as const;

export type ColormapName = keyof typeof STOPS;
export const COLORMAP_NAMES = Object.keys(STOPS) as ColormapName[];

const RGB_STOPS = Object.fromEntries(
  Object.entries(STOPS).map(([name, hex]) => [name, hex.map((h) => [0, 2, 4].map((o) => Number.parseInt(h.slice(o, o + 2), 16)))]),
) as Record<ColormapName, number[][]>;

/** The colour (sRGB, 0..255, unrounded) at t ∈ [0, 1] (clamped; NaN → 0). */
function interpolate(name: ColormapName, t: number): [number, number, number] {
  const stops = RGB_STOPS[name] ?? RGB_STOPS.viridis;
  const u = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (stops.length - 1);
  const k = Math.min(stops.length - 2, Math.floor(u));
  const f = u - k;
  const a = stops[k]!;
  const b = stops[k + 1]!;
  return [0, 1, 2].map((c) => a[c]! * (1 - f) + b[c]! * f) as [number, number, number];
}

/** sRGB colour (integers 0..255) of t ∈ [0, 1]. */
export function colorAt(name: ColormapName, t: number): [number, number, number] {
  return interpolate(name, t).map(Math.round) as [number, number, number];
}

/** sRGB (0..255) → linear [0, 1] (glTF and WebGL vertex colours are linear). */
export function srgbToLinear(c: number): number {
  const s = c / 255;
  return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
}

/** Entries of a lookup table. */
export const LUT_SIZE = 256;

/** A colormap as a 256-entry lookup table, for drawing many values fast. */
export interface Colormap {
  /** The name asked for (an unknown one is drawn as viridis). */
  name: string;
  /** 256 × RGB, sRGB in 0..255. */
  srgb: Uint8Array;
  /** 256 × RGB, linear light in 0..1. */
  linear: Float32Array;
}

const tables = new Map<string, Colormap>();

/** The lookup table of a colormap (unknown names: viridis). */
export function colormap(name: string): Colormap {
  const key = (name in STOPS ? name : 'viridis') as ColormapName;
  let cm = tables.get(name);
  if (!cm) {
    const srgb = new Uint8Array(LUT_SIZE * 3);
    const linear = new Float32Array(LUT_SIZE * 3);
    for (let i = 0; i < LUT_SIZE; i++) {
      const rgb = interpolate(key, i / (LUT_SIZE - 1));
      for (let c = 0; c < 3; c++) {
        srgb[i * 3 + c] = Math.round(rgb[c]!);
        linear[i * 3 + c] = srgbToLinear(rgb[c]!);
      }
    }
    cm = { name, srgb, linear };
    tables.set(name, cm);
  }
  return cm;
}

/** Index into a lookup table for u in [0, 1] (clamped; NaN → 0). */
export function lutIndex(u: number): number {
  if (!(u > 0)) return 0;
  if (u >= 1) return LUT_SIZE - 1;
  return Math.round(u * (LUT_SIZE - 1));
}

/** CSS colour of u in [0, 1] from a lookup table. */
export function cssColor(cm: Colormap, u: number): string {
  const i = lutIndex(u) * 3;
  return `rgb(${cm.srgb[i]},${cm.srgb[i + 1]},${cm.srgb[i + 2]})`;
}

/** The maps for values on one scale (every map but the diverging coolwarm). */
export const SEQUENTIAL_COLORMAPS = COLORMAP_NAMES.filter((n) => n !== 'coolwarm');

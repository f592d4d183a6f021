/**
 * Perceptual colormaps as small lookup tables: 11 sRGB stops each (at 0, 0.1,
 * …, 1), expanded once into 256-entry tables by linear interpolation.
 */

const STOPS: Record<string, string[]> = {
  viridis: ['440154', '482475', '414487', '355f8d', '2a788e', '21918c', '22a884', '44bf70', '7ad151', 'bddf26', 'fde725'],
  magma: ['000004', '140e36', '3b0f70', '641a80', '8c2981', 'b73779', 'de4968', 'f7705c', 'fe9f6d', 'fecf92', 'fcfdbf'],
  inferno: ['000004', '160b39', '420a68', '6a176e', '932667', 'bc3754', 'dd513a', 'f37819', 'fca50a', 'f6d746', 'fcffa4'],
  plasma: ['0d0887', '41049d', '6a00a8', '8f0da4', 'b12a90', 'cc4778', 'e16462', 'f2844b', 'fca636', 'fcce25', 'f0f921'],
  cividis: ['00224e', '123570', '3b496c', '575d6d', '707173', '8a8678', 'a59c74', 'c3b369', 'e1cc55', 'fee838', 'ffea46'],
  gray: ['111111', 'ffffff'],
};

export const COLORMAPS = Object.keys(STOPS);
export type ColormapName = keyof typeof STOPS;

const SIZE = 256;

export interface Colormap {
  name: string;
  /** 256 × RGB, sRGB in 0..255. */
  srgb: Uint8Array;
  /** 256 × RGB, linear light in 0..1 (for WebGL vertex colours). */
  linear: Float32Array;
}

const cache = new Map<string, Colormap>();

export function colormap(name: string): Colormap {
  const hit = cache.get(name);
  if (hit) return hit;
  const stops = (STOPS[name] ?? STOPS.viridis!).map((h) => [0, 2, 4].map((o) => parseInt(h.slice(o, o + 2), 16)));
  const srgb = new Uint8Array(SIZE * 3);
  const linear = new Float32Array(SIZE * 3);
  for (let i = 0; i < SIZE; i++) {
    const u = (i / (SIZE - 1)) * (stops.length - 1);
    const k = Math.min(Math.floor(u), stops.length - 2);
    const f = u - k;
    for (let c = 0; c < 3; c++) {
      const v = stops[k]![c]! * (1 - f) + stops[k + 1]![c]! * f;
      srgb[i * 3 + c] = Math.round(v);
      linear[i * 3 + c] = toLinear(v / 255);
    }
  }
  const cm = { name, srgb, linear };
  cache.set(name, cm);
  return cm;
}

function toLinear(c: number): number {
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

/** Index into a table for u in [0, 1] (clamped; NaN → 0). */
export function lutIndex(u: number): number {
  if (!(u > 0)) return 0;
  if (u >= 1) return SIZE - 1;
  return Math.round(u * (SIZE - 1));
}

export function cssColor(cm: Colormap, u: number): string {
  const i = lutIndex(u) * 3;
  return `rgb(${cm.srgb[i]},${cm.srgb[i + 1]},${cm.srgb[i + 2]})`;
}

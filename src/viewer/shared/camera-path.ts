/**
 * Camera paths as keyframes: at timeline position t (in checkpoints: 0 = the first frame, 1 the
 * second, …) the camera sits at azimuth / elevation (degrees) and distance from the target,
 * linearly interpolated between keyframes and held before the first and after the last. No
 * imports and no Node APIs (the browser bundle may use it).
 */

export interface CameraKey {
  t: number;
  /** Degrees about the vertical axis (0: looking along −Z, the default view's side). */
  azimuth: number;
  /** Degrees above the horizontal plane. */
  elevation: number;
  /** Distance from the target. */
  distance: number;
  /** The point looked at (default [0, 0.1, 0], the default view's). */
  target?: [number, number, number];
}

export interface CameraPose {
  position: [number, number, number];
  target: [number, number, number];
}

export const DEFAULT_TARGET: [number, number, number] = [0, 0.1, 0];

/** The camera pose at t; keys sorted by t. */
export function cameraAt(keys: readonly CameraKey[], t: number): CameraPose {
  if (keys.length === 0) throw new Error('a camera path needs at least one keyframe');
  let k = 0;
  while (k + 1 < keys.length && keys[k + 1]!.t <= t) k++;
  const a = keys[k]!;
  const b = keys[Math.min(k + 1, keys.length - 1)]!;
  const w = b.t > a.t ? Math.min(Math.max((t - a.t) / (b.t - a.t), 0), 1) : 0;
  const mix = (x: number, y: number) => x + (y - x) * w;
  const ta = a.target ?? DEFAULT_TARGET;
  const tb = b.target ?? DEFAULT_TARGET;
  const target: [number, number, number] = [mix(ta[0], tb[0]), mix(ta[1], tb[1]), mix(ta[2], tb[2])];
  const az = (mix(a.azimuth, b.azimuth) * Math.PI) / 180;
  const el = (mix(a.elevation, b.elevation) * Math.PI) / 180;
  const d = mix(a.distance, b.distance);
  return {
    position: [target[0] + d * Math.cos(el) * Math.sin(az), target[1] + d * Math.sin(el), target[2] + d * Math.cos(el) * Math.cos(az)],
    target,
  };
}

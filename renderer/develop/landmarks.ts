// The head's 68 Multi-PIE landmarks in one rendered frame: projected with the frame's camera
// (the written K and extrinsics, after the crop) and tested against the depth pass, so a landmark
// behind the nose or the far cheek is marked hidden. Pure maths on a rendered sample.
import type { ResolvedCamera } from '../core/camera.js';

export const LANDMARK_CONVENTION = 'multi-pie-68';
/**
 * A landmark is visible when a pixel near it sees the surface no nearer than this (metres) in
 * front of it, plus 1.5x the depth step between neighbouring pixels there, capped at 5 mm (a
 * grazing surface spans millimetres of depth per pixel; a larger step is an occluding edge).
 */
export const LANDMARK_VISIBILITY_TOLERANCE_M = 0.003;

export interface LandmarksRecord {
  convention: typeof LANDMARK_CONVENTION;
  /**
   * Image positions in pixels: x right, y down, origin at the top-left corner of pixel (0, 0),
   * so pixel (i, j) spans [i, i + 1) x [j, j + 1) (its centre is at i + 0.5, j + 0.5).
   */
  points: [number, number][];
  /** Distance from the camera centre (metres), comparable with the depth pass. */
  distance: number[];
  /** In the frame and not hidden by the head (depth pass test, LANDMARK_VISIBILITY_TOLERANCE_M). */
  visible: boolean[];
  /** Canonical-frame positions (metres), as the head was drawn. */
  canonical: [number, number, number][];
  visibilityToleranceM: number;
  /** Whether the depth pass decided visibility (false: the sample rendered no depth; frame bounds only). */
  depthTested: boolean;
}

/** Projects canonical points with an OpenCV camera: pixel coordinates (corner origin) and the camera-space z. */
export function projectPoint(cam: ResolvedCamera, p: readonly number[]): { x: number; y: number; z: number; distance: number } {
  const E = cam.worldToCameraCV;
  const xc = E[0][0] * p[0] + E[0][1] * p[1] + E[0][2] * p[2] + E[0][3];
  const yc = E[1][0] * p[0] + E[1][1] * p[1] + E[1][2] * p[2] + E[1][3];
  const zc = E[2][0] * p[0] + E[2][1] * p[1] + E[2][2] * p[2] + E[2][3];
  const K = cam.K;
  return { x: (K[0][0] * xc) / zc + K[0][2], y: (K[1][1] * yc) / zc + K[1][2], z: zc, distance: Math.hypot(xc, yc, zc) };
}

/**
 * The landmarks record of a frame. `depth`: the depth pass (distance, 0 where the pixel centre
 * misses the head), row 0 = top; without it only the frame bounds decide visibility.
 */
export function landmarksRecord(canonical: readonly number[][], cam: ResolvedCamera, depth: Float32Array | null): LandmarksRecord {
  const W = cam.width;
  const H = cam.height;
  const points: [number, number][] = [];
  const distance: number[] = [];
  const visible: boolean[] = [];
  const round = (v: number) => Math.round(v * 1e4) / 1e4;
  for (const p of canonical) {
    const q = projectPoint(cam, p);
    points.push([round(q.x), round(q.y)]);
    distance.push(Math.round(q.distance * 1e6) / 1e6);
    let vis = q.z > 0 && q.x >= 0 && q.y >= 0 && q.x < W && q.y < H;
    if (vis && depth) {
      // Visible when a pixel of the 3x3 neighbourhood sees the surface at the landmark or behind
      // it (the landmark's own pixel centre may just miss a silhouette).
      const px = Math.floor(q.x);
      const py = Math.floor(q.y);
      vis = false;
      const at = (x: number, y: number) => (x >= 0 && y >= 0 && x < W && y < H ? depth[y * W + x] : 0);
      for (let dy = -1; dy <= 1 && !vis; dy++) {
        for (let dx = -1; dx <= 1 && !vis; dx++) {
          const x = px + dx;
          const y = py + dy;
          const d = at(x, y);
          if (d <= 0) continue;
          let slope = 0;
          for (const [ox, oy] of [[1, 0], [-1, 0], [0, 1], [0, -1]]) {
            const e = at(x + ox, y + oy);
            if (e > 0) slope = Math.max(slope, Math.abs(e - d));
          }
          // A step over 5 mm is an occluding edge, not a slope: capped so it cannot unhide.
          slope = Math.min(slope, 0.005);
          if (d >= q.distance - LANDMARK_VISIBILITY_TOLERANCE_M - 1.5 * slope) vis = true;
        }
      }
    }
    visible.push(vis);
  }
  return {
    convention: LANDMARK_CONVENTION,
    points,
    distance,
    visible,
    canonical: canonical.map((p) => [round6(p[0]), round6(p[1]), round6(p[2])]),
    visibilityToleranceM: LANDMARK_VISIBILITY_TOLERANCE_M,
    depthTested: depth !== null,
  };
}

function round6(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}

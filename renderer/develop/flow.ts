// Node-only. Exact optical flow between two rendered frames of a rigid scene, from the renderer's
// geometry (not estimated): each pixel of frame A with a surface (depth > 0) is back-projected
// through A's camera to its 3D point (the render frame, in which the head is static), projected with
// B's camera, and checked for visibility against B's rendered depth.
//
// Conventions:
//  - flow (u, v) in pixels, x right, y down: pixel (x, y) of A (centre at x + 0.5, y + 0.5) lands at
//    (x + 0.5 + u, y + 0.5 + v) in B's image. To warp B into A (backward warping), sample B
//    bilinearly at (x + u, y + v) in pixel-index coordinates (see warpBilinear).
//  - depth: Euclidean distance from the camera centre (metres), 0 where the pixel centre misses the
//    head (the renderer's depth pass).
//  - occlusion codes (one byte per pixel of A): OCC_VISIBLE 0 = the point is seen in B (flow valid);
//    OCC_OCCLUDED 255 = it projects into B's image but B sees another surface there or no surface
//    (hidden, or beyond B's silhouette); OCC_OUT_OF_FRAME 200 = it projects outside B's image (or
//    behind the camera); OCC_NO_SURFACE 100 = A's pixel centre misses the head (flow 0).
//  - visibility test: among the (up to 4) pixels of B around the projected position, one with a
//    surface whose depth differs from the point's distance to B's camera by at most
//    max(absolute, relative * distance) (defaults 2 mm, 1%).
//  - files: flow EXR with two float32 channels R = u, G = v; occlusion PNG, 8-bit grey, the codes.
//  - deforming heads (animated expressions): the point a pixel sees moves with its vertices, so
//    its position at B's time comes from the renderer (motion.exr: the per-vertex positions of the
//    neighbouring frames interpolated at each pixel) instead of from A's depth; the rest is the same.
import path from 'node:path';
import { encodeExrAsync, encodePng } from '../io/encoders.js';
import { writeFileAtomic } from '../io/fs-atomic.js';
import { readExr } from '../io/exr-read.js';
import { readPng } from '../io/image-io.js';

export const OCC_VISIBLE = 0;
export const OCC_NO_SURFACE = 100;
export const OCC_OUT_OF_FRAME = 200;
export const OCC_OCCLUDED = 255;

export const FLOW_DOC =
  'flow EXR: float32 channels R = u, G = v in pixels (x right, y down): pixel (x, y) of the source frame (centre x+0.5, y+0.5) moves to (x+0.5+u, y+0.5+v) in the other frame; 0 where the source pixel has no surface. ' +
  `occlusion PNG (8-bit): ${OCC_VISIBLE} = visible in the other frame (flow valid), ${OCC_OCCLUDED} = occluded there (another surface or none at that depth), ${OCC_OUT_OF_FRAME} = leaves the other frame, ${OCC_NO_SURFACE} = no surface at the source pixel. ` +
  'Exact: from the rendered depth (Euclidean distance) and both cameras (K, worldToCameraCV in the render frame, where the head is static).';

export interface FlowCamera {
  /** OpenCV intrinsics, pixels (pixel centres at +0.5). */
  K: number[][];
  /** 4x4 row-major world -> camera, OpenCV axes. */
  worldToCameraCV: number[][];
}

export interface FrameGeometry {
  width: number;
  height: number;
  camera: FlowCamera;
  /** Euclidean distance from the camera centre, one value per pixel, 0 off the surface. */
  depth: Float32Array;
}

export interface FlowOptions {
  /** Depth agreement for visibility, metres (default 0.002). */
  absoluteTolerance?: number;
  /** Depth agreement for visibility, fraction of the distance (default 0.01). */
  relativeTolerance?: number;
}

export interface FlowStats {
  surface: number;
  visible: number;
  occluded: number;
  outOfFrame: number;
}

export interface FlowField {
  width: number;
  height: number;
  /** Interleaved (u, v) per pixel. */
  flow: Float32Array;
  occlusion: Uint8Array;
  stats: FlowStats;
}

/** 3D point (world / render frame) seen at pixel centre (x, y) at Euclidean distance d. */
export function backProject(cam: FlowCamera, x: number, y: number, d: number): [number, number, number] {
  const K = cam.K;
  const M = cam.worldToCameraCV;
  const dx = (x + 0.5 - K[0][2] - (K[0][1] * (y + 0.5 - K[1][2])) / K[1][1]) / K[0][0];
  const dy = (y + 0.5 - K[1][2]) / K[1][1];
  const s = d / Math.hypot(dx, dy, 1);
  const c = [dx * s - M[0][3], dy * s - M[1][3], s - M[2][3]];
  // world = R^T (cam - t)
  return [M[0][0] * c[0] + M[1][0] * c[1] + M[2][0] * c[2], M[0][1] * c[0] + M[1][1] * c[1] + M[2][1] * c[2], M[0][2] * c[0] + M[1][2] * c[1] + M[2][2] * c[2]];
}

/** Projects a world point: image position (pixel units, centres at +0.5), camera z and distance. */
export function project(cam: FlowCamera, P: readonly number[]): { u: number; v: number; z: number; dist: number } {
  const M = cam.worldToCameraCV;
  const K = cam.K;
  const X = M[0][0] * P[0] + M[0][1] * P[1] + M[0][2] * P[2] + M[0][3];
  const Y = M[1][0] * P[0] + M[1][1] * P[1] + M[1][2] * P[2] + M[1][3];
  const Z = M[2][0] * P[0] + M[2][1] * P[1] + M[2][2] * P[2] + M[2][3];
  return { u: (K[0][0] * X + K[0][1] * Y) / Z + K[0][2], v: (K[1][1] * Y) / Z + K[1][2], z: Z, dist: Math.hypot(X, Y, Z) };
}

/**
 * Flow from frame `a` to frame `b` with occlusion codes (see the header). `pointsInB` (3 floats
 * per pixel of `a`, render frame of `b`): where each pixel's surface point is at b's time, for a
 * deforming head (the motion modes); without it the head is rigid and the point is a's
 * back-projected depth.
 */
export function computeFlow(a: FrameGeometry, b: FrameGeometry, opts: FlowOptions = {}, pointsInB: Float32Array | null = null): FlowField {
  const absTol = opts.absoluteTolerance ?? 0.002;
  const relTol = opts.relativeTolerance ?? 0.01;
  const { width: w, height: h } = a;
  if (a.depth.length !== w * h || b.depth.length !== b.width * b.height) throw new RangeError('computeFlow: depth size does not match the frame size');
  if (pointsInB && pointsInB.length !== w * h * 3) throw new RangeError('computeFlow: pointsInB must hold 3 floats per pixel of the source frame');
  const flow = new Float32Array(w * h * 2);
  const occlusion = new Uint8Array(w * h);
  const stats: FlowStats = { surface: 0, visible: 0, occluded: 0, outOfFrame: 0 };
  const bw = b.width;
  const bh = b.height;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = y * w + x;
      const d = a.depth[p];
      if (!(d > 0)) {
        occlusion[p] = OCC_NO_SURFACE;
        continue;
      }
      stats.surface++;
      const P = pointsInB ? [pointsInB[p * 3], pointsInB[p * 3 + 1], pointsInB[p * 3 + 2]] : backProject(a.camera, x, y, d);
      const q = project(b.camera, P);
      flow[p * 2] = q.u - (x + 0.5);
      flow[p * 2 + 1] = q.v - (y + 0.5);
      // pixel-index coordinates of the projected point in B
      const fx = q.u - 0.5;
      const fy = q.v - 0.5;
      if (!(q.z > 0) || fx < -0.5 || fy < -0.5 || fx > bw - 0.5 || fy > bh - 0.5) {
        occlusion[p] = OCC_OUT_OF_FRAME;
        stats.outOfFrame++;
        continue;
      }
      const tol = Math.max(absTol, relTol * q.dist);
      const x0 = Math.floor(fx);
      const y0 = Math.floor(fy);
      let seen = false;
      for (let j = 0; j < 2 && !seen; j++) {
        for (let i = 0; i < 2 && !seen; i++) {
          const xi = x0 + i;
          const yj = y0 + j;
          if (xi < 0 || yj < 0 || xi >= bw || yj >= bh) continue;
          const db = b.depth[yj * bw + xi];
          if (db > 0 && Math.abs(db - q.dist) <= tol) seen = true;
        }
      }
      if (seen) {
        occlusion[p] = OCC_VISIBLE;
        stats.visible++;
      } else {
        occlusion[p] = OCC_OCCLUDED;
        stats.occluded++;
      }
    }
  }
  return { width: w, height: h, flow, occlusion, stats };
}

/**
 * Backward warp: out(x, y) = src bilinearly sampled at (x + u, y + v) (pixel-index coordinates),
 * for interleaved `src` with `channels` values per pixel. `inside[p]` is 1 where all four taps lie
 * in the image (out is 0 elsewhere).
 */
export function warpBilinear(src: Float32Array, channels: number, width: number, height: number, flow: Float32Array): { image: Float32Array; inside: Uint8Array } {
  const n = width * height;
  const image = new Float32Array(n * channels);
  const inside = new Uint8Array(n);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      const t = bilinearTaps(x + flow[p * 2], y + flow[p * 2 + 1], width, height);
      if (!t) continue;
      for (let c = 0; c < channels; c++) {
        image[p * channels + c] = t.w00 * src[t.i00 * channels + c] + t.w10 * src[t.i10 * channels + c] + t.w01 * src[t.i01 * channels + c] + t.w11 * src[t.i11 * channels + c];
      }
      inside[p] = 1;
    }
  }
  return { image, inside };
}

/** The four taps (pixel indices) and weights of a bilinear sample at (sx, sy), or null outside [0, w-1] x [0, h-1]. */
export function bilinearTaps(sx: number, sy: number, width: number, height: number): { i00: number; i10: number; i01: number; i11: number; w00: number; w10: number; w01: number; w11: number } | null {
  if (!(sx >= 0 && sy >= 0 && sx <= width - 1 && sy <= height - 1)) return null;
  const x0 = Math.min(Math.floor(sx), Math.max(0, width - 2));
  const y0 = Math.min(Math.floor(sy), Math.max(0, height - 2));
  const x1 = Math.min(x0 + 1, width - 1);
  const y1 = Math.min(y0 + 1, height - 1);
  const tx = sx - x0;
  const ty = sy - y0;
  return {
    i00: y0 * width + x0,
    i10: y0 * width + x1,
    i01: y1 * width + x0,
    i11: y1 * width + x1,
    w00: (1 - tx) * (1 - ty),
    w10: tx * (1 - ty),
    w01: (1 - tx) * ty,
    w11: tx * ty,
  };
}

/** `<name>.exr` (R = u, G = v, float32) and `occlusion_<name>.png`, encoded in memory (file name -> bytes). */
export async function encodeFlow(name: string, f: FlowField): Promise<{ flowFile: string; occlusionFile: string; files: Record<string, Buffer> }> {
  const n = f.width * f.height;
  const u = new Float32Array(n);
  const v = new Float32Array(n);
  for (let p = 0; p < n; p++) {
    u[p] = f.flow[p * 2];
    v[p] = f.flow[p * 2 + 1];
  }
  const flowFile = `${name}.exr`;
  const occlusionFile = `occlusion_${name}.png`;
  const flowBytes = await encodeExrAsync(
    { width: f.width, height: f.height, channels: [{ name: 'R', data: u }, { name: 'G', data: v }] },
    { pixelType: 'float', compression: 'zip', attributes: { 'vls:pass': 'flow', 'vls:flow': 'R = u (x right), G = v (y down), pixels' } },
  ).catch((err: Error) => {
    throw new Error(`${flowFile}: ${err.message}`, { cause: err });
  });
  const occlusionBytes = await encodePng(f.occlusion, { width: f.width, height: f.height, channels: 1, bitDepth: 8 }).catch((err: Error) => {
    throw new Error(`${occlusionFile}: cannot encode PNG: ${err.message}`, { cause: err });
  });
  return { flowFile, occlusionFile, files: { [flowFile]: flowBytes, [occlusionFile]: occlusionBytes } };
}

/**
 * Writes encodeFlow's two files into `dir` (atomically each). The one writer left in develop:
 * renderer/pipelines/sequence.ts calls it; it moves to renderer/dataset with the sequence writer
 * (.dependency-cruiser.cjs "develop-no-writers" names this file as the exception).
 */
export async function writeFlow(dir: string, name: string, f: FlowField): Promise<{ flowFile: string; occlusionFile: string }> {
  const { flowFile, occlusionFile, files } = await encodeFlow(name, f);
  for (const [file, bytes] of Object.entries(files)) await writeFileAtomic(path.join(dir, file), bytes);
  return { flowFile, occlusionFile };
}

/** Reads a flow EXR (+ its occlusion PNG when `occlusionFile` is given). */
export async function readFlow(flowFile: string, occlusionFile?: string): Promise<{ width: number; height: number; flow: Float32Array; occlusion: Uint8Array | null }> {
  const exr = await readExr(flowFile);
  const u = exr.channels.find((c) => c.name === 'R');
  const v = exr.channels.find((c) => c.name === 'G');
  if (!u || !v) throw new Error(`${flowFile}: not a flow EXR (needs channels R = u and G = v)`);
  const n = exr.width * exr.height;
  const flow = new Float32Array(n * 2);
  for (let p = 0; p < n; p++) {
    flow[p * 2] = u.data[p];
    flow[p * 2 + 1] = v.data[p];
  }
  let occlusion: Uint8Array | null = null;
  if (occlusionFile) {
    const png = await readPng(occlusionFile);
    if (png.width !== exr.width || png.height !== exr.height || png.channels !== 1 || png.bitDepth !== 8) throw new Error(`${occlusionFile}: expected an 8-bit grey ${exr.width}x${exr.height} PNG`);
    occlusion = png.data as Uint8Array;
  }
  return { width: exr.width, height: exr.height, flow, occlusion };
}

/** A frame's geometry from a rendered sample folder (depth.exr + meta.json camera). */
export async function readFrameGeometry(sampleDir: string): Promise<FrameGeometry> {
  const { readFile } = await import('node:fs/promises');
  const meta = JSON.parse(await readFile(path.join(sampleDir, 'meta.json'), 'utf8')) as { camera: FlowCamera & { width: number; height: number } };
  const exr = await readExr(path.join(sampleDir, 'depth.exr'));
  const z = exr.channels.find((c) => c.name === 'Z');
  if (!z) throw new Error(`${sampleDir}/depth.exr has no Z channel`);
  return { width: exr.width, height: exr.height, camera: { K: meta.camera.K, worldToCameraCV: meta.camera.worldToCameraCV }, depth: z.data };
}

/** Channels of a frame's motion.exr: where each pixel's surface point is in the previous and next frames (render frame, metres). */
export const MOTION_CHANNELS = ['prev.X', 'prev.Y', 'prev.Z', 'next.X', 'next.Y', 'next.Z'] as const;

/** motion.exr of a frame (float32), from the renderer's motionPrev / motionNext modes (3 floats per pixel each). */
export async function encodeMotion(width: number, height: number, prev: Float32Array, next: Float32Array, depth: Float32Array): Promise<Buffer> {
  const n = width * height;
  const planes = MOTION_CHANNELS.map(() => new Float32Array(n));
  for (let p = 0; p < n; p++) {
    if (!(depth[p] > 0)) continue; // no surface: 0, like the flow
    for (let c = 0; c < 3; c++) {
      planes[c][p] = prev[p * 3 + c];
      planes[3 + c][p] = next[p * 3 + c];
    }
  }
  return encodeExrAsync(
    { width, height, channels: MOTION_CHANNELS.map((name, i) => ({ name, data: planes[i] })) },
    { pixelType: 'float', compression: 'zip', attributes: { 'vls:pass': 'motion', 'vls:motion': 'where the surface point at each pixel is in the previous / next frame (render frame, metres); 0 off the head' } },
  );
}

/** A frame's motion.exr: the points at the previous and next frames' times (3 floats per pixel each). */
export async function readMotion(file: string): Promise<{ prev: Float32Array; next: Float32Array }> {
  const exr = await readExr(file);
  const n = exr.width * exr.height;
  const prev = new Float32Array(n * 3);
  const next = new Float32Array(n * 3);
  MOTION_CHANNELS.forEach((name, i) => {
    const ch = exr.channels.find((c) => c.name === name);
    if (!ch) throw new Error(`${file}: no ${name} channel (not a motion EXR)`);
    const dst = i < 3 ? prev : next;
    for (let p = 0; p < n; p++) dst[p * 3 + (i % 3)] = ch.data[p];
  });
  return { prev, next };
}

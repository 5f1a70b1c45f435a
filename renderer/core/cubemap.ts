/**
 * Cube maps made from lat-long maps on the CPU, as integrals of the map (not point samples), with
 * a GGX-prefiltered mip chain for split-sum specular. Isomorphic: no Node APIs, no DOM.
 *
 * Faces and texels follow OpenGL's cube-map convention in WORLD axes (latlong.ts frame): face
 * order +X, -X, +Y, -Y, +Z, -Z; texel (i, j) of an N x N face has s = (i+0.5)/N, t = (j+0.5)/N,
 * sc = 2s-1, tc = 2t-1 and looks along
 *   +X (1, -tc, -sc)   -X (-1, -tc, sc)   +Y (sc, 1, tc)   -Y (sc, -1, -tc)   +Z (sc, -tc, 1)   -Z (-sc, -tc, -1)
 * (unnormalised); row j = 0 is the first row in memory (OpenGL's t = 0). The page uploads the
 * faces as they are and makes Babylon look them up with world directions (invertZ in a
 * right-handed scene: no Z flip), so no convention is converted anywhere else.
 *
 * Mip level l of an N-face chain (N a power of two, L = log2 N levels after 0) holds the map
 * prefiltered with the GGX lobe of perceptual roughness r_l = l / L (alpha = r_l^2), in the
 * split-sum form of Karis 2013 with n = v = r:
 *   R_l(r) = ∫ L(w) D_alpha(n·h) max(0, r·w) dw / ∫ D_alpha(n·h) max(0, r·w) dw,  h = (r + w)/|r + w|
 * which is what Babylon's PBR shader reads with linearSpecularLOD (lod = L * roughness) and the
 * environment BRDF table. Level 0 is the area average of the map over each texel (a mirror).
 */

import { type EnvImage, pixelSolidAngle, reduceEnv } from './latlong.js';

export interface CubeMipChain {
  /** Face size of level 0 (a power of two). */
  size: number;
  /** levels[l][face]: RGBA float32, (size >> l)^2 texels, alpha 1. */
  levels: Float32Array[][];
  /** Perceptual roughness of each level (l / log2(size)). */
  roughness: number[];
}

/** Direction (unnormalised) of face f at face coordinates sc, tc in [-1, 1]. */
export function cubeDir(face: number, sc: number, tc: number): [number, number, number] {
  switch (face) {
    case 0: return [1, -tc, -sc];
    case 1: return [-1, -tc, sc];
    case 2: return [sc, 1, tc];
    case 3: return [sc, -1, -tc];
    case 4: return [sc, -tc, 1];
    default: return [-sc, -tc, -1];
  }
}

/** Face and texel of a direction on an N x N cube (inverse of cubeDir at texel centres). */
export function cubeTexel(x: number, y: number, z: number, n: number): { face: number; i: number; j: number } {
  const ax = Math.abs(x);
  const ay = Math.abs(y);
  const az = Math.abs(z);
  let face: number;
  let sc: number;
  let tc: number;
  if (ax >= ay && ax >= az) {
    face = x > 0 ? 0 : 1;
    sc = x > 0 ? -z / ax : z / ax;
    tc = -y / ax;
  } else if (ay >= az) {
    face = y > 0 ? 2 : 3;
    sc = x / ay;
    tc = y > 0 ? z / ay : -z / ay;
  } else {
    face = z > 0 ? 4 : 5;
    sc = z > 0 ? x / az : -x / az;
    tc = -y / az;
  }
  const i = Math.min(n - 1, Math.max(0, Math.floor(((sc + 1) / 2) * n)));
  const j = Math.min(n - 1, Math.max(0, Math.floor(((tc + 1) / 2) * n)));
  return { face, i, j };
}

/** Exact solid angle of texel (i, j) of an N x N face. */
export function cubeTexelSolidAngle(i: number, j: number, n: number): number {
  const a = (x: number, y: number) => Math.atan2(x * y, Math.sqrt(x * x + y * y + 1));
  const x0 = (2 * i) / n - 1;
  const x1 = (2 * (i + 1)) / n - 1;
  const y0 = (2 * j) / n - 1;
  const y1 = (2 * (j + 1)) / n - 1;
  return a(x0, y0) - a(x0, y1) - a(x1, y0) + a(x1, y1);
}

/**
 * Level 0: each texel is the solid-angle-weighted mean of the map over the texel. Every map
 * pixel is split into k x k parts (k chosen so that a part is under half a texel wide) and each
 * part is added, with its exact solid angle, to the texel holding its centre, so a source a few
 * pixels wide is never missed (a point-sampled cube hits or misses it by luck); the cube's power
 * equals the map's up to the texel's part-count quantisation (a few % for one bright texel, 0
 * for smooth maps; the brightest sources are lights by then: env-lights.ts). Texels that no part
 * reached (maps coarser than the cube) take the nearest pixel at their centre.
 */
export function latlongToCube(env: EnvImage, n: number): Float32Array[] {
  const W = env.width;
  const H = env.height;
  // Texel angle at a face centre is ~2/n rad; the map pixel is 2pi/W wide at the equator.
  const k = Math.max(1, Math.ceil((2 * Math.PI) / W / (2 / n) * 2));
  const acc = Array.from({ length: 6 }, () => new Float64Array(n * n * 4));
  const d = env.data;
  for (let y = 0; y < H; y++) {
    for (let sy = 0; sy < k; sy++) {
      const t0 = (Math.PI * (y + sy / k)) / H;
      const t1 = (Math.PI * (y + (sy + 1) / k)) / H;
      const th = 0.5 * (t0 + t1);
      const st = Math.sin(th);
      const ct = Math.cos(th);
      const om = ((2 * Math.PI) / (W * k)) * (Math.cos(t0) - Math.cos(t1));
      for (let x = 0; x < W; x++) {
        const src = (y * W + x) * 3;
        const r = d[src];
        const g = d[src + 1];
        const b = d[src + 2];
        for (let sx = 0; sx < k; sx++) {
          const phi = 2 * Math.PI * ((x + (sx + 0.5) / k) / W - 0.5);
          const { face, i, j } = cubeTexel(st * Math.cos(phi), ct, st * Math.sin(phi), n);
          const a = acc[face];
          const o = (j * n + i) * 4;
          a[o] += r * om;
          a[o + 1] += g * om;
          a[o + 2] += b * om;
          a[o + 3] += om;
        }
      }
    }
  }
  const faces: Float32Array[] = [];
  for (let f = 0; f < 6; f++) {
    const a = acc[f];
    const out = new Float32Array(n * n * 4);
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < n; i++) {
        const o = (j * n + i) * 4;
        if (a[o + 3] > 0) {
          const w = 1 / a[o + 3];
          out[o] = a[o] * w;
          out[o + 1] = a[o + 1] * w;
          out[o + 2] = a[o + 2] * w;
        } else {
          const [dx, dy, dz] = cubeDir(f, (2 * (i + 0.5)) / n - 1, (2 * (j + 0.5)) / n - 1);
          const v = sampleDir(env, dx, dy, dz);
          out[o] = v[0];
          out[o + 1] = v[1];
          out[o + 2] = v[2];
        }
        out[o + 3] = 1;
      }
    }
    faces.push(out);
  }
  return faces;
}

function sampleDir(env: EnvImage, x: number, y: number, z: number): [number, number, number] {
  const len = Math.hypot(x, y, z);
  const u = Math.atan2(z, x) / (2 * Math.PI) + 0.5;
  const v = Math.acos(Math.max(-1, Math.min(1, y / len))) / Math.PI;
  const W = env.width;
  const H = env.height;
  const px = Math.min(W - 1, Math.max(0, Math.floor(u * W)));
  const py = Math.min(H - 1, Math.max(0, Math.floor(v * H)));
  const o = (py * W + px) * 3;
  return [env.data[o], env.data[o + 1], env.data[o + 2]];
}

/** Smallest lat-long width (power of two, >= 32) whose pixels are under about half the lobe width. */
function sourceWidth(alpha: number, maxWidth: number): number {
  const want = (1.5 * Math.PI) / Math.max(alpha, 1e-3);
  let w = 32;
  while (w < want && w < maxWidth) w *= 2;
  return Math.min(w, maxWidth);
}

/**
 * GGX-prefiltered radiance (see the file comment) on an m x m cube, from `env`. The sum runs over
 * the pixels of a reduced copy of the map (energy-conserving reduceEnv, pixels about half the
 * lobe wide) within the lobe's reach (D below 1% of its peak is dropped: ~1% of the lobe's weight).
 */
export function prefilterGGX(env: EnvImage, m: number, roughness: number): Float32Array[] {
  const alpha = Math.max(roughness * roughness, 1e-4);
  const a2 = alpha * alpha;
  const srcW = sourceWidth(alpha, env.width);
  const src = srcW < env.width ? reduceEnv(env, srcW, srcW / 2) : env;
  const W = src.width;
  const H = src.height;
  // Reach: tan(theta_h) = alpha * sqrt(1/sqrt(eps) - 1) with eps = 1e-2, reflected angle 2*theta_h.
  const reach = Math.min(Math.PI, 2 * Math.atan(alpha * 3) + (2 * Math.PI) / W);
  const cosReach = Math.cos(reach);
  // Per-pixel directions and solid angles.
  const dx = new Float64Array(W * H);
  const dy = new Float64Array(W * H);
  const dz = new Float64Array(W * H);
  const om = new Float64Array(H);
  for (let y = 0; y < H; y++) {
    const th = (Math.PI * (y + 0.5)) / H;
    om[y] = pixelSolidAngle(y, W, H);
    for (let x = 0; x < W; x++) {
      const phi = 2 * Math.PI * ((x + 0.5) / W - 0.5);
      const p = y * W + x;
      dx[p] = Math.sin(th) * Math.cos(phi);
      dy[p] = Math.cos(th);
      dz[p] = Math.sin(th) * Math.sin(phi);
    }
  }
  const sd = src.data;
  const faces: Float32Array[] = [];
  for (let f = 0; f < 6; f++) {
    const out = new Float32Array(m * m * 4);
    for (let j = 0; j < m; j++) {
      for (let i = 0; i < m; i++) {
        let [rx, ry, rz] = cubeDir(f, (2 * (i + 0.5)) / m - 1, (2 * (j + 0.5)) / m - 1);
        const len = Math.hypot(rx, ry, rz);
        rx /= len;
        ry /= len;
        rz /= len;
        const thR = Math.acos(Math.max(-1, Math.min(1, ry)));
        const phiR = Math.atan2(rz, rx);
        const y0 = Math.max(0, Math.floor(((thR - reach) / Math.PI) * H));
        const y1 = Math.min(H - 1, Math.floor(((thR + reach) / Math.PI) * H));
        let sr = 0;
        let sg = 0;
        let sb = 0;
        let sw = 0;
        for (let y = y0; y <= y1; y++) {
          const thRow = (Math.PI * (y + 0.5)) / H;
          const sRow = Math.sin(thRow);
          // Azimuth span of the cap at this row (whole row near a pole or for wide lobes).
          let half = Math.PI;
          const sinReach = Math.sin(reach);
          const sMin = Math.min(Math.sin(thR), sRow);
          if (reach < Math.PI / 2 && sinReach < sMin) half = Math.asin(sinReach / sMin) + (2 * Math.PI) / W;
          let xa: number;
          let xb: number;
          if (half >= Math.PI) {
            xa = 0;
            xb = W - 1;
          } else {
            const uc = phiR / (2 * Math.PI) + 0.5;
            xa = Math.floor((uc - half / (2 * Math.PI)) * W);
            xb = Math.floor((uc + half / (2 * Math.PI)) * W);
          }
          const omRow = om[y];
          for (let xx = xa; xx <= xb; xx++) {
            const x = ((xx % W) + W) % W;
            const p = y * W + x;
            const c = rx * dx[p] + ry * dy[p] + rz * dz[p];
            if (c <= 0 || c < cosReach) continue;
            const nh2 = 0.5 * (1 + c);
            const dd = nh2 * (a2 - 1) + 1;
            const w = ((a2 / (dd * dd)) * c) * omRow;
            const o = p * 3;
            sr += w * sd[o];
            sg += w * sd[o + 1];
            sb += w * sd[o + 2];
            sw += w;
          }
        }
        const o = (j * m + i) * 4;
        if (sw > 0) {
          out[o] = sr / sw;
          out[o + 1] = sg / sw;
          out[o + 2] = sb / sw;
        }
        out[o + 3] = 1;
      }
    }
    faces.push(out);
  }
  return faces;
}

/** 2x2 solid-angle-weighted average of an n x n level: the next level, n/2. */
export function downsampleCube(faces: Float32Array[], n: number): Float32Array[] {
  const m = n >> 1;
  return faces.map((f) => {
    const out = new Float32Array(m * m * 4);
    for (let j = 0; j < m; j++) {
      for (let i = 0; i < m; i++) {
        let w = 0;
        const acc = [0, 0, 0];
        for (const [di, dj] of [[0, 0], [1, 0], [0, 1], [1, 1]]) {
          const ii = 2 * i + di;
          const jj = 2 * j + dj;
          const om = cubeTexelSolidAngle(ii, jj, n);
          const o = (jj * n + ii) * 4;
          acc[0] += f[o] * om;
          acc[1] += f[o + 1] * om;
          acc[2] += f[o + 2] * om;
          w += om;
        }
        const o = (j * m + i) * 4;
        out[o] = acc[0] / w;
        out[o + 1] = acc[1] / w;
        out[o + 2] = acc[2] / w;
        out[o + 3] = 1;
      }
    }
    return out;
  });
}

/**
 * The whole chain: level 0 by latlongToCube, levels 2..log2(size) by prefilterGGX. Level 1
 * (roughness 1/log2 size, alpha ~0.02 at 128²: a lobe ~2.5 deg wide, one level-1 texel) is the
 * area average of level 0, which is that lobe to within a texel and costs ~1% of its GGX sum
 * (the GGX sum at that level was 60% of a chain's time). Skin (roughness >= 0.3) reads levels 2+.
 */
export function buildCubeMipChain(env: EnvImage, size: number): CubeMipChain {
  if (!(Number.isInteger(Math.log2(size)) && size >= 4)) throw new Error(`buildCubeMipChain: size ${size} is not a power of two >= 4`);
  const L = Math.log2(size);
  const levels: Float32Array[][] = [latlongToCube(env, size)];
  const roughness = [0];
  for (let l = 1; l <= L; l++) {
    const r = l / L;
    levels.push(l === 1 && L >= 5 ? downsampleCube(levels[0], size) : prefilterGGX(env, size >> l, r));
    roughness.push(r);
  }
  return { size, levels, roughness };
}

/** Power of a cube level (sum of RGB radiance x texel solid angle): the map's power for level 0. */
export function cubePower(faces: Float32Array[], n: number): [number, number, number] {
  const out: [number, number, number] = [0, 0, 0];
  for (const face of faces) {
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < n; i++) {
        const w = cubeTexelSolidAngle(i, j, n);
        const o = (j * n + i) * 4;
        out[0] += face[o] * w;
        out[1] += face[o + 1] * w;
        out[2] += face[o + 2] * w;
      }
    }
  }
  return out;
}

/**
 * Equirectangular (latitude-longitude) environment maps. Isomorphic: no Node
 * APIs, no DOM.
 *
 * CONVENTION (shared by every module of the light stage; Blender's and three.js's, format 2+):
 *   World frame is right-handed, +Y up, the head faces +Z, +X is the viewer's
 *   right when looking at the face from the front.
 *   Pixel centre (x+0.5, y+0.5): u = (x+0.5)/W, v = (y+0.5)/H;
 *   polar angle theta = pi*v measured from +Y (row 0 = zenith);
 *   azimuth phi = 2*pi*(u-0.5);
 *   direction = (sin(theta)*cos(phi), cos(theta), sin(theta)*sin(phi)),
 *   i.e. u = 0.5 + atan2(z, x)/2pi, v = acos(y)/pi.
 *   So the map centre (u=0.5, v=0.5) is +X, u=0.75 is +Z (in front of the face),
 *   u=0.25 is -Z (behind the head, what a frontal camera sees), u=0 (= u=1) is -X.
 *   This is what Blender shows for the same file in a default Environment Texture
 *   node with the head imported by its glTF importer (glTF +Y up -> Blender +Z up,
 *   glTF +Z -> Blender -Y), and what three.js shows for an equirect background.
 *   (Format version 1 datasets used u = 0.5 + atan2(x, z)/2pi: the mirror image.)
 *   Rotation by `deg` about +Y (right-handed: +Z moves toward +X for positive
 *   deg) turns the environment as a rigid body: L'(d) = L(R^-1 d), i.e. the
 *   image rolls toward SMALLER u by deg/360*W pixels. In Blender this is a
 *   Mapping node (Point) before the Environment Texture with Z rotation -deg.
 *
 * Pixel (x, y) covers theta in [pi*y/H, pi*(y+1)/H] and
 * phi in [2*pi*(x/W - 0.5), 2*pi*((x+1)/W - 0.5)]; its exact solid angle is
 * (2*pi/W)*(cos(theta0) - cos(theta1)). Radiance is taken as constant over a
 * pixel wherever exact integrals are needed (reduceEnv, totalPower).
 *
 * Data layout: `data` is RGB interleaved, 3 floats per pixel, row-major with
 * row 0 = top (zenith): index = (y*W + x)*3 + channel.
 */

export type Vec3 = [number, number, number];
export type RGB = [number, number, number];

export interface EnvImage {
  width: number;
  height: number;
  /** RGB interleaved, 3 floats per pixel, row 0 = top (zenith). */
  data: Float32Array;
}

const PI = Math.PI;
const TWO_PI = 2 * Math.PI;

export function createEnv(width: number, height: number, fill: RGB = [0, 0, 0]): EnvImage {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new Error(`createEnv: bad size ${width}x${height}`);
  }
  const data = new Float32Array(width * height * 3);
  if (fill[0] !== 0 || fill[1] !== 0 || fill[2] !== 0) {
    for (let i = 0; i < data.length; i += 3) {
      data[i] = fill[0];
      data[i + 1] = fill[1];
      data[i + 2] = fill[2];
    }
  }
  return { width, height, data };
}

export function cloneEnv(env: EnvImage): EnvImage {
  return { width: env.width, height: env.height, data: new Float32Array(env.data) };
}

/** Build a map by evaluating f at every pixel-centre direction (a number means grey). */
export function envFromFunction(
  width: number,
  height: number,
  f: (x: number, y: number, z: number) => RGB | number,
): EnvImage {
  const env = createEnv(width, height);
  const d = env.data;
  for (let y = 0; y < height; y++) {
    const theta = (PI * (y + 0.5)) / height;
    const st = Math.sin(theta);
    const ct = Math.cos(theta);
    for (let x = 0; x < width; x++) {
      const phi = TWO_PI * ((x + 0.5) / width - 0.5);
      const v = f(st * Math.cos(phi), ct, st * Math.sin(phi));
      const i = (y * width + x) * 3;
      if (typeof v === 'number') {
        d[i] = v;
        d[i + 1] = v;
        d[i + 2] = v;
      } else {
        d[i] = v[0];
        d[i + 1] = v[1];
        d[i + 2] = v[2];
      }
    }
  }
  return env;
}

/** Unit direction for texture coordinates (u, v) in [0,1]^2. */
export function dirFromUv(u: number, v: number): Vec3 {
  const theta = PI * v;
  const phi = TWO_PI * (u - 0.5);
  const st = Math.sin(theta);
  return [st * Math.cos(phi), Math.cos(theta), st * Math.sin(phi)];
}

/** Texture coordinates of a (not necessarily normalised) direction; u in [0,1), v in [0,1]. */
export function uvFromDir(x: number, y: number, z: number): [number, number] {
  const len = Math.hypot(x, y, z);
  if (!(len > 0)) throw new Error('uvFromDir: zero direction');
  const cy = Math.min(1, Math.max(-1, y / len));
  const theta = Math.acos(cy);
  const phi = Math.atan2(z, x); // (-pi, pi]
  let u = phi / TWO_PI + 0.5;
  if (u >= 1) u -= 1;
  if (u < 0) u += 1;
  return [u, theta / PI];
}

/** Exact solid angle of any pixel in row y: (2pi/W)*(cos(theta0) - cos(theta1)). */
export function pixelSolidAngle(y: number, width: number, height: number): number {
  const t0 = (PI * y) / height;
  const t1 = (PI * (y + 1)) / height;
  return (TWO_PI / width) * (Math.cos(t0) - Math.cos(t1));
}

/** Bilinear lookup between pixel centres; wraps in u, clamps in v. */
export function sampleBilinear(env: EnvImage, u: number, v: number): RGB {
  const out: RGB = [0, 0, 0];
  addBilinear(env, u, v, 1, out, 0);
  return out;
}

/**
 * The four pixels around (u, v) whose centres bilinear weights use (wraps in u, clamps in v),
 * written into out as [x0, x1, y0, y1, tx, ty]: weights (1-tx)(1-ty), tx(1-ty), (1-tx)ty, tx ty.
 * Shared by sampling (addBilinear) and splatting (lighting.ts projectPointLightsToEnv).
 */
export function bilinearTaps(W: number, H: number, u: number, v: number, out: { [i: number]: number }): void {
  const fx = u * W - 0.5;
  const fy = v * H - 0.5;
  const x0f = Math.floor(fx);
  const y0f = Math.floor(fy);
  const x0 = ((x0f % W) + W) % W;
  out[0] = x0;
  out[1] = (x0 + 1) % W;
  out[2] = Math.min(H - 1, Math.max(0, y0f));
  out[3] = Math.min(H - 1, Math.max(0, y0f + 1));
  out[4] = fx - x0f;
  out[5] = fy - y0f;
}

const taps = new Float64Array(6);

/** out[o..o+2] += k * sampleBilinear(env, u, v), without allocating (per-pixel loops). */
export function addBilinear(env: EnvImage, u: number, v: number, k: number, out: { [i: number]: number }, o: number): void {
  const W = env.width;
  bilinearTaps(W, env.height, u, v, taps);
  const x0 = taps[0];
  const x1 = taps[1];
  const y0 = taps[2];
  const y1 = taps[3];
  const tx = taps[4];
  const ty = taps[5];
  const d = env.data;
  const i00 = (y0 * W + x0) * 3;
  const i01 = (y0 * W + x1) * 3;
  const i10 = (y1 * W + x0) * 3;
  const i11 = (y1 * W + x1) * 3;
  const w00 = (1 - tx) * (1 - ty);
  const w01 = tx * (1 - ty);
  const w10 = (1 - tx) * ty;
  const w11 = tx * ty;
  out[o] += k * (w00 * d[i00] + w01 * d[i01] + w10 * d[i10] + w11 * d[i11]);
  out[o + 1] += k * (w00 * d[i00 + 1] + w01 * d[i01 + 1] + w10 * d[i10 + 1] + w11 * d[i11 + 1]);
  out[o + 2] += k * (w00 * d[i00 + 2] + w01 * d[i01 + 2] + w10 * d[i10 + 2] + w11 * d[i11 + 2]);
}

/**
 * Rotate about +Y by `deg` (right-handed, +Z toward +X): L'(d) = L(R^-1 d),
 * i.e. roll toward smaller u by deg/360*W pixels (toward larger u by s = -deg/360*W). Integer shifts are exact;
 * otherwise linear interpolation between the two neighbouring columns
 * (each row's sum, hence total power, is preserved exactly).
 */
export function rotateEnv(env: EnvImage, deg: number): EnvImage {
  const W = env.width;
  const H = env.height;
  let s = (-deg / 360) * W;
  s = ((s % W) + W) % W;
  const rs = Math.round(s);
  if (Math.abs(s - rs) < 1e-9) s = rs % W;
  const k = Math.floor(s);
  const f = s - k; // out[x] = f*in[x-k-1] + (1-f)*in[x-k]
  const src = env.data;
  const out = new Float32Array(src.length);
  for (let y = 0; y < H; y++) {
    const row = y * W;
    for (let x = 0; x < W; x++) {
      const xa = (((x - k) % W) + W) % W;
      const o = (row + x) * 3;
      const ia = (row + xa) * 3;
      if (f === 0) {
        out[o] = src[ia];
        out[o + 1] = src[ia + 1];
        out[o + 2] = src[ia + 2];
      } else {
        const xb = (xa - 1 + W) % W;
        const ib = (row + xb) * 3;
        out[o] = (1 - f) * src[ia] + f * src[ib];
        out[o + 1] = (1 - f) * src[ia + 1] + f * src[ib + 1];
        out[o + 2] = (1 - f) * src[ia + 2] + f * src[ib + 2];
      }
    }
  }
  return { width: W, height: H, data: out };
}

export function scaleEnv(env: EnvImage, k: number | RGB): EnvImage {
  const [kr, kg, kb] = typeof k === 'number' ? [k, k, k] : k;
  const src = env.data;
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i += 3) {
    out[i] = src[i] * kr;
    out[i + 1] = src[i + 1] * kg;
    out[i + 2] = src[i + 2] * kb;
  }
  return { width: env.width, height: env.height, data: out };
}

function matchSize(b: EnvImage, a: EnvImage): EnvImage {
  return b.width === a.width && b.height === a.height ? b : resizeEnv(b, a.width, a.height);
}

/** a + b (b is resampled to a's size with resizeEnv if the sizes differ). */
export function addEnv(a: EnvImage, b: EnvImage): EnvImage {
  const bb = matchSize(b, a);
  const out = new Float32Array(a.data.length);
  for (let i = 0; i < out.length; i++) out[i] = a.data[i] + bb.data[i];
  return { width: a.width, height: a.height, data: out };
}

/** t*a + (1-t)*b (b is resampled to a's size with resizeEnv if the sizes differ). */
export function mixEnv(a: EnvImage, b: EnvImage, t: number): EnvImage {
  const bb = matchSize(b, a);
  const out = new Float32Array(a.data.length);
  for (let i = 0; i < out.length; i++) out[i] = t * a.data[i] + (1 - t) * bb.data[i];
  return { width: a.width, height: a.height, data: out };
}

/**
 * Resize. Same size: copy. Shrinking by integer factors in both axes
 * (W % w == 0 && H % h == 0): energy-conserving area average over each block,
 * weighted by exact pixel solid angle (== reduceEnv). Otherwise: bilinear
 * sampling at the target pixel centres (not energy conserving; use reduceEnv
 * for energy-conserving shrinking by arbitrary ratios).
 */
export function resizeEnv(env: EnvImage, w: number, h: number): EnvImage {
  if (w === env.width && h === env.height) return cloneEnv(env);
  if (w <= env.width && h <= env.height && env.width % w === 0 && env.height % h === 0) {
    return reduceEnv(env, w, h);
  }
  const out = createEnv(w, h);
  for (let y = 0; y < h; y++) {
    const v = (y + 0.5) / h;
    for (let x = 0; x < w; x++) {
      const c = sampleBilinear(env, (x + 0.5) / w, v);
      const o = (y * w + x) * 3;
      out.data[o] = c[0];
      out.data[o + 1] = c[1];
      out.data[o + 2] = c[2];
    }
  }
  return out;
}

interface Overlaps {
  /** for target cell c: entries start[c] .. start[c+1]-1 */
  start: Int32Array;
  src: Int32Array;
  w: Float64Array;
}

/** Overlap of target cells [c*N/n, (c+1)*N/n) with source pixels [s, s+1), in source units. */
function overlaps(N: number, n: number, weight: (a: number, b: number) => number): Overlaps {
  const start = new Int32Array(n + 1);
  const src: number[] = [];
  const w: number[] = [];
  for (let c = 0; c < n; c++) {
    start[c] = src.length;
    const a = (c * N) / n;
    const b = ((c + 1) * N) / n;
    const s0 = Math.max(0, Math.floor(a));
    const s1 = Math.min(N - 1, Math.ceil(b) - 1);
    for (let s = s0; s <= s1; s++) {
      const lo = Math.max(a, s);
      const hi = Math.min(b, s + 1);
      if (hi > lo) {
        src.push(s);
        w.push(weight(lo, hi));
      }
    }
  }
  start[n] = src.length;
  return { start, src: Int32Array.from(src), w: Float64Array.from(w) };
}

/**
 * The papers' low-resolution lighting encoding (e.g. 16x16, or 32x16):
 * solid-angle-weighted average over each target cell,
 *   L_cell = sum_p L_p * dOmega(p ∩ cell) / sum_p dOmega(p ∩ cell),
 * where dOmega(p ∩ cell) is the exact solid angle of the (phi, theta)
 * rectangle shared by source pixel p and the target cell (so non-integer size
 * ratios are handled by fractional overlap in both axes). Since these overlap
 * solid angles partition both the pixels and the cells,
 *   sum_cells L_cell * Omega_cell == sum_pixels L_p * Omega_p   (energy conserved).
 */
export function reduceEnv(env: EnvImage, w: number, h: number): EnvImage {
  const W = env.width;
  const H = env.height;
  const ox = overlaps(W, w, (lo, hi) => ((hi - lo) * TWO_PI) / W);
  const oy = overlaps(H, h, (lo, hi) => Math.cos((PI * lo) / H) - Math.cos((PI * hi) / H));
  const src = env.data;
  // Horizontal pass: tmp[sy][cx] = phi-weighted average of the row over cell cx.
  const tmp = new Float64Array(H * w * 3);
  for (let cx = 0; cx < w; cx++) {
    let wsum = 0;
    for (let e = ox.start[cx]; e < ox.start[cx + 1]; e++) wsum += ox.w[e];
    for (let sy = 0; sy < H; sy++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let e = ox.start[cx]; e < ox.start[cx + 1]; e++) {
        const i = (sy * W + ox.src[e]) * 3;
        const wt = ox.w[e];
        r += src[i] * wt;
        g += src[i + 1] * wt;
        b += src[i + 2] * wt;
      }
      const t = (sy * w + cx) * 3;
      tmp[t] = r / wsum;
      tmp[t + 1] = g / wsum;
      tmp[t + 2] = b / wsum;
    }
  }
  // Vertical pass: weight by the exact cos(theta) band of each overlap.
  const out = createEnv(w, h);
  for (let cy = 0; cy < h; cy++) {
    let wsum = 0;
    for (let e = oy.start[cy]; e < oy.start[cy + 1]; e++) wsum += oy.w[e];
    for (let cx = 0; cx < w; cx++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let e = oy.start[cy]; e < oy.start[cy + 1]; e++) {
        const t = (oy.src[e] * w + cx) * 3;
        const wt = oy.w[e];
        r += tmp[t] * wt;
        g += tmp[t + 1] * wt;
        b += tmp[t + 2] * wt;
      }
      const o = (cy * w + cx) * 3;
      out.data[o] = r / wsum;
      out.data[o + 1] = g / wsum;
      out.data[o + 2] = b / wsum;
    }
  }
  return out;
}

/**
 * Flatten an encoding (e.g. the 16x16 reduceEnv output) into the network's
 * lighting vector, as the papers do (H x W x 3 lat-long image, flattened):
 * row-major, top row (zenith, v≈0) first; within a row, columns left to right
 * (u from 0, i.e. starting behind the head at -Z, through -X, +Z (centre), +X);
 * RGB interleaved. index = (y*W + x)*3 + channel; length = W*H*3.
 */
export function flattenEncoding(env: EnvImage): Float32Array {
  return new Float32Array(env.data);
}

/** sum over pixels of L * dOmega, per channel (W/m^2-like "irradiance-equivalent"). */
export function totalPower(env: EnvImage): RGB {
  const W = env.width;
  const H = env.height;
  const d = env.data;
  let R = 0;
  let G = 0;
  let B = 0;
  for (let y = 0; y < H; y++) {
    let r = 0;
    let g = 0;
    let b = 0;
    const row = y * W * 3;
    for (let i = row; i < row + W * 3; i += 3) {
      r += d[i];
      g += d[i + 1];
      b += d[i + 2];
    }
    const om = pixelSolidAngle(y, W, H);
    R += r * om;
    G += g * om;
    B += b * om;
  }
  return [R, G, B];
}

/** Solid-angle-weighted mean radiance over the sphere: totalPower / (4*pi). */
export function meanRadiance(env: EnvImage): RGB {
  const p = totalPower(env);
  const k = 1 / (4 * PI);
  return [p[0] * k, p[1] * k, p[2] * k];
}

/**
 * Order-2 (9-coefficient) real spherical harmonics per colour channel.
 * Isomorphic: no Node APIs, no DOM.
 *
 * Basis: the standard real SH of Ramamoorthi & Hanrahan (2001), written
 * directly in OUR world coordinates (see latlong.ts: right-handed, +Y up, the
 * head faces +Z, +X = viewer's right), no axis swap. (x, y, z) is a unit
 * direction. The m=0 functions therefore have +Z as their pole.
 *
 *   k | (l, m)  | Y_k(x, y, z)
 *   --+---------+------------------------------
 *   0 | (0,  0) | 0.282095
 *   1 | (1, -1) | 0.488603 * y
 *   2 | (1,  0) | 0.488603 * z
 *   3 | (1,  1) | 0.488603 * x
 *   4 | (2, -2) | 1.092548 * x * y
 *   5 | (2, -1) | 1.092548 * y * z
 *   6 | (2,  0) | 0.315392 * (3 z^2 - 1)
 *   7 | (2,  1) | 1.092548 * x * z
 *   8 | (2,  2) | 0.546274 * (x^2 - y^2)
 *
 * Coefficient layout (Float32Array of 27): coefficient-major, RGB inner:
 *   [c0r, c0g, c0b, c1r, c1g, c1b, ..., c8r, c8g, c8b], i.e. index = k*3 + channel.
 *
 * Projection c_k = ∫ L(w) Y_k(w) dw. Radiance L(w) ≈ sum_k c_k Y_k(w).
 * Irradiance E(n) = ∫ L(w) max(0, n·w) dw ≈ sum_k A_l(k) c_k Y_k(n) with the
 * clamped-cosine convolution constants A0 = pi, A1 = 2pi/3, A2 = pi/4.
 * Lambertian outgoing radiance = albedo * E(n) / pi (no separate helper).
 */

import type { EnvImage, RGB } from './latlong.js';

export const SH_K0 = 0.282095;
export const SH_K1 = 0.488603;
export const SH_K2 = 1.092548;
export const SH_K3 = 0.315392;
export const SH_K4 = 0.546274;

/** Clamped-cosine convolution constants per band l = 0, 1, 2. */
export const SH_A: readonly [number, number, number] = [Math.PI, (2 * Math.PI) / 3, Math.PI / 4];
/** Band l of coefficient index k. */
export const SH_BAND: readonly number[] = [0, 1, 1, 1, 2, 2, 2, 2, 2];

export type SH9Coeffs = Float32Array;

/** The 9 basis values at a unit direction (see the table above). */
export function shBasis(x: number, y: number, z: number, out: Float64Array | number[] = new Float64Array(9)): Float64Array | number[] {
  out[0] = SH_K0;
  out[1] = SH_K1 * y;
  out[2] = SH_K1 * z;
  out[3] = SH_K1 * x;
  out[4] = SH_K2 * x * y;
  out[5] = SH_K2 * y * z;
  out[6] = SH_K3 * (3 * z * z - 1);
  out[7] = SH_K2 * x * z;
  out[8] = SH_K4 * (x * x - y * y);
  return out;
}

/**
 * Project a lat-long map onto SH9. The map is treated as piecewise constant
 * over pixels, and each pixel's basis integral ∫_pixel Y_k dOmega is computed
 * in closed form (separable in theta and phi), so e.g. a constant map gives
 * exactly c0 = sqrt(4pi)*L and zeros elsewhere (to float rounding).
 */
export function projectEnvSH9(env: EnvImage): SH9Coeffs {
  const W = env.width;
  const H = env.height;
  // Per-column phi integrals.
  const P0 = new Float64Array(W);
  const Ps = new Float64Array(W);
  const Pc = new Float64Array(W);
  const Pss = new Float64Array(W);
  const Pcc = new Float64Array(W);
  const Psc = new Float64Array(W);
  for (let x = 0; x < W; x++) {
    const p0 = 2 * Math.PI * (x / W - 0.5);
    const p1 = 2 * Math.PI * ((x + 1) / W - 0.5);
    const dp = (2 * Math.PI) / W;
    const s0 = Math.sin(p0);
    const s1 = Math.sin(p1);
    const c0 = Math.cos(p0);
    const c1 = Math.cos(p1);
    const s20 = Math.sin(2 * p0);
    const s21 = Math.sin(2 * p1);
    P0[x] = dp;
    Ps[x] = c0 - c1; // ∫ sin
    Pc[x] = s1 - s0; // ∫ cos
    Pss[x] = dp / 2 - (s21 - s20) / 4; // ∫ sin^2
    Pcc[x] = dp / 2 + (s21 - s20) / 4; // ∫ cos^2
    Psc[x] = (s1 * s1 - s0 * s0) / 2; // ∫ sin cos
  }
  const acc = new Float64Array(27);
  const d = env.data;
  const w = new Float64Array(9);
  for (let y = 0; y < H; y++) {
    const t0 = (Math.PI * y) / H;
    const t1 = (Math.PI * (y + 1)) / H;
    const ct0 = Math.cos(t0);
    const ct1 = Math.cos(t1);
    const st0 = Math.sin(t0);
    const st1 = Math.sin(t1);
    const T0 = ct0 - ct1; // ∫ sinθ dθ
    const T1 = (t1 - t0) / 2 - (Math.sin(2 * t1) - Math.sin(2 * t0)) / 4; // ∫ sin^2θ
    const Tc = (st1 * st1 - st0 * st0) / 2; // ∫ cosθ sinθ
    const Tcc = (ct0 * ct0 * ct0 - ct1 * ct1 * ct1) / 3; // ∫ cos^2θ sinθ
    const Ts2c = (st1 * st1 * st1 - st0 * st0 * st0) / 3; // ∫ sin^2θ cosθ
    const T3 = T0 - Tcc; // ∫ sin^3θ
    for (let x = 0; x < W; x++) {
      w[0] = SH_K0 * T0 * P0[x];
      w[1] = SH_K1 * Tc * P0[x];
      // latlong.ts: x = sinθ cosφ, z = sinθ sinφ.
      w[2] = SH_K1 * T1 * Ps[x];
      w[3] = SH_K1 * T1 * Pc[x];
      w[4] = SH_K2 * Ts2c * Pc[x];
      w[5] = SH_K2 * Ts2c * Ps[x];
      w[6] = SH_K3 * (3 * T3 * Pss[x] - T0 * P0[x]);
      w[7] = SH_K2 * T3 * Psc[x];
      w[8] = SH_K4 * (T3 * Pcc[x] - Tcc * P0[x]);
      const i = (y * W + x) * 3;
      const r = d[i];
      const g = d[i + 1];
      const b = d[i + 2];
      for (let k = 0; k < 9; k++) {
        acc[k * 3] += r * w[k];
        acc[k * 3 + 1] += g * w[k];
        acc[k * 3 + 2] += b * w[k];
      }
    }
  }
  return Float32Array.from(acc);
}

/** Reconstructed radiance sum_k c_k Y_k(x,y,z) (direction should be unit length). */
export function evalSH9(coeffs: ArrayLike<number>, x: number, y: number, z: number): RGB {
  const Y = shBasis(x, y, z);
  let r = 0;
  let g = 0;
  let b = 0;
  for (let k = 0; k < 9; k++) {
    r += coeffs[k * 3] * Y[k];
    g += coeffs[k * 3 + 1] * Y[k];
    b += coeffs[k * 3 + 2] * Y[k];
  }
  return [r, g, b];
}

/**
 * Irradiance E(n) = ∫ L(w) max(0, n·w) dw from SH9 radiance coefficients
 * (n unit length). Lambertian outgoing radiance = albedo * E / pi.
 */
export function irradianceSH9(coeffs: ArrayLike<number>, nx: number, ny: number, nz: number): RGB {
  const Y = shBasis(nx, ny, nz);
  let r = 0;
  let g = 0;
  let b = 0;
  for (let k = 0; k < 9; k++) {
    const a = SH_A[SH_BAND[k]] * Y[k];
    r += coeffs[k * 3] * a;
    g += coeffs[k * 3 + 1] * a;
    b += coeffs[k * 3 + 2] * a;
  }
  return [r, g, b];
}

/** 3x3 rotation matrix, row-major: (R v)_i = sum_j R[i*3+j] v_j. */
export type Mat3 = readonly number[];

/** Active rotation about +Y by `deg` (right-handed: +Z moves toward +X). */
export function rotationY(deg: number): Mat3 {
  const a = (deg * Math.PI) / 180;
  const c = Math.cos(a);
  const s = Math.sin(a);
  return [c, 0, s, 0, 1, 0, -s, 0, c];
}

/**
 * Coefficients of the rotated function L'(d) = L(R^-1 d), for any rotation
 * matrix R. Band 0 is invariant; band 1 is the vector (c3, c1, c2) in (x,y,z)
 * rotated by R; band 2 is a traceless symmetric quadratic form M rotated as
 * R M R^T.
 */
export function rotateSH9(coeffs: ArrayLike<number>, R: Mat3): SH9Coeffs {
  const out = new Float32Array(27);
  for (let ch = 0; ch < 3; ch++) {
    const c = (k: number): number => coeffs[k * 3 + ch];
    out[ch] = c(0);
    // Band 1: L1(d) = K1 * v·d with v = (c3, c1, c2).
    const vx = c(3);
    const vy = c(1);
    const vz = c(2);
    const rx = R[0] * vx + R[1] * vy + R[2] * vz;
    const ry = R[3] * vx + R[4] * vy + R[5] * vz;
    const rz = R[6] * vx + R[7] * vy + R[8] * vz;
    out[1 * 3 + ch] = ry;
    out[2 * 3 + ch] = rz;
    out[3 * 3 + ch] = rx;
    // Band 2: f = a xy + b yz + q(2z^2 - x^2 - y^2) + e xz + f(x^2 - y^2) = d^T M d.
    const a = SH_K2 * c(4);
    const b = SH_K2 * c(5);
    const q = SH_K3 * c(6);
    const e = SH_K2 * c(7);
    const f = SH_K4 * c(8);
    const M = [-q + f, a / 2, e / 2, a / 2, -q - f, b / 2, e / 2, b / 2, 2 * q];
    // M' = R M R^T
    const RM = new Array<number>(9);
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++)
        RM[i * 3 + j] = R[i * 3] * M[j] + R[i * 3 + 1] * M[3 + j] + R[i * 3 + 2] * M[6 + j];
    const Mp = new Array<number>(9);
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++)
        Mp[i * 3 + j] = RM[i * 3] * R[j * 3] + RM[i * 3 + 1] * R[j * 3 + 1] + RM[i * 3 + 2] * R[j * 3 + 2];
    out[4 * 3 + ch] = (2 * Mp[1]) / SH_K2;
    out[5 * 3 + ch] = (2 * Mp[5]) / SH_K2;
    out[6 * 3 + ch] = Mp[8] / 2 / SH_K3;
    out[7 * 3 + ch] = (2 * Mp[2]) / SH_K2;
    out[8 * 3 + ch] = (Mp[0] - Mp[4]) / 2 / SH_K4;
  }
  return out;
}

/**
 * Rotate about +Y by `deg`, consistent with latlong.rotateEnv:
 * projectEnvSH9(rotateEnv(env, deg)) == rotateSH9Y(projectEnvSH9(env), deg)
 * (exactly for integer pixel shifts).
 */
export function rotateSH9Y(coeffs: ArrayLike<number>, deg: number): SH9Coeffs {
  return rotateSH9(coeffs, rotationY(deg));
}

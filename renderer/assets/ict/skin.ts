// Node-only (pure maths on a loaded model). Skin and eye textures in the ICT UV layout.
//
// The skin map holds UDIM tiles 0 (face) and 1 (back of the head, neck, ears, sockets) side by
// side (width = 2 x height; mesh.ts maps u -> u/2). Each texel is tied to a point of the neutral
// surface by rasterising the skin triangles into the map (a position map, once per model), and
// everything is computed from that point (cm, source frame) and the ICT landmarks: regions
// (lips from the outer-lip landmarks, brows from the brow landmarks, nose, cheeks, ears, eye
// surround, T-zone, mouth and eye sockets from the vertex ranges), 3D noise (seamless across
// UV seams).
//
// Albedo: a two-layer pigment model per channel: reflectance = base * exp(-(M k_eu + P k_pheo +
// H k_hb)), melanin M from the tone parameter (0 very light .. 1 very dark), haemoglobin H
// (redder lips, cheeks, nose, ears), plus eyebrows, optional freckles. ITA (individual
// typology angle) of the albedo spans > 55 deg (tone 0) to < -30 deg (tone 1).
import { linearToSrgb8, srgbDecode } from '../../core/color.js';
import { noise3, smoothstep, clamp01, lerp } from '../procedural-head/noise.js';
import type { IctModel } from './model.js';
import { pointInPolygon } from '../../core/plane.js';
import { ICT_MATERIAL_PARTS, ICT_RANGES } from './mesh.js';
import type { IctEyeParams, IctIrisColour, IctSkinParams } from './params.js';

// The pigment model and the colour science helpers are shared with the procedural people
// (renderer/assets/skin-model.ts); re-exported here for this module's users.
import { cheekAlbedo, melaninOf, pigmentAlbedo } from '../skin-model.js';
export { cheekAlbedo, itaDeg, linearRgbToLab, melaninOf, pigmentAlbedo } from '../skin-model.js';

// ---- the position map (once per model and size) ----

export interface PositionMap {
  W: number;
  H: number;
  /** neutral point (cm) per texel, NaN where no triangle covers it (after dilation: few). */
  pos: Float32Array;
  nrm: Float32Array;
  /** 0 none, 1 skin, 2 mouth socket, 3 eye socket */
  tag: Uint8Array;
}

const posMaps = new Map<string, PositionMap>();

export function positionMap(model: IctModel, S: number): PositionMap {
  const key = `${model.key}:${S}`;
  const hit = posMaps.get(key);
  if (hit) return hit;
  const W = 2 * S;
  const H = S;
  const pos = new Float32Array(W * H * 3).fill(NaN);
  const nrm = new Float32Array(W * H * 3);
  const tag = new Uint8Array(W * H);
  const P = model.neutral;
  // Vertex normals of the skin (neutral).
  const vn = new Float64Array(P.length);
  const skinTris: number[] = [];
  for (let t = 0; t < model.triMat.length; t++) {
    const m = ICT_MATERIAL_PARTS[model.materials[model.triMat[t]]];
    if (m?.kind !== 'skin') continue;
    skinTris.push(t);
    const [a, b, c] = [model.triPos[t * 3] * 3, model.triPos[t * 3 + 1] * 3, model.triPos[t * 3 + 2] * 3];
    const ux = P[b] - P[a], uy = P[b + 1] - P[a + 1], uz = P[b + 2] - P[a + 2];
    const vx = P[c] - P[a], vy = P[c + 1] - P[a + 1], vz = P[c + 2] - P[a + 2];
    const nx = uy * vz - uz * vy, ny = uz * vx - ux * vz, nz = ux * vy - uy * vx;
    for (const o of [a, b, c]) {
      vn[o] += nx;
      vn[o + 1] += ny;
      vn[o + 2] += nz;
    }
  }
  const inRange = (i: number, [a, b]: readonly [number, number]) => i >= a && i <= b;
  for (const t of skinTris) {
    const vi = [model.triPos[t * 3], model.triPos[t * 3 + 1], model.triPos[t * 3 + 2]];
    const ti = [model.triUv[t * 3], model.triUv[t * 3 + 1], model.triUv[t * 3 + 2]];
    const tg = vi.every((i) => inRange(i, ICT_RANGES.mouthSocket)) ? 2 : vi.every((i) => inRange(i, ICT_RANGES.eyeSocketL) || inRange(i, ICT_RANGES.eyeSocketR)) ? 3 : 1;
    // texel coordinates (x right, y down)
    const xs = ti.map((k) => (model.uvs[k * 2] / 2) * W - 0.5);
    const ys = ti.map((k) => (1 - model.uvs[k * 2 + 1]) * H - 0.5);
    const x0 = Math.max(0, Math.floor(Math.min(...xs))), x1 = Math.min(W - 1, Math.ceil(Math.max(...xs)));
    const y0 = Math.max(0, Math.floor(Math.min(...ys))), y1 = Math.min(H - 1, Math.ceil(Math.max(...ys)));
    const den = (ys[1] - ys[2]) * (xs[0] - xs[2]) + (xs[2] - xs[1]) * (ys[0] - ys[2]);
    if (Math.abs(den) < 1e-12) continue;
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const l0 = ((ys[1] - ys[2]) * (x - xs[2]) + (xs[2] - xs[1]) * (y - ys[2])) / den;
        const l1 = ((ys[2] - ys[0]) * (x - xs[2]) + (xs[0] - xs[2]) * (y - ys[2])) / den;
        const l2 = 1 - l0 - l1;
        if (l0 < -1e-6 || l1 < -1e-6 || l2 < -1e-6) continue;
        const o = (y * W + x) * 3;
        for (let k = 0; k < 3; k++) {
          pos[o + k] = l0 * P[vi[0] * 3 + k] + l1 * P[vi[1] * 3 + k] + l2 * P[vi[2] * 3 + k];
          nrm[o + k] = l0 * vn[vi[0] * 3 + k] + l1 * vn[vi[1] * 3 + k] + l2 * vn[vi[2] * 3 + k];
        }
        const nl = Math.hypot(nrm[o], nrm[o + 1], nrm[o + 2]) || 1;
        for (let k = 0; k < 3; k++) nrm[o + k] /= nl;
        tag[y * W + x] = tg;
      }
    }
  }
  // Dilate 4 texels so mip levels and bilinear lookups at island edges see sensible values.
  for (let it = 0; it < 4; it++) {
    const src = tag.slice();
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        if (src[y * W + x]) continue;
        for (const [dx, dy] of [[1, 0], [-1, 0], [0, 1], [0, -1]]) {
          const xx = x + dx, yy = y + dy;
          if (xx < 0 || yy < 0 || xx >= W || yy >= H || !src[yy * W + xx]) continue;
          const s = (yy * W + xx) * 3, d = (y * W + x) * 3;
          for (let k = 0; k < 3; k++) {
            pos[d + k] = pos[s + k];
            nrm[d + k] = nrm[s + k];
          }
          tag[y * W + x] = src[yy * W + xx];
          break;
        }
      }
    }
  }
  const pm = { W, H, pos, nrm, tag };
  posMaps.set(key, pm);
  return pm;
}

// ---- regions ----

export function segDist(px: number, py: number, ax: number, ay: number, bx: number, by: number): number {
  const dx = bx - ax, dy = by - ay;
  const t = clamp01(((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy || 1));
  return Math.hypot(px - ax - t * dx, py - ay - t * dy);
}

export { pointInPolygon };

function polyDist(x: number, y: number, poly: number[][]): number {
  let d = Infinity;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) d = Math.min(d, segDist(x, y, poly[j][0], poly[j][1], poly[i][0], poly[i][1]));
  return d;
}

/**
 * Eyebrow coverage (0..1) at a neutral-surface point: a band along the brow landmarks (17-21 on
 * -X, 22-26 on +X), wider at the inner end. The skin albedo paints it; labels.ts thresholds it.
 */
export function browWeight(px: number, py: number, pz: number, browL: number[][], browR: number[][]): number {
  if (pz <= 6) return 0;
  const bl = px > 0 ? browR : browL;
  let bd = Infinity;
  let along = 0;
  for (let k = 0; k + 1 < bl.length; k++) {
    const d = segDist(px, py, bl[k][0], bl[k][1], bl[k + 1][0], bl[k + 1][1]);
    if (d < bd) {
      bd = d;
      along = (k + 0.5) / (bl.length - 1);
    }
  }
  const inner = px > 0 ? 1 - along : along; // 1 at the inner (medial) end
  const browHalf = 0.32 + 0.18 * inner;
  return 1 - smoothstep(browHalf * 0.6, browHalf, bd + 0.15 * Math.max(0, py - bl[2][1]));
}

/** The neutral position (cm) of landmark i. */
export function neutralLandmark(model: IctModel, i: number): number[] {
  const v = model.landmarks[i];
  return [model.neutral[v * 3], model.neutral[v * 3 + 1], model.neutral[v * 3 + 2]];
}

export interface IctSkinTextures {
  width: number;
  height: number;
  /** sRGB 8-bit RGB */
  albedo: Uint8Array;
  /** tangent-space normal (OpenGL convention), 8-bit RGB */
  normal: Uint8Array;
  /** 8-bit grey */
  specular: Uint8Array;
  roughness: Uint8Array;
  /** mean linear albedo of the cheeks (the ITA reference patch) */
  cheek: number[];
}

/** Skin maps of one skin draw at tile size S (atlas 2S x S). Deterministic. */
export function buildIctSkinTextures(model: IctModel, skin: IctSkinParams, S: number): IctSkinTextures {
  const pm = positionMap(model, S);
  const { W, H, pos, nrm, tag } = pm;
  const L = (i: number) => neutralLandmark(model, i);
  const lipPoly = Array.from({ length: 12 }, (_, k) => L(48 + k));
  const lipZ = Math.min(...lipPoly.map((p) => p[2])) - 0.8;
  const browL = [17, 18, 19, 20, 21].map(L);
  const browR = [22, 23, 24, 25, 26].map(L);
  const noseTip = L(30);
  const eyeC = [
    [3.195, 3.616, 8.441],
    [-3.195, 3.616, 8.441],
  ];
  const seed = skin.noiseSeed % 100000;
  const M0 = melaninOf(skin.tone);
  const albedo = new Uint8Array(W * H * 3);
  const normal = new Uint8Array(W * H * 3);
  const specular = new Uint8Array(W * H);
  const roughness = new Uint8Array(W * H);
  const height = new Float32Array(W * H);
  const col = [0, 0, 0];
  let cheekSum = [0, 0, 0];
  let cheekN = 0;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const t = y * W + x;
      const o = t * 3;
      const px = pos[o], py = pos[o + 1], pz = pos[o + 2];
      if (!Number.isFinite(px)) {
        albedo.set([128, 100, 90], o);
        normal.set([128, 128, 255], o);
        specular[t] = 100;
        roughness[t] = 140;
        continue;
      }
      const tg = tag[t];
      const ax = Math.abs(px);
      const front = smoothstep(2, 6, pz) * smoothstep(-0.2, 0.4, nrm[o + 2]);
      // regions
      let lips = 0;
      if (pz > lipZ && tg === 1) {
        const d = polyDist(px, py, lipPoly);
        lips = pointInPolygon(px, py, lipPoly) ? 1 : 0;
        lips = lips ? smoothstep(0, 0.12, d) * 0.5 + 0.5 : 0.5 * (1 - smoothstep(0, 0.1, d));
        lips *= smoothstep(lipZ, lipZ + 0.5, pz);
      }
      const cheeks = front * Math.exp(-(((ax - 4.3) / 1.7) ** 2 + ((py + 0.2) / 1.6) ** 2));
      const nose = front * Math.exp(-((px / 1.3) ** 2 + ((py - noseTip[1] - 0.3) / 1.8) ** 2 + ((pz - noseTip[2]) / 2.5) ** 2));
      const ears = smoothstep(6.3, 7.2, ax) * smoothstep(-4, -1.5, py) * (1 - smoothstep(5.5, 7.5, py)) * (1 - smoothstep(4, 6, pz));
      const ec = px > 0 ? eyeC[0] : eyeC[1];
      const de = Math.hypot(px - ec[0], (py - ec[1]) * 1.3, (pz - ec[2]) * 0.5);
      const eyeRing = tg === 1 ? smoothstep(1.0, 1.5, de) * (1 - smoothstep(1.6, 2.6, de)) : 0;
      const brows = tg === 1 ? browWeight(px, py, pz, browL, browR) : 0;
      const tzone = front * (Math.exp(-((px / 2.2) ** 2) - (((py - 7) / 3) ** 2)) + nose);
      const scalp = smoothstep(8, 11, py) * (1 - front);
      // pigment
      const mott = noise3(px * 0.9, py * 0.9, pz * 0.9, seed) * 0.6 + noise3(px * 3.1, py * 3.1, pz * 3.1, seed + 7) * 0.4;
      let M = M0 * (1 + 0.08 * mott + 0.12 * eyeRing - 0.35 * lips + 0.05 * scalp);
      let Hb = skin.haemoglobin * (0.45 + 0.55 * cheeks + 0.35 * nose + 0.45 * ears + 1.4 * lips + 0.1 * mott);
      if (skin.freckles > 0) {
        const fz = front * smoothstep(-1, 2, py) * (1 - smoothstep(6, 9, py));
        const f = noise3(px * 7, py * 7, pz * 7, seed + 31) + 0.5 * noise3(px * 13, py * 13, pz * 13, seed + 37);
        M += fz * skin.freckles * (0.6 + 1.2 * M0) * smoothstep(0.28, 0.5, f);
      }
      pigmentAlbedo(M, skin.pheomelanin, Hb, col);
      if (tg === 2) {
        // mouth socket: mucosa, dark red, shaded
        col[0] = 0.22; col[1] = 0.045; col[2] = 0.04;
      } else if (tg === 3) {
        col[0] = 0.55; col[1] = 0.22; col[2] = 0.2;
      }
      // eyebrows: hair over skin, strand noise along the brow
      if (brows > 0) {
        const hair = 0.5 + 0.5 * noise3(px * 14 + py * 3, py * 40 - px * 8, pz * 14, seed + 71);
        const m = Math.min(1, brows * (0.55 + 0.45 * skin.browDensity) * (0.5 + 0.7 * hair));
        const dk = skin.browDarkness;
        const hc = [lerp(0.09, 0.012, dk), lerp(0.05, 0.009, dk), lerp(0.025, 0.007, dk)];
        for (let c = 0; c < 3; c++) col[c] = lerp(col[c], hc[c], 0.95 * m);
      }
      if (cheeks > 0.8 && tg === 1) {
        for (let c = 0; c < 3; c++) cheekSum[c] += col[c];
        cheekN++;
      }
      albedo[o] = linearToSrgb8(col[0]);
      albedo[o + 1] = linearToSrgb8(col[1]);
      albedo[o + 2] = linearToSrgb8(col[2]);
      // specular / roughness
      const sn = noise3(px * 2, py * 2, pz * 2, seed + 13);
      const oil = skin.oiliness;
      let spec = 0.45 + 0.3 * oil * tzone + 0.08 * lips - 0.25 * brows - 0.1 * scalp + 0.05 * sn;
      let rough = 0.58 - 0.15 * oil * tzone - 0.1 * lips + 0.15 * brows + 0.05 * scalp + 0.04 * sn;
      if (tg === 2) {
        spec = 0.5;
        rough = 0.3;
      }
      specular[t] = Math.round(clamp01(spec) * 255);
      roughness[t] = Math.round(Math.min(0.9, Math.max(0.15, rough)) * 255);
      // pores: small pits (fbm of cell-scale noise), fewer on lips, none on brows
      const pore = noise3(px * 14, py * 14, pz * 14, seed + 91) + 0.5 * noise3(px * 31, py * 31, pz * 31, seed + 97);
      height[t] = (tg === 1 ? 1 - 0.7 * lips : 0.3) * (0.004 * pore - 0.006 * smoothstep(0.25, 0.6, pore) * (0.5 + 0.8 * nose + 0.4 * cheeks));
    }
  }
  // Normal map from the height field: gradients over the 3D distance between neighbouring texels.
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const t = y * W + x;
      const xl = Math.max(0, x - 1), xr = Math.min(W - 1, x + 1), yu = Math.max(0, y - 1), yd = Math.min(H - 1, y + 1);
      const dist = (a: number, b: number) => Math.hypot(pos[a * 3] - pos[b * 3], pos[a * 3 + 1] - pos[b * 3 + 1], pos[a * 3 + 2] - pos[b * 3 + 2]);
      const a = y * W + xl, b = y * W + xr, c = yu * W + x, d = yd * W + x;
      const du = dist(a, b), dv = dist(c, d);
      // Neighbours on another UV island (seams) are far apart in 3D: flat there.
      const gT = du > 0 && du < 0.2 ? (height[b] - height[a]) / du : 0;
      // B points to image up (decreasing y): dh/dB = (h[up] - h[down]) / dv.
      const gB = dv > 0 && dv < 0.2 ? (height[c] - height[d]) / dv : 0;
      const nl = Math.sqrt(gT * gT + gB * gB + 1);
      const o = t * 3;
      normal[o] = Math.round((0.5 - (0.5 * gT) / nl) * 255);
      normal[o + 1] = Math.round((0.5 - (0.5 * gB) / nl) * 255);
      normal[o + 2] = Math.round((0.5 + 0.5 / nl) * 255);
    }
  }
  const cheek = cheekN > 0 ? cheekSum.map((v) => v / cheekN) : cheekAlbedo(skin);
  return { width: W, height: H, albedo, normal, specular, roughness, cheek };
}

// ---- eyes ----

/**
 * Linear albedo of the iris stroma: outer (ciliary) zone and inner (pupillary, around the
 * collarette) zone per colour class, at shade 0 (light) and 1 (dark). Values from photographed
 * irises under neutral light: brown irises are dark (sRGB ~60-110), blue ones grey-blue with a
 * lighter stroma, green ones olive with an amber pupillary ring, hazel ones brown inside, green
 * outside, grey ones low-saturation.
 */
const IRIS_PALETTE: Record<IctIrisColour, { outer: [number[], number[]]; inner: [number[], number[]] }> = {
  brown: { outer: [[0.11, 0.055, 0.022], [0.03, 0.016, 0.009]], inner: [[0.15, 0.075, 0.025], [0.045, 0.022, 0.01]] },
  hazel: { outer: [[0.11, 0.1, 0.045], [0.06, 0.052, 0.024]], inner: [[0.16, 0.085, 0.028], [0.09, 0.045, 0.016]] },
  green: { outer: [[0.085, 0.13, 0.075], [0.04, 0.07, 0.04]], inner: [[0.14, 0.11, 0.04], [0.08, 0.06, 0.022]] },
  blue: { outer: [[0.17, 0.27, 0.4], [0.07, 0.12, 0.2]], inner: [[0.2, 0.25, 0.3], [0.1, 0.12, 0.14]] },
  grey: { outer: [[0.22, 0.25, 0.27], [0.11, 0.125, 0.14]], inner: [[0.22, 0.22, 0.2], [0.12, 0.12, 0.11]] },
};

/** Linear iris colour of a class and shade: outer zone, inner zone. */
export function irisColours(colour: IctIrisColour, shade: number): { outer: number[]; inner: number[] } {
  const p = IRIS_PALETTE[colour];
  const mix = (pair: [number[], number[]]) => pair[0].map((v, c) => lerp(v, pair[1][c], clamp01(shade)));
  return { outer: mix(p.outer), inner: mix(p.inner) };
}

/** Radius (UV units) of the limbus on the ICT eyeball shell (measured: the cornea edge, ~30 deg). */
export const ICT_LIMBUS_UV = 0.12;

/** Eye albedo (sRGB RGB, S x S) for the outer eyeball shell: sclera, limbal ring, iris, pupil. */
export function buildIctEyeTexture(eyes: IctEyeParams, S: number): Uint8Array {
  const out = new Uint8Array(S * S * 3);
  const { outer, inner } = irisColours(eyes.colour, eyes.iris);
  const seed = eyes.noiseSeed % 100000;
  const R = ICT_LIMBUS_UV;
  const collR = eyes.pupil + (1 - eyes.pupil) * 0.3; // the collarette: inner third of the iris
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const u = (x + 0.5) / S - 0.5;
      const v = (y + 0.5) / S - 0.5;
      const d = Math.hypot(u, v);
      const ang = Math.atan2(v, u);
      const ca = Math.cos(ang), sa = Math.sin(ang);
      let c: number[];
      if (d < R * 1.04) {
        const r = d / R;
        // radial fibres (stretched along the radius) and crypts
        const fib = noise3(ca * 40, sa * 40, r * 2.5, seed) * 0.6 + noise3(ca * 90, sa * 90, r * 4, seed + 5) * 0.4;
        const crypt = smoothstep(0.25, 0.55, noise3(ca * 14, sa * 14, r * 9, seed + 9));
        const zone = smoothstep(collR - 0.06, collR + 0.06, r); // 0 inner .. 1 outer
        c = inner.map((a, k) => lerp(a, outer[k], zone));
        const coll = Math.exp(-(((r - collR) / 0.035) ** 2)); // the collarette ridge: lighter
        const k = (1 + 0.55 * fib) * (1 - 0.35 * crypt) * (1 + 0.35 * coll);
        c = c.map((a) => a * k);
        // dark limbal ring: the outer 15% of the iris fading to a dark grey-brown band at the limbus
        const limb = smoothstep(0.8, 0.97, r);
        const ring = [0.018, 0.016, 0.015];
        c = c.map((a, i) => lerp(a, ring[i], 0.85 * limb));
        // pupil with a soft edge (the pupillary ruff)
        const e = smoothstep(eyes.pupil - 0.015, eyes.pupil + 0.03, r);
        c = c.map((a) => lerp(0.008, a, e));
        if (r > 1) {
          // limbus -> sclera over a thin transition
          const t = smoothstep(1, 1.04, r);
          c = c.map((a, i) => lerp(a, [0.3, 0.28, 0.27][i], t));
        }
      } else {
        // sclera: off-white, greyer toward the limbus shadow, warmer and veined away from the cornea
        // (the parts under the lids and in the corners)
        const s = smoothstep(R * 1.04, R + 0.03, d);
        const far = smoothstep(0.18, 0.42, d);
        const vein = Math.max(0, noise3(ca * 7, sa * 7, d * 28, seed + 11) - 0.1) * far;
        const base = [0.6 - 0.04 * far, 0.56 - 0.08 * far, 0.52 - 0.08 * far];
        const sc = [base[0] - 0.08 * vein, base[1] - 0.3 * vein, base[2] - 0.3 * vein];
        c = sc.map((a, i) => lerp([0.3, 0.28, 0.27][i], a, s));
      }
      const o = (y * S + x) * 3;
      out[o] = linearToSrgb8(c[0]);
      out[o + 1] = linearToSrgb8(c[1]);
      out[o + 2] = linearToSrgb8(c[2]);
    }
  }
  return out;
}

// ---- eyelashes ----

/** The lash cards' bands in the lashes tile (v up, OBJ convention): band k spans [hi - 0.14, hi], hi = 0.988 - 0.166 k; 0-2 upper, 3-5 lower lashes; root at hi. */
const LASH_BANDS = 6;
const lashBandHi = (k: number) => 0.988 - 0.166 * k;
const LASH_BAND_H = 0.14;

/**
 * Eyelash texture of the card tile (sRGB RGBA, S x S, image row 0 = v 1): alpha-tested strands
 * (tapered, curved, varying length and spacing) on the six cards (three layers of upper and of
 * lower lashes per eye, left cards u < 0.5, right cards u > 0.5). RGB is the lash colour, a
 * little lighter toward the tips. Deterministic from the skin draw.
 */
export function buildIctLashTexture(skin: IctSkinParams, S: number): Uint8Array {
  const out = new Uint8Array(S * S * 4);
  const alpha = new Float32Array(S * S);
  const rng = mulberry(skin.noiseSeed ^ 0x1a5e5);
  const dk = skin.lashDarkness;
  const root = [lerp(0.06, 0.012, dk), lerp(0.035, 0.01, dk), lerp(0.02, 0.008, dk)];
  for (let k = 0; k < LASH_BANDS; k++) {
    const upper = k < 3;
    const y0 = Math.round((1 - lashBandHi(k)) * S); // root row
    const h = LASH_BAND_H * S;
    for (const [u0, u1] of [[0.012, 0.488], [0.512, 0.988]]) {
      const x0 = u0 * S, x1 = u1 * S;
      const count = Math.round((upper ? 46 : 20) * (0.7 + 0.3 * skin.browDensity));
      for (let n = 0; n < count; n++) {
        const f = (n + 0.5 + (rng() - 0.5) * 0.8) / count; // along the lid
        const rx = lerp(x0, x1, f);
        // longer in the middle of the lid, shorter at the corners; lower lashes shorter
        const mid = Math.sin(Math.PI * Math.min(Math.max(f, 0), 1));
        const len = h * (0.45 + 0.5 * mid) * (0.75 + 0.25 * rng()) * (upper ? 1 : 0.7);
        const bend = (rng() - 0.5) * 0.25 * h + (f - 0.5) * 0.2 * h; // lean toward the corners
        const w0 = S / 512 * (upper ? 1.6 : 1.2); // root half-width (texels)
        const steps = Math.ceil(len * 2);
        for (let s = 0; s <= steps; s++) {
          const t = s / steps;
          const cx = rx + bend * t * t;
          const cy = y0 + len * t;
          const hw = Math.max(0.45, w0 * (1 - 0.85 * t));
          for (let yy = Math.floor(cy - hw - 1); yy <= Math.ceil(cy + hw + 1); yy++) {
            for (let xx = Math.floor(cx - hw - 1); xx <= Math.ceil(cx + hw + 1); xx++) {
              if (xx < 0 || yy < 0 || xx >= S || yy >= S) continue;
              const dd = Math.hypot(xx + 0.5 - cx, yy + 0.5 - cy);
              const a = clamp01(hw + 0.5 - dd);
              const i = yy * S + xx;
              if (a > alpha[i]) alpha[i] = a;
            }
          }
        }
      }
      // the lash line: a dense dark band along the root edge (roots overlap at any resolution)
      for (let yy = y0; yy < y0 + h * 0.12; yy++) {
        for (let xx = Math.ceil(x0); xx < x1; xx++) {
          const f = (xx - x0) / (x1 - x0);
          const i = yy * S + xx;
          const a = (1 - (yy - y0) / (h * 0.12)) * smoothstep(0, 0.08, f) * smoothstep(0, 0.08, 1 - f);
          if (a > alpha[i]) alpha[i] = a;
        }
      }
    }
  }
  for (let i = 0; i < S * S; i++) {
    const o = i * 4;
    out[o] = linearToSrgb8(root[0]);
    out[o + 1] = linearToSrgb8(root[1]);
    out[o + 2] = linearToSrgb8(root[2]);
    out[o + 3] = Math.round(clamp01(alpha[i]) * 255);
  }
  return out;
}

/** A small seeded uniform generator (texture detail only; the draws use core/rng). */
function mulberry(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Mean linear colour of an sRGB8 RGB buffer over a mask (tests). */
export function meanLinear(rgb: Uint8Array, pick: (i: number) => boolean): number[] {
  const s = [0, 0, 0];
  let n = 0;
  for (let i = 0; i < rgb.length / 3; i++) {
    if (!pick(i)) continue;
    for (let c = 0; c < 3; c++) s[c] += srgbDecode(rgb[i * 3 + c] / 255);
    n++;
  }
  return s.map((v) => v / Math.max(n, 1));
}

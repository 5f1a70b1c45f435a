// Procedural head shape: signed distance of the base head and the frontal relief (modelling
// frame, metres, +Y up, the face toward +Z).
//
// Every function takes the head's shape (a HeadShape: params.ts ProceduralShape compiled; default
// NEUTRAL_SHAPE, the mannequin of plain 'procedural'). Multipliers and offsets enter so that the
// neutral values (1 and 0) leave every operation exact: the mannequin's bytes do not change.

import { clamp01, smoothstep, lerp, smin, smax, gauss2, bump2, segDist2 } from './noise.js';
import { NEUTRAL_SHAPE_PARAMS, type ProceduralShape } from './params.js';

function sdEllipsoid(px: number, py: number, pz: number, rx: number, ry: number, rz: number): number {
  const ax = px / rx;
  const ay = py / ry;
  const az = pz / rz;
  const k0 = Math.sqrt(ax * ax + ay * ay + az * az);
  const bx = ax / rx;
  const by = ay / ry;
  const bz = az / rz;
  const k1 = Math.sqrt(bx * bx + by * by + bz * bz);
  if (k1 === 0) return -Math.min(rx, ry, rz);
  return (k0 * (k0 - 1)) / k1;
}

/**
 * Smooth (Catmull-Rom-like Hermite) interpolation of several tables sharing the
 * knots xs (strictly decreasing) at x; results go to `out` (one per table).
 */
function curvesAt(xs: readonly number[], tables: readonly (readonly number[])[], x: number, out: number[]): void {
  const n = xs.length;
  if (x >= xs[0] || x <= xs[n - 1]) {
    const k = x >= xs[0] ? 0 : n - 1;
    for (let c = 0; c < tables.length; c++) out[c] = tables[c][k];
    return;
  }
  let i = 0;
  while (x < xs[i + 1]) i++;
  const h = xs[i + 1] - xs[i];
  const t = (x - xs[i]) / h;
  const t2 = t * t;
  const t3 = t2 * t;
  const h00 = 2 * t3 - 3 * t2 + 1;
  const h10 = t3 - 2 * t2 + t;
  const h01 = -2 * t3 + 3 * t2;
  const h11 = t3 - t2;
  const a0 = i > 0 ? i - 1 : 0;
  const a1 = i + 1;
  const b0 = i;
  const b1 = i + 2 < n ? i + 2 : n - 1;
  const sa = h / (xs[a1] - xs[a0]);
  const sb = h / (xs[b1] - xs[b0]);
  for (let c = 0; c < tables.length; c++) {
    const ys = tables[c];
    const m0 = (ys[a1] - ys[a0]) * sa;
    const m1 = (ys[b1] - ys[b0]) * sb;
    out[c] = h00 * ys[i] + h10 * m0 + h01 * ys[i + 1] + h11 * m1;
  }
}

// Lower-face loft sections, from the cheekbones (hidden in the cranium) to below the chin.
const LOFT_Y = [0.05, 0.02, -0.02, -0.05, -0.075, -0.095, -0.108, -0.125];
const LOFT_W = [0.05, 0.062, 0.064, 0.059, 0.051, 0.037, 0.024, 0.018];
const LOFT_F = [0.07, 0.084, 0.089, 0.088, 0.087, 0.087, 0.082, 0.07];
const LOFT_DF = [0.08, 0.085, 0.085, 0.07, 0.055, 0.04, 0.03, 0.025];
const LOFT_DB = [0.06, 0.07, 0.07, 0.07, 0.065, 0.06, 0.055, 0.05];
const loftScratch = [0, 0, 0, 0];
/** How much each loft section follows the head width, the jaw width, the chin's drop and projection. */
const LOFT_HEAD_W = [1, 1, 1, 0.7, 0.5, 0.3, 0.2, 0.2];
const LOFT_JAW_W = [0, 0, 0.3, 0.8, 1, 1, 0.6, 0.4];
const LOFT_CHIN_DROP = [0, 0, 0, 0.25, 0.55, 0.85, 1, 1];
const LOFT_CHIN_F = [0, 0, 0, 0, 0.3, 0.8, 1, 1];

/** A shape compiled for the signed distance and the relief (the loft tables, the cranium's radii). */
export interface HeadShape {
  readonly p: Readonly<ProceduralShape>;
  readonly loftY: readonly number[];
  readonly loftTables: readonly (readonly number[])[];
  /** Cranium radii: x, y above / below its equator, z (back; the front is the mannequin's). */
  readonly rx: number;
  readonly ryUp: number;
  readonly ryDown: number;
  readonly rzBack: number;
  /** The jaw plane's height at the chin. */
  readonly jawY: number;
  /** |x| of the ears' centres. */
  readonly earX: number;
}

export function compileShape(p: Readonly<ProceduralShape>): HeadShape {
  const loftY = LOFT_Y.map((y, k) => y - p.chinLength * LOFT_CHIN_DROP[k]);
  for (let k = 1; k < loftY.length; k++) if (!(loftY[k] < loftY[k - 1])) throw new Error('procedural head: chinLength out of range (loft sections out of order)');
  const W = LOFT_W.map((w, k) => w * (1 + (p.headWidth - 1) * LOFT_HEAD_W[k]) * (1 + (p.jawWidth - 1) * LOFT_JAW_W[k]));
  const F = LOFT_F.map((f, k) => f + p.chinProjection * LOFT_CHIN_F[k]);
  return {
    p,
    loftY,
    loftTables: [W, F, LOFT_DF, LOFT_DB],
    rx: 0.074 * p.headWidth,
    ryUp: 0.096 * p.crown,
    ryDown: 0.088,
    rzBack: 0.095 * p.headLength,
    jawY: -0.113 - p.chinLength,
    earX: 0.07 * p.headWidth,
  };
}

/** The mannequin (plain 'procedural'). */
export const NEUTRAL_SHAPE: HeadShape = compileShape(NEUTRAL_SHAPE_PARAMS);

/**
 * The primitives of the head's signed distance, before they are blended (labels.ts tells the
 * surface's parts apart by the nearest one): cranium, lower face (the loft cut by the jaw plane;
 * `loft` and `jawPlane` are its two sides), neck, ears (both, by |x|).
 */
export interface HeadParts {
  cranium: number;
  lowerFace: number;
  loft: number;
  jawPlane: number;
  neck: number;
  ear: number;
}

/** Signed distance (approximate, smooth) of the head without its facial relief. */
export function headSdf(x: number, y: number, z: number, s: HeadShape = NEUTRAL_SHAPE): number {
  const p = headParts(x, y, z, s);
  let d = p.cranium;
  d = smin(d, p.lowerFace, 0.025);
  d = smin(d, p.neck, 0.03);
  d = smin(d, p.ear, 0.008);
  return d;
}

/** The head's primitives at a point (modelling frame); headSdf blends them. */
export function headParts(x: number, y: number, z: number, s: HeadShape = NEUTRAL_SHAPE): HeadParts {
  const ax = Math.abs(x);
  // Cranium: round in top view (egg: narrower at the forehead), boxier in the
  // vertical direction (exponent 2.4) for an upright forehead and a flatter top;
  // shorter below its equator so the cheeks give way to the jaw.
  let d: number;
  let loft: number;
  let jawPlane: number;
  let lowerFace: number;
  let neck: number;
  {
    const narrow = 1 - 0.1 * smoothstep(-0.02, 0.1, z);
    const cx = x / (s.rx * narrow);
    const cy = y > 0.02 ? (y - 0.02) / s.ryUp : (0.02 - y) / s.ryDown;
    // The back of the head (z < -0.003) takes the head length; the forehead stays with the face.
    const cz = (z + 0.003) / (z > -0.003 ? 0.095 : s.rzBack);
    const q = 2.4;
    const f = Math.pow(Math.pow(cx * cx + cz * cz, q / 2) + Math.pow(cy, q), 1 / q);
    d = (f - 1) * 0.07;
  }
  // Lower face (cheeks, mouth, jaw, chin): a loft of horizontal egg-shaped
  // sections (half-width W, front at F, front/back half-depths Df/Db) whose
  // underside is cut by the jaw plane, rising from the chin to the jaw angles.
  {
    curvesAt(s.loftY, s.loftTables, y, loftScratch);
    const [W, F, Df, Db] = loftScratch;
    const zc = F - Df;
    const ex = x / W;
    const ez = (z - zc) / (z > zc ? Df : Db);
    loft = (Math.sqrt(ex * ex + ez * ez) - 1) * Math.min(W, Df);
    jawPlane = (s.jawY + 0.42 * Math.max(0, 0.075 - z) - y) / 1.09;
    lowerFace = smax(smax(loft, jawPlane, 0.014), y - 0.045, 0.02);
  }
  // Neck: a slightly forward-leaning cylinder (radius 0.054) cut flat at the
  // bottom; it narrows as it goes up into the head so its top stays hidden.
  {
    const nz = z + 0.02 + (y + 0.12) * 0.12; // the axis leans forward going up
    const r = 0.054 - 0.024 * smoothstep(-0.06, 0.03, y);
    const neckCyl = Math.sqrt(x * x * 1.05 + nz * nz) - r;
    neck = smax(smax(neckCyl, -0.152 - y, 0.012), y - 0.03, 0.01);
  }
  // Ears: flattened ellipsoids on both sides, with a shallow bowl (concha).
  // (Scaled about its centre by earSize: the distance of the scaled copy, k d(p / k).)
  const k = s.p.earSize;
  const ex = (ax - s.earX) / k;
  const ey = (y + 0.01) / k;
  const ez = (z + 0.022 + 0.15 * (y + 0.01)) / k; // tilted back at the top
  let ear = sdEllipsoid(ex, ey, ez, 0.011, 0.031, 0.018);
  ear = k * smax(ear, -sdEllipsoid(ex - 0.012, ey + 0.003, ez - 0.002, 0.007, 0.018, 0.01), 0.004);
  return { cranium: d, lowerFace, loft, jawPlane, neck, ear };
}

/** Outward unit normal of headSdf by central differences. */
export function headSdfNormal(x: number, y: number, z: number, s: HeadShape = NEUTRAL_SHAPE): [number, number, number] {
  const e = 2e-4;
  const gx = headSdf(x + e, y, z, s) - headSdf(x - e, y, z, s);
  const gy = headSdf(x, y + e, z, s) - headSdf(x, y - e, z, s);
  const gz = headSdf(x, y, z + e, s) - headSdf(x, y, z - e, s);
  const l = Math.hypot(gx, gy, gz) || 1;
  return [gx / l, gy / l, gz / l];
}

// ---------------------------------------------------------------------------
// Facial relief: displacement toward +Z (metres) as a function of (x, y)
// ---------------------------------------------------------------------------

/**
 * Vertical offset of the facial features: the relief and texture regions below
 * are laid out with the eyes at y = 0.03 and are shifted down by this much (so
 * the eyes sit at mid-height of the crown-to-chin span).
 */
export const FACE_DY = 0.021;

/**
 * The external nose's part of the relief (dorsum, tip, alae; not the broad base that melts into
 * the cheeks): faceRelief starts from it, labels.ts thresholds it.
 */
export function noseRelief(x: number, yModel: number, s: HeadShape = NEUTRAL_SHAPE): number {
  const y = yModel + FACE_DY;
  const ax = Math.abs(x);
  const { noseWidth: nw, noseProjection: np, noseLength: nl } = s.p;
  let h = 0;

  // Nose: a ridge from the nasion (y = 0.036) to the tip (y = 0), then the
  // underside back to the subnasale (y = -0.013). Height along the ridge, width
  // across it, with a smooth cross profile (1 - t^2)^2.
  // (noseLength lowers the tip and the base, noseProjection scales the heights, noseWidth the widths.)
  const yN = 0.036;
  const yT = -0.001 - nl;
  const yS = -0.014 - nl;
  if (y <= yN + 0.012 && y >= yS - 0.006) {
    // Dorsum rising from the nasion toward the tip, underside rising from the
    // subnasale; their smooth minimum rounds the tip.
    const td = Math.max(0, (yN + 0.012 - y) / (yN + 0.012 - yT));
    const dorsum = 0.025 * np * Math.pow(td, 1.25);
    const tu = Math.max(0, (y - (yS - 0.006)) / (yT - yS + 0.006));
    const under = 0.025 * np * (1.0 - (1 - Math.min(tu, 1.6)) ** 2) + 0.02 * np * Math.max(0, tu - 1);
    const ridge = Math.max(0, smin(dorsum, under, 0.012));
    const halfW = lerp(0.0095, 0.0165, clamp01(td)) * nw;
    const c = ax / halfW;
    if (c < 1) {
      const p = 1 - c * c;
      h += ridge * p * p;
    }
  }
  // Tip bulb and nostril wings (alae).
  h += 0.0025 * np * bump2(x, y, 0, yT + 0.001, 0.011 * nw, 0.01);
  h += 0.0095 * bump2(ax, y, 0.0125 * nw, -0.007 - nl, 0.0105 * nw, 0.0095);
  return h;
}

/** Nose, brows, eye sockets, cheekbones, lips... added along +Z on the face. */
export function faceRelief(x: number, yModel: number, s: HeadShape = NEUTRAL_SHAPE): number {
  const y = yModel + FACE_DY;
  const ax = Math.abs(x);
  const p = s.p;
  const e = p.eyeSpacing;
  let h = noseRelief(x, yModel, s);
  // Broad base so the nose sides melt into the cheeks.
  h += 0.004 * gauss2(x, y, 0, 0.01, 0.02, 0.026);

  // Nasion: the dip between the brows and the nose bridge.
  h -= 0.002 * gauss2(x, y, 0, 0.036, 0.012, 0.006);
  // Eye sockets (shallow) with the closed lids bulging over the eyeballs.
  h -= 0.011 * gauss2(ax, y, 0.031 + e, 0.031, 0.019, 0.0135);
  h += 0.0072 * gauss2(ax, y, 0.032 + e, 0.0285, 0.0125, 0.0078);
  // Brow ridge: an arc above each socket, plus the glabella between them.
  {
    const bx = 0.03 + e;
    const by = 0.0475 - 6.0 * (ax - bx) * (ax - bx);
    const along = smoothstep(0.004, 0.016, ax) * (1 - smoothstep(0.045 + e, 0.062 + e, ax));
    const dy = (y - by) / 0.008;
    h += 0.0045 * p.browRidge * along * Math.exp(-dy * dy);
  }
  h += 0.0025 * p.browRidge * gauss2(x, y, 0, 0.043, 0.012, 0.01);
  // Cheekbones.
  h += 0.0055 * p.cheekbones * gauss2(ax, y, 0.046 * p.headWidth, 0.004, 0.02, 0.015);
  // Temples (slight hollows) and sunken area under the cheekbones.
  h -= 0.003 * gauss2(ax, y, 0.062 * p.headWidth, 0.04, 0.014, 0.018);
  h -= 0.0022 * gauss2(ax, y, 0.048, -0.03, 0.013, 0.016);

  // Mouth: dental arch (muzzle), upper and lower lips, mouth line, philtrum.
  h += 0.0045 * gauss2(x, y, 0, -0.035, 0.03, 0.024);
  {
    // Upper lip vermilion: from y = -0.0285 to the mouth line at -0.038; a cupid's bow.
    const bow = 0.0018 * gauss2(ax, 0, 0.006, 0, 0.005, 1);
    // (mouthWidth scales the widths; lips the vermilion's height and relief about the mouth line.)
    const L = p.lips;
    const upW = 0.0245 * p.mouthWidth;
    const t = ax / upW;
    if (t < 1) {
      const across = (1 - t * t) * (1 - t * t);
      const dy = (y - (-0.0325 + bow * 0.4 + 0.006 * (L - 1))) / (0.0052 * L);
      h += 0.0035 * L * across * Math.exp(-dy * dy);
      const lowW = 0.0215 * p.mouthWidth;
      const t2 = Math.min(1, ax / lowW);
      const across2 = (1 - t2 * t2) * (1 - t2 * t2);
      const dy2 = (y - (-0.0445 - 0.006 * (L - 1))) / (0.0065 * L);
      h += 0.0042 * L * across2 * Math.exp(-dy2 * dy2);
      // Mouth line: a narrow groove between the lips.
      const dl = (y - (-0.0385 - 0.0012 * t * t)) / 0.0011;
      h -= 0.0022 * Math.sqrt(across) * Math.exp(-dl * dl);
    }
  }
  // Philtrum groove and its ridges.
  {
    const along = smoothstep(-0.03, -0.026, y) * (1 - smoothstep(-0.016, -0.012, y));
    h -= 0.0009 * along * Math.exp(-(x * x) / (0.0025 * 0.0025));
    const r = (ax - 0.0045) / 0.0018;
    h += 0.0005 * along * Math.exp(-r * r);
  }
  // Mentolabial sulcus (the crease above the chin) and the chin pad.
  h -= 0.0012 * gauss2(x, y, 0, -0.058 - 0.5 * p.chinLength, 0.016, 0.005);
  h += 0.0018 * gauss2(x, y, 0, -0.074 - 0.85 * p.chinLength, 0.015 * p.jawWidth, 0.01);
  // Nasolabial folds: grooves from the nose wings toward the mouth corners.
  {
    const f = segDist2(ax, y, 0.0215 * p.noseWidth, -0.009, 0.032 * p.mouthWidth, -0.04);
    const fade = Math.sin(Math.PI * clamp01(f.t * 1.05));
    const dd = f.d / 0.0045;
    h -= 0.0008 * fade * Math.exp(-dd * dd);
    // The cheek fullness on the outer side of the fold.
    const o = segDist2(ax, y, 0.029 * p.noseWidth, -0.008, 0.041 * p.mouthWidth, -0.043);
    const od = o.d / 0.007;
    h += 0.0016 * Math.sin(Math.PI * clamp01(o.t)) * Math.exp(-od * od);
  }
  return h;
}

/** Weight of the frontal relief from the base normal: full on the face, none at the sides. */
export function reliefWeight(nz: number, y: number, s: HeadShape = NEUTRAL_SHAPE): number {
  const c = s.p.chinLength;
  return smoothstep(0.25, 0.65, nz) * (1 - smoothstep(0.09, 0.11, y)) * smoothstep(-0.13 - c, -0.11 - c, y);
}

// Pure (no files): the skin pigment model every drawn head shares (the ICT identities,
// renderer/assets/ict/skin.ts, and the procedural people, renderer/assets/procedural-head/), so a
// skin parameter means the same colour on both and the dataset's ITA statistics compare them.
//
// Albedo: a two-layer pigment model per channel: reflectance = base * exp(-(M k_eu + P k_pheo +
// H k_hb)), melanin M from the tone parameter (0 very light .. 1 very dark), pheomelanin share p,
// haemoglobin H. ITA (individual typology angle) of the cheek albedo spans > 55 deg (tone 0) to
// < -30 deg (tone 1).
//
// The skin draw (drawSkinParams) is the sequence renderer/assets/ict/params.ts sampleIctParams
// draws from its 'skin' stream, value for value (test/procedural-head.test.ts checks that the two
// agree), with the same options (IctSkinSchema).
import type { Rng } from '../core/rng.js';
import type { IctSkinParams } from './ict/params.js';

const clamp01 = (x: number): number => (x < 0 ? 0 : x > 1 ? 1 : x);

// ---- colour science helpers ----

/** CIE L*a*b* (D65) of a linear sRGB colour. */
export function linearRgbToLab(r: number, g: number, b: number): [number, number, number] {
  const X = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
  const Y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  const Z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
  const f = (t: number) => (t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 * t + 16) / 116);
  const fx = f(X);
  const fy = f(Y);
  const fz = f(Z);
  return [116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)];
}

/** Individual typology angle (deg) of a linear sRGB colour: atan((L* - 50) / b*). */
export function itaDeg(r: number, g: number, b: number): number {
  const [L, , bb] = linearRgbToLab(r, g, b);
  return (Math.atan2(L - 50, bb) * 180) / Math.PI;
}

// ---- the pigment model ----

const BASE = [0.86, 0.74, 0.66];
const K_EU = [0.32, 0.52, 0.8];
const K_PHEO = [0.05, 0.18, 0.45];
const K_HB = [0.03, 0.42, 0.32];

/** Melanin concentration of a tone parameter (0..1). */
export function melaninOf(tone: number): number {
  // The floor keeps tone 0 at ITA ~69 deg (Fitzpatrick I, the top of measured ranges), not paper-white.
  return 0.3 + 6.82 * Math.pow(clamp01(tone), 1.6);
}

/** Linear albedo of skin with melanin M, pheomelanin share p and haemoglobin H. */
export function pigmentAlbedo(M: number, p: number, H: number, out: number[] = [0, 0, 0]): number[] {
  const eu = M * (1 - 0.35 * p);
  const ph = M * 0.35 * p + 0.25 * p;
  for (let c = 0; c < 3; c++) out[c] = BASE[c] * Math.exp(-(eu * K_EU[c] + ph * K_PHEO[c] + H * K_HB[c]));
  return out;
}

/** The skin parameters the colour depends on (a recorded skin draw has them all). */
export type SkinPigments = Pick<IctSkinParams, 'tone' | 'pheomelanin' | 'haemoglobin'>;

/** The cheek albedo of a skin draw (what the ITA statistics use). */
export function cheekAlbedo(s: SkinPigments): number[] {
  return pigmentAlbedo(melaninOf(s.tone), s.pheomelanin, 0.6 * s.haemoglobin);
}

/** ITA (deg) of a skin draw's cheek albedo. */
export function skinIta(s: SkinPigments): number {
  const [r, g, b] = cheekAlbedo(s);
  return itaDeg(r, g, b);
}

// ---- the draw ----

/** The skin options (renderer/assets/ict/params.ts IctSkinSchema, parsed). */
export interface SkinDrawOptions {
  /** U(lo, hi) range of the tone parameter. */
  tone: readonly [number, number];
  /** Probability of freckles (scaled by 1.3 - tone: more likely on light skin). */
  freckles: number;
}

/**
 * Draws one skin from a stream: tone ~ U(tone), haemoglobin ~ U(0.7, 1.3), pheomelanin ~ U(0, 1),
 * freckles (mostly on light skin), brow and lash darkness (darker with the tone), brow density,
 * T-zone oiliness and a texture noise seed. The same draws in the same order as
 * sampleIctParams's skin (its `rng.fork('skin')` stream).
 */
export function drawSkinParams(rSkin: Rng, o: SkinDrawOptions): IctSkinParams {
  const tone = rSkin.uniform(o.tone[0], o.tone[1]);
  const haemoglobin = rSkin.uniform(0.7, 1.3);
  const pheomelanin = rSkin.uniform(0, 1);
  // Freckles mostly on light skin.
  const freckleDraw = rSkin.next();
  const frecklesAmount = rSkin.uniform(0.3, 1);
  const freckles = freckleDraw < o.freckles * (1.3 - tone) ? frecklesAmount : 0;
  const browDarkness = clamp01(0.35 + 0.65 * tone + rSkin.uniform(-0.25, 0.45));
  const browDensity = rSkin.uniform(0.45, 1);
  const oiliness = rSkin.uniform(0.2, 1);
  const noiseSeed = rSkin.nextUint32();
  const lashDarkness = clamp01(0.6 + 0.4 * browDarkness + rSkin.uniform(-0.15, 0.15));
  return { tone, haemoglobin, pheomelanin, freckles, browDarkness, browDensity, oiliness, lashDarkness, noiseSeed };
}

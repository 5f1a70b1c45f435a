// Procedural head: the painted face layout (lip borders, mouth line, brow arcs, lash line) as
// curves of |x| in the face frame (y = yModel + FACE_DY, eyes at y = 0.03, metres). The albedo
// (textures.ts regions), the label map (labels.ts) and the landmarks (landmarks.ts) all read
// these, so a painted lip or brow is a labelled one and its landmarks sit on its borders.
// Each takes the head's shape (default the mannequin's; shape.ts HeadShape): the mouth's width
// and the lips' height, the eyes' spacing, the brows' height and thickness.

import { clamp01, lerp, smoothstep } from './noise.js';
import { NEUTRAL_SHAPE, type HeadShape } from './shape.js';

/** The line between the closed lips. */
export function mouthLineY(ax: number, s: HeadShape = NEUTRAL_SHAPE): number {
  return -0.0385 - 0.0012 * (ax / (0.024 * s.p.mouthWidth)) ** 2;
}

/** The upper border of the upper lip's vermilion (a cupid's bow with a dip at the midline). */
export function upperLipY(ax: number, s: HeadShape = NEUTRAL_SHAPE): number {
  const mw = s.p.mouthWidth;
  const tu = clamp01(ax / (0.0255 * mw));
  return mouthLineY(ax, s) + 0.0078 * s.p.lips * Math.pow(1 - tu * tu, 0.55) + 0.0011 * Math.exp(-(((ax - 0.0055 * mw) / (0.0035 * mw)) ** 2)) - 0.0008 * Math.exp(-((ax / (0.0025 * mw)) ** 2));
}

/** The lower border of the lower lip's vermilion. */
export function lowerLipY(ax: number, s: HeadShape = NEUTRAL_SHAPE): number {
  const tl = clamp01(ax / (0.0235 * s.p.mouthWidth));
  return mouthLineY(ax, s) - 0.0092 * s.p.lips * Math.pow(1 - tl * tl, 0.65);
}

/** Where the painted lips fade to half at the mouth corners (1 - smoothstep(0.022, 0.027, |x|) = 0.5, scaled by the mouth width). */
export const LIP_CORNER_AX = 0.0245;
export const lipCornerAx = (s: HeadShape = NEUTRAL_SHAPE): number => LIP_CORNER_AX * s.p.mouthWidth;
/** The lip colour's fade toward the corners. */
export const lipCornerFade = (ax: number, s: HeadShape = NEUTRAL_SHAPE): number => 1 - smoothstep(0.022 * s.p.mouthWidth, 0.027 * s.p.mouthWidth, ax);

/** Centre line of the brow arc. */
export function browCentreY(ax: number, s: HeadShape = NEUTRAL_SHAPE): number {
  const e = s.p.eyeSpacing;
  return 0.0478 - 5.5 * (ax - (0.031 + e)) * (ax - (0.031 + e)) + 0.05 * Math.max(0, 0.02 + e - ax) ** 2 + s.p.browHeight;
}

/** Half-thickness of the brow: thick at its head (toward the nose), thin at the tail. */
export function browHalfThickness(ax: number, s: HeadShape = NEUTRAL_SHAPE): number {
  const e = s.p.eyeSpacing;
  return lerp(0.0048, 0.0018, smoothstep(0.014 + e, 0.057 + e, ax)) * s.p.browThickness;
}

/** The brow's extent in |x| (where its fades are at half). */
export const BROW_AX: readonly [number, number] = [0.0115, 0.0545];
export const browAx = (s: HeadShape = NEUTRAL_SHAPE): [number, number] => [BROW_AX[0] + s.p.eyeSpacing, BROW_AX[1] + s.p.eyeSpacing];

/** The lash line of the closed lids: |x| from the inner to the outer corner. */
export const LASH_AX: readonly [number, number] = [0.019, 0.046];
export const lashAx = (s: HeadShape = NEUTRAL_SHAPE): [number, number] => [LASH_AX[0] + s.p.eyeSpacing, LASH_AX[1] + s.p.eyeSpacing];

/** Height of the lash line (its parameter t = -1 at the inner corner, +1 at the outer). */
export function lashLineY(ax: number, s: HeadShape = NEUTRAL_SHAPE): number {
  const t = (ax - (0.0325 + s.p.eyeSpacing)) / 0.0135;
  return 0.0262 - 0.0022 * (1 - Math.min(1, t * t)) + 0.001 * t;
}

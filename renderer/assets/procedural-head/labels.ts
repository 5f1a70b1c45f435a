// Procedural head: the semantic parsing class of a surface point (labels.png, in the UV layout
// of the other maps). Painted regions are thresholded where their paint is at half strength
// (lips, brows: textures.ts regions, so a painted brow is a labelled brow); the rest comes from
// the geometry: the external nose from its relief, the ears and neck from the primitive of the
// signed distance nearest the surface (shape.ts headParts), the jaw's underside as neck. The
// closed eyes are lids (skin): there is no eyeball. +X is the subject's left.

import { labelId } from '../../core/labels.js';
import { FACE_DY, NEUTRAL_SHAPE, headParts, noseRelief, type HeadShape } from './shape.js';
import { mouthLineY } from './layout.js';

export const PROCEDURAL_LABEL_IDS = {
  skin: labelId('skin'),
  nose: labelId('nose'),
  leftBrow: labelId('left_brow'),
  rightBrow: labelId('right_brow'),
  leftEar: labelId('left_ear'),
  rightEar: labelId('right_ear'),
  upperLip: labelId('upper_lip'),
  lowerLip: labelId('lower_lip'),
  neck: labelId('neck'),
} as const;

const ID = PROCEDURAL_LABEL_IDS;

/**
 * The nose is where its own relief stands at least this high (metres) off the face, a bar that
 * rises above the eyes (face frame y, eyes at 0.03) so the bridge ends, rounded, at the nasion
 * (y ~ 0.035): the glabella above it is skin.
 */
export function noseMinRelief(y: number): number {
  return 0.0015 + 0.4 * Math.max(0, y - 0.027);
}

/** The painted regions the label reads (textures.ts regions, 0..1). */
export interface LabelRegions {
  front: number;
  lips: number;
  brows: number;
}

/** Label id of a surface point (modelling frame, metres) with its painted regions, on a head of shape `s` (default the mannequin). */
export function proceduralLabel(x: number, yModel: number, z: number, r: LabelRegions, s: HeadShape = NEUTRAL_SHAPE): number {
  const ax = Math.abs(x);
  const y = yModel + FACE_DY;
  if (r.lips >= 0.5) return y >= mouthLineY(ax, s) ? ID.upperLip : ID.lowerLip;
  if (r.brows >= 0.5) return x > 0 ? ID.leftBrow : ID.rightBrow;
  if (r.front >= 0.5 && y < 0.04 && noseRelief(x, yModel, s) >= noseMinRelief(y)) return ID.nose;
  const p = headParts(x, yModel, z, s);
  const rest = Math.min(p.cranium, p.lowerFace, p.neck);
  // The ear shell (and its fillet up to half-way) where the ear is the nearest primitive.
  if (ax > 0.05 && p.ear < rest) return x > 0 ? ID.leftEar : ID.rightEar;
  // The neck: its cylinder is the nearest primitive, or the jaw plane cuts the lower face
  // (the underside of the jaw and chin, down to the throat).
  if (p.neck < Math.min(p.cranium, p.lowerFace)) return ID.neck;
  if (p.lowerFace < p.cranium && p.jawPlane > p.loft && yModel < -0.06 - s.p.chinLength) return ID.neck;
  return ID.skin;
}

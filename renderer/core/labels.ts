// The semantic parsing classes of segmentation.png (shared by Node, the page and the dashboard).
// Ids 0-14 are FaceSynthetics' (Wood et al. 2021) so its label maps and ours mean the same
// numbers; finer classes it lacks (iris, eyelashes, teeth) take ids from 19 up and name the coarse
// class they fold into (`coarse`), so a training loader can merge them (e.g. for eq. 6 of the
// video paper with CelebAMask-HQ's classes). Left/right are the subject's own sides (the canonical
// frame's +X is the subject's left); check another dataset's side convention before merging.

export interface SegmentationLabel {
  id: number;
  name: string;
  /** sRGB colour for previews and the dashboard overlay. */
  color: [number, number, number];
  /** FaceSynthetics class name with the same id (null: none). */
  faceSynthetics: string | null;
  /** CelebAMask-HQ class name (null: none). */
  celebAMaskHQ: string | null;
  /** The class this one folds into for a coarser table (its own id when it is coarse). */
  coarse: number;
}

const L = (id: number, name: string, color: [number, number, number], faceSynthetics: string | null, celebAMaskHQ: string | null, coarse = id): SegmentationLabel => ({
  id,
  name,
  color,
  faceSynthetics,
  celebAMaskHQ,
  coarse,
});

export const SEGMENTATION_LABELS: readonly SegmentationLabel[] = [
  L(0, 'background', [0, 0, 0], 'BACKGROUND', 'background'),
  L(1, 'skin', [204, 153, 120], 'SKIN', 'skin'),
  L(2, 'nose', [255, 170, 60], 'NOSE', 'nose'),
  L(3, 'right_eye', [60, 160, 255], 'RIGHT_EYE', 'r_eye'),
  L(4, 'left_eye', [0, 220, 220], 'LEFT_EYE', 'l_eye'),
  L(5, 'right_brow', [120, 60, 20], 'RIGHT_BROW', 'r_brow'),
  L(6, 'left_brow', [170, 100, 40], 'LEFT_BROW', 'l_brow'),
  L(7, 'right_ear', [140, 220, 80], 'RIGHT_EAR', 'r_ear'),
  L(8, 'left_ear', [80, 170, 40], 'LEFT_EAR', 'l_ear'),
  L(9, 'mouth_interior', [120, 0, 40], 'MOUTH_INTERIOR', 'mouth'),
  L(10, 'upper_lip', [230, 40, 80], 'TOP_LIP', 'u_lip'),
  L(11, 'lower_lip', [255, 100, 140], 'BOTTOM_LIP', 'l_lip'),
  L(12, 'neck', [150, 110, 200], 'NECK', 'neck'),
  L(13, 'hair', [90, 60, 30], 'HAIR', 'hair'),
  L(14, 'beard', [60, 40, 20], 'BEARD', null),
  L(19, 'right_iris', [0, 60, 200], null, null, 3),
  L(20, 'left_iris', [0, 120, 120], null, null, 4),
  L(21, 'eyelashes', [40, 40, 40], null, null, 1),
  L(22, 'teeth', [250, 250, 220], null, null, 9),
];

export type SegmentationLabelName = 'background' | 'skin' | 'nose' | 'right_eye' | 'left_eye' | 'right_brow' | 'left_brow' | 'right_ear' | 'left_ear' | 'mouth_interior' | 'upper_lip' | 'lower_lip' | 'neck' | 'hair' | 'beard' | 'right_iris' | 'left_iris' | 'eyelashes' | 'teeth';

const BY_NAME = new Map(SEGMENTATION_LABELS.map((l) => [l.name, l]));

/** The id of a class name; throws naming the known ones. */
export function labelId(name: string): number {
  const l = BY_NAME.get(name);
  if (!l) throw new Error(`unknown segmentation label "${name}" (known: ${SEGMENTATION_LABELS.map((x) => x.name).join(', ')})`);
  return l.id;
}

export const LABEL_NAMES: readonly string[] = SEGMENTATION_LABELS.map((l) => l.name);

/** The class a part kind gets when its head names none ('skin' for unknown kinds). */
export function defaultLabelForKind(kind: string): SegmentationLabelName {
  switch (kind) {
    case 'teeth':
      return 'teeth';
    case 'mouth':
      return 'mouth_interior';
    case 'lashes':
      return 'eyelashes';
    case 'hair':
      return 'hair';
    default:
      return 'skin';
  }
}

// Skin-tone bins of a dataset, owned once: the ITA (individual typology angle) bins the dataset
// card's histogram uses (renderer/pipelines/batch/finalize.ts) and the server's sample index and
// filters (server/dataset-index.ts), and the ITA of a recorded skin draw (sample.json
// head.params.skin: an ICT identity's or a procedural person's, drawn with the same model,
// renderer/assets/skin-model.ts) computed the way the card does (cheek albedo -> CIE L*a*b* -> ITA).
import { skinIta, type SkinPigments } from '../assets/skin-model.js';

export interface ItaBin {
  /** lower bound, degrees (inclusive; -Infinity for the last bin) */
  lo: number;
  /** upper bound, degrees (exclusive; Infinity for the first bin) */
  hi: number;
  name: string;
}

/** ITA (individual typology angle) bins of the card's skin-tone histogram, degrees, with the usual skin-type names. */
export const ITA_BINS: readonly ItaBin[] = [
  { lo: 55, hi: Infinity, name: 'very light' },
  { lo: 41, hi: 55, name: 'light' },
  { lo: 28, hi: 41, name: 'intermediate' },
  { lo: 10, hi: 28, name: 'tan' },
  { lo: -30, hi: 10, name: 'brown' },
  { lo: -Infinity, hi: -30, name: 'dark' },
];

/** The name of samples whose skin was not drawn (no head.params.skin): not in any bin. */
export const UNKNOWN_SKIN_TONE = 'unknown';

/** The bin of an ITA value (degrees); null for a value that is not a finite number. */
export function itaBin(ita: number): ItaBin | null {
  if (!Number.isFinite(ita)) return null;
  return ITA_BINS.find((b) => ita >= b.lo && ita < b.hi) ?? null;
}

/**
 * ITA (degrees) of a recorded skin draw (sample.json head.params.skin of an ICT identity or a
 * procedural person), or null when `skin` is not one (absent, or without finite tone /
 * pheomelanin / haemoglobin): the same cheek albedo the card's histogram uses.
 */
export function itaOfSkin(skin: unknown): number | null {
  if (!skin || typeof skin !== 'object') return null;
  const s = skin as Partial<Record<keyof SkinPigments, unknown>>;
  const fin = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  if (!fin(s.tone) || !fin(s.pheomelanin) || !fin(s.haemoglobin)) return null;
  const v = skinIta({ tone: s.tone, pheomelanin: s.pheomelanin, haemoglobin: s.haemoglobin });
  return Number.isFinite(v) ? v : null;
}

/** ITA (degrees) of a sample's recorded head draw (sample.json head.params, any source), or null without a skin. */
export function itaOfHeadParams(params: unknown): number | null {
  return params && typeof params === 'object' ? itaOfSkin((params as { skin?: unknown }).skin) : null;
}

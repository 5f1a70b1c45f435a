// segmentation: the semantic parsing label of the surface at each pixel centre, 8-bit ids of the
// table in core/labels.ts (dataset.json "segmentation" lists it), 0 = background. Point-sampled
// like depth and normal (one surface per pixel, no blending of classes), so it agrees with them;
// the rare pixel the mask covers fully whose centre missed (a thin lash card at a
// silhouette: MSAA samples hit it, the centre did not) takes its neighbours' class, so every
// covered pixel has one.
import type { PassDefinition } from './types.js';
import { requireMode, encodePngFile } from './util.js';
import { SEGMENTATION_LABELS } from '../../core/labels.js';

const KNOWN = new Set(SEGMENTATION_LABELS.map((l) => l.id));

export const segmentationPass: PassDefinition = {
  name: 'segmentation',
  description: 'Semantic parsing class per pixel (8-bit label ids, table in dataset.json "segmentation"); 0 off the head',
  requires: ['label'],
  async encode(ctx) {
    const src = requireMode(ctx, 'label', 'segmentation');
    const data = new Uint8Array(ctx.width * ctx.height);
    for (let p = 0; p < data.length; p++) {
      const id = Math.round(src[p]);
      // An id outside the table is a renderer bug (a filtered label map, a stale shader): refuse
      // to write it rather than teach a network a class that does not exist.
      if (!KNOWN.has(id)) throw new Error(`segmentation: pixel ${p % ctx.width},${Math.floor(p / ctx.width)} has label ${src[p]}, not in core/labels.ts`);
      data[p] = id;
    }
    fillCovered(data, ctx.mask, ctx.width, ctx.height);
    const bytes = await encodePngFile('segmentation.png', data, { width: ctx.width, height: ctx.height, channels: 1, bitDepth: 8 });
    return [{ pass: 'segmentation', file: 'segmentation.png', format: 'png', channels: ['Y'], pixelType: 'uint8', description: this.description, bytes }];
  },
};

/** Pixels with mask >= 0.99 and no label: the most common non-background label of their 8 neighbours. */
export function fillCovered(labels: Uint8Array, mask: Float32Array, W: number, H: number): number {
  let filled = 0;
  const src = labels.slice();
  const votes = new Map<number, number>();
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const p = y * W + x;
      if (src[p] !== 0 || mask[p] < 0.99) continue;
      votes.clear();
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          const yy = y + dy;
          if (xx < 0 || yy < 0 || xx >= W || yy >= H) continue;
          const v = src[yy * W + xx];
          if (v) votes.set(v, (votes.get(v) ?? 0) + 1);
        }
      }
      let best = 0;
      let n = 0;
      for (const [v, c] of votes) if (c > n || (c === n && v < best)) [best, n] = [v, c];
      if (best) {
        labels[p] = best;
        filled++;
      }
    }
  }
  return filled;
}

// A sample's renders must agree before they are written as one sample: every lighting of a batch
// sample (and input/target of a sequence frame) shares head and camera, so their masks must match.
// Used by the batch engine, sequences and render-one (an empty mask = nothing written).

/** Pixels whose coverage differs by more than `threshold` (default 0.02). */
export function maskMismatch(a: Float32Array, b: Float32Array, threshold = 0.02): number {
  if (a.length !== b.length) return Math.max(a.length, b.length);
  let n = 0;
  for (let i = 0; i < a.length; i++) if (Math.abs(a[i] - b[i]) > threshold) n++;
  return n;
}

function coverage(m: Float32Array): number {
  let s = 0;
  for (let i = 0; i < m.length; i++) s += m[i];
  return s;
}

/**
 * Silhouette pixels of a mask `width` wide: partly covered, or covered with an uncovered
 * 4-neighbour (or the reverse), dilated by one pixel (8-neighbourhood). A raster-level change of
 * the same silhouette stays inside this band; lost geometry does not.
 */
function silhouetteBand(m: Float32Array, width: number): Uint8Array {
  const n = m.length;
  const h = Math.max(1, Math.floor(n / width));
  const on = (x: number, y: number) => m[y * width + x] > 0.5;
  const edge = new Uint8Array(n);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      const v = m[p];
      if (v > 0 && v < 1) edge[p] = 1;
      else {
        const c = on(x, y);
        if ((x > 0 && on(x - 1, y) !== c) || (x + 1 < width && on(x + 1, y) !== c) || (y > 0 && on(x, y - 1) !== c) || (y + 1 < h && on(x, y + 1) !== c)) edge[p] = 1;
      }
    }
  }
  const band = new Uint8Array(n);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < width; x++) {
      if (!edge[y * width + x]) continue;
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
        const xx = x + dx;
        const yy = y + dy;
        if (xx >= 0 && xx < width && yy >= 0 && yy < h) band[yy * width + xx] = 1;
      }
    }
  }
  return band;
}

export interface MaskCheckOptions {
  /** Image width in pixels (default: the mask is one row). */
  width?: number;
  /** MSAA of the mask draw (default 1): coverage moves in steps of 1/msaa. */
  msaa?: number;
}

/**
 * All lightings of a sample share head and camera, so their masks must agree. A render that lost
 * the head (or part of it) has less coverage: the lighting with the most coverage is the reference
 * and every lighting whose mask differs from it is bad; no coverage at all makes every one bad.
 * A differing pixel is one whose coverage moved by at least half an MSAA step. Tolerances follow
 * the image: differences off the reference's silhouette band (lost geometry) may be at most
 * max(2, 1e-4 of the pixels); on the band (a raster-level change of the same outline, which also
 * covers heads only a few pixels big) at most a quarter of the band; and a render may not lose
 * half the reference's coverage.
 */
export function findInconsistentRenders(masks: Float32Array[], opts: MaskCheckOptions = {}): { bad: number[]; reason: string } {
  const cov = masks.map(coverage);
  let ref = 0;
  for (let n = 1; n < cov.length; n++) if (cov[n] > cov[ref]) ref = n;
  if (!(cov[ref] > 0)) return { bad: masks.map((_, n) => n), reason: 'the head is not visible (empty mask)' };
  const R = masks[ref];
  const threshold = 0.5 / Math.max(1, opts.msaa ?? 1) - 1e-3;
  const band = silhouetteBand(R, Math.max(1, Math.min(R.length, opts.width ?? R.length)));
  let bandSize = 0;
  for (const b of band) bandSize += b;
  const tolInterior = Math.max(2, Math.ceil(1e-4 * R.length));
  const tolBand = Math.max(2, Math.ceil(bandSize / 4));
  const bad: number[] = [];
  const diffs: string[] = [];
  for (let n = 0; n < masks.length; n++) {
    if (n === ref) continue;
    const m = masks[n];
    if (m.length !== R.length) {
      bad.push(n);
      diffs.push(`${m.length} vs ${R.length} px in all`);
      continue;
    }
    let inner = 0;
    let edge = 0;
    for (let p = 0; p < R.length; p++) {
      if (Math.abs(m[p] - R[p]) <= threshold) continue; // NaN counts as a difference
      if (band[p]) edge++;
      else inner++;
    }
    // Half the coverage gone is a lost head even when it is small enough to be all silhouette.
    if (inner > tolInterior || edge > tolBand || cov[n] < 0.5 * cov[ref]) {
      bad.push(n);
      diffs.push(`${inner + edge} px, ${inner} off the silhouette`);
    }
  }
  return {
    bad,
    reason: bad.length
      ? `mask differs from the fullest lighting's (${diffs.join('; ')}; tolerance ${tolInterior} px off / ${tolBand} px on the ${bandSize} px silhouette band; coverage ${cov.map((c) => (c / R.length).toFixed(3)).join(' / ')})`
      : '',
  };
}

// Area-weighted vertex normals. Isomorphic: no Node APIs, no DOM.

/**
 * Adds every triangle's face normal (e1 x e2 with e1 = p1 - p0, e2 = p2 - p0: length = twice its
 * area, so the sum is area-weighted) to its three corners' slots in `out` (3 per slot), in corner
 * order. `slot` maps a vertex to the slot it accumulates in (a welded seam, say); identity by
 * default. Normalise afterwards.
 */
export function accumulateFaceNormals(p: ArrayLike<number>, tris: ArrayLike<number>, out: Float64Array, slot: (v: number) => number = (v) => v): void {
  for (let t = 0; t < tris.length; t += 3) {
    const i0 = tris[t] * 3;
    const i1 = tris[t + 1] * 3;
    const i2 = tris[t + 2] * 3;
    const e1x = p[i1] - p[i0];
    const e1y = p[i1 + 1] - p[i0 + 1];
    const e1z = p[i1 + 2] - p[i0 + 2];
    const e2x = p[i2] - p[i0];
    const e2y = p[i2 + 1] - p[i0 + 1];
    const e2z = p[i2 + 2] - p[i0 + 2];
    const nx = e1y * e2z - e1z * e2y;
    const ny = e1z * e2x - e1x * e2z;
    const nz = e1x * e2y - e1y * e2x;
    for (const v of [tris[t], tris[t + 1], tris[t + 2]]) {
      const o = slot(v) * 3;
      out[o] += nx;
      out[o + 1] += ny;
      out[o + 2] += nz;
    }
  }
}

// Procedural head mesh: a warped UV sphere projected onto the signed-distance head along
// rays from an interior point, then displaced by the frontal relief (see index.ts for the
// frames and the UV convention). A drawn person's shape (options.ts) enters the signed distance
// and the relief; its `size` scales the centred positions (the modelling-frame grid, which the
// textures and labels read, stays unscaled).

import { DETAILS, resolveOptions, type ProceduralHeadOptions } from './options.js';
import { headSdf, headSdfNormal, faceRelief, reliefWeight, type HeadShape } from './shape.js';
import { accumulateFaceNormals } from '../../core/mesh-normals.js';

/** Interior point the vertices are projected from (modelling frame). */
const RAY_ORIGIN: [number, number, number] = [0, -0.015, 0.0];
/** Azimuth warp: more columns on the face (da/ds = 1 - AZ_WARP at the front). */
export const AZ_WARP = 0.35;
/** Polar warp: more rows around the face band (dθ/dt = 1 - POLAR_WARP at the equator). */
const POLAR_WARP = 0.25;

/** Azimuth for u in [0,1]: 0 at u = 0.5 (+Z, the face), ±π at the seam (-Z). */
export function azimuthForU(u: number): number {
  const s = Math.PI * (2 * u - 1);
  return s - AZ_WARP * Math.sin(s);
}
/** Polar angle from +Y for v in [0,1]: 0 at the crown (v = 0), π at the neck (v = 1). */
export function polarForV(v: number): number {
  const t = Math.PI * v;
  return t + 0.5 * POLAR_WARP * Math.sin(2 * t);
}

export interface ProceduralHeadMesh {
  nLon: number;
  nLat: number;
  /** Final vertex positions in the canonical frame (bbox centre at the origin). */
  positions: Float32Array;
  normals: Float32Array;
  uvs: Float32Array;
  indices: Uint16Array | Uint32Array;
  /** Grid positions in the modelling frame (before centring), (nLat+1) x (nLon+1) x 3, float64. */
  gridModel: Float64Array;
  /** Unit normals per grid vertex, float64. */
  gridNormals: Float64Array;
  /** Modelling-frame point that became the origin (bbox centre). */
  offset: [number, number, number];
  /** positions = (grid - offset) * scale (the shape's size; 1 for the mannequin). */
  scale: number;
  /** The shape the mesh was built from. */
  shape: HeadShape;
  bboxMin: [number, number, number];
  bboxMax: [number, number, number];
}

function castToSurface(dx: number, dy: number, dz: number, s: HeadShape): number {
  // Outermost surface along the ray: start well outside and march inward with a
  // conservative sphere-tracing step, then refine the sign change by bisection.
  const [ox, oy, oz] = RAY_ORIGIN;
  let tOut = 0.25;
  let t = tOut;
  if (headSdf(ox + dx * t, oy + dy * t, oz + dz * t, s) <= 0) throw new Error('procedural head: shape exceeds the ray start');
  for (;;) {
    const d = headSdf(ox + dx * t, oy + dy * t, oz + dz * t, s);
    if (d <= 0) break;
    tOut = t;
    t -= Math.max(d * 0.6, 2e-4);
    if (t <= 0) throw new Error('procedural head: ray missed the surface');
  }
  let lo = t; // inside
  let hi = tOut; // outside
  for (let i = 0; i < 24; i++) {
    const mid = 0.5 * (lo + hi);
    if (headSdf(ox + dx * mid, oy + dy * mid, oz + dz * mid, s) > 0) hi = mid;
    else lo = mid;
  }
  return 0.5 * (lo + hi);
}

export function buildProceduralHeadMesh(opts?: ProceduralHeadOptions): ProceduralHeadMesh {
  const { detail, shape } = resolveOptions(opts);
  const { nLon, nLat } = DETAILS[detail];
  const scale = shape.p.size;
  const cols = nLon + 1;
  const rows = nLat + 1;
  const nv = cols * rows;
  const grid = new Float64Array(nv * 3);

  // Base surface along rays, then the facial relief toward +Z.
  for (let i = 0; i < rows; i++) {
    const theta = polarForV(i / nLat);
    const st = Math.sin(theta);
    const ct = Math.cos(theta);
    const pole = i === 0 || i === nLat;
    let poleP: number[] | undefined;
    for (let j = 0; j < cols; j++) {
      const o = (i * cols + j) * 3;
      if (j === nLon) {
        // Seam column duplicates column 0 exactly.
        grid[o] = grid[i * cols * 3];
        grid[o + 1] = grid[i * cols * 3 + 1];
        grid[o + 2] = grid[i * cols * 3 + 2];
        continue;
      }
      if (pole && poleP) {
        grid.set(poleP, o);
        continue;
      }
      const a = azimuthForU(j / nLon);
      const dx = pole ? 0 : st * Math.sin(a);
      const dy = pole ? Math.sign(ct) : ct;
      const dz = pole ? 0 : st * Math.cos(a);
      const t = castToSurface(dx, dy, dz, shape);
      let x = RAY_ORIGIN[0] + dx * t;
      const y = RAY_ORIGIN[1] + dy * t;
      let z = RAY_ORIGIN[2] + dz * t;
      if (!pole) {
        const n = headSdfNormal(x, y, z, shape);
        const w = reliefWeight(n[2], y, shape);
        if (w > 0) z += w * faceRelief(x, y, shape);
      }
      x = x === 0 ? 0 : x; // no -0 (keeps bytes stable across symmetric paths)
      grid[o] = x;
      grid[o + 1] = y;
      grid[o + 2] = z;
      if (pole) poleP = [x, y, z];
    }
  }

  // Triangles: quads (a, c, d) + (a, d, b), a = (i, j), b = (i, j+1), c = (i+1, j),
  // d = (i+1, j+1). u grows to the right and v downward as seen from outside,
  // so this is counter-clockwise from outside. One triangle per quad at the poles.
  const triCount = 2 * nLon * nLat - 2 * nLon;
  const indices = nv < 65536 ? new Uint16Array(triCount * 3) : new Uint32Array(triCount * 3);
  let k = 0;
  for (let i = 0; i < nLat; i++) {
    for (let j = 0; j < nLon; j++) {
      const a = i * cols + j;
      const b = a + 1;
      const c = a + cols;
      const d = c + 1;
      if (i === 0) {
        indices[k++] = a; indices[k++] = c; indices[k++] = d;
      } else if (i === nLat - 1) {
        indices[k++] = a; indices[k++] = c; indices[k++] = b;
      } else {
        indices[k++] = a; indices[k++] = c; indices[k++] = d;
        indices[k++] = a; indices[k++] = d; indices[k++] = b;
      }
    }
  }

  // Smooth normals: area-weighted face normals accumulated on the welded
  // topology (seam column = column 0, each pole = one vertex), then copied out.
  const weld = (idx: number): number => {
    const i = Math.floor(idx / cols);
    const j = idx - i * cols;
    if (i === 0 || i === nLat) return i * cols;
    return j === nLon ? i * cols : idx;
  };
  const acc = new Float64Array(nv * 3);
  accumulateFaceNormals(grid, indices, acc, weld);
  const gridNormals = new Float64Array(nv * 3);
  for (let v = 0; v < nv; v++) {
    const w = weld(v) * 3;
    const l = Math.hypot(acc[w], acc[w + 1], acc[w + 2]) || 1;
    gridNormals[v * 3] = acc[w] / l;
    gridNormals[v * 3 + 1] = acc[w + 1] / l;
    gridNormals[v * 3 + 2] = acc[w + 2] / l;
  }

  // Centre on the bbox centre.
  const mn = [Infinity, Infinity, Infinity];
  const mx = [-Infinity, -Infinity, -Infinity];
  for (let v = 0; v < nv; v++) {
    for (let c = 0; c < 3; c++) {
      const p = grid[v * 3 + c];
      if (p < mn[c]) mn[c] = p;
      if (p > mx[c]) mx[c] = p;
    }
  }
  const offset: [number, number, number] = [0, (mn[1] + mx[1]) / 2, (mn[2] + mx[2]) / 2];
  // x is symmetric by construction; keep it exactly 0 so the mesh stays mirror-exact.
  const positions = new Float32Array(nv * 3);
  const normals = new Float32Array(nv * 3);
  const uvs = new Float32Array(nv * 2);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const v = i * cols + j;
      positions[v * 3] = (grid[v * 3] - offset[0]) * scale;
      positions[v * 3 + 1] = (grid[v * 3 + 1] - offset[1]) * scale;
      positions[v * 3 + 2] = (grid[v * 3 + 2] - offset[2]) * scale;
      normals[v * 3] = gridNormals[v * 3];
      normals[v * 3 + 1] = gridNormals[v * 3 + 1];
      normals[v * 3 + 2] = gridNormals[v * 3 + 2];
      // Pole vertices sit at the middle of their column so each fan triangle maps sensibly.
      const pole = i === 0 || i === nLat;
      uvs[v * 2] = pole ? Math.min(1, (j + 0.5) / nLon) : j / nLon;
      uvs[v * 2 + 1] = i / nLat;
    }
  }
  return {
    nLon,
    nLat,
    positions,
    normals,
    uvs,
    indices,
    gridModel: grid,
    gridNormals,
    offset,
    scale,
    shape,
    bboxMin: [(mn[0] - offset[0]) * scale, (mn[1] - offset[1]) * scale, (mn[2] - offset[2]) * scale],
    bboxMax: [(mx[0] - offset[0]) * scale, (mx[1] - offset[1]) * scale, (mx[2] - offset[2]) * scale],
  };
}

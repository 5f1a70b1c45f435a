// Node-only. Conventions of a raw head scan read from its geometry: the unit (scaleToMetres), the
// up axis and the facing axis that bring it into the canonical frame (metres, +Y up, face toward
// +Z; renderer/core/frame.ts). Used by scan folders (scan-folder.ts) for the fields their
// template leaves out. Nothing here guesses silently: when the evidence is weak the detector
// throws a ScanConventionError that names the file and the template field to set.
//
// How (every measure is scale-free, on area-weighted surface samples, so tessellation density
// does not vote):
//  - left-right axis: the axis across which the surface is most mirror-symmetric (voxel
//    occupancy, 1-voxel tolerance, mirror planes searched within 18 degrees of the axis);
//  - facing: of the four directions left (two axes, two signs), the one whose extreme is the
//    sharpest protrusion: the nose. The patch of surface within NOSE_DEPTH of the extreme,
//    connected to it, spans ~2-3 cm at a nose; the crown and the back of the skull are domes
//    (8 cm and more), and a patch that reaches the mesh's open boundary is a cut (neck, chest),
//    never a nose;
//  - up: along the remaining axis, two votes that must agree: the cross-sections beside the nose
//    (the cranium above is larger than the jaw and neck below) and the ends of the axis (the
//    bottom is the cut, or else the wider end; the crown is a closed dome);
//  - unit: the one of m, cm, mm, inch that puts the largest bounding-box extent in HEAD_EXTENT_M
//    and the front-back depth (along the facing axis) in HEAD_DEPTH_M (the depth ranges of the
//    units do not overlap: hi/lo < 2.54), so a scan in another unit is refused, not rescaled.
// Measured (test/scan-folder.test.ts and a sweep): the procedural head, the Lee Perry-Smith scan
// and an ICT identity right in all 24 axis orientations; 74 ICT identities in 4 orientations
// and units: 292 right, 4 refused (one identity: no clear nose), none wrong; copies tilted 5-25
// degrees about each axis: right or refused, never wrong (pitch beyond ~10 degrees is mostly
// refused: the nose is no longer the extreme).
import fs from 'node:fs';
import path from 'node:path';
import type { Axis } from '../core/frame.js';
import { readAccessor, type Gltf } from './mesh-check.js';

/** Bumped when a rule changes: part of the scan descriptors' cache key. */
export const SCAN_DETECTOR_VERSION = 1;

/** Plausible largest bounding-box extent of a head scan (a head alone up to a bust with shoulders), metres. */
export const HEAD_EXTENT_M: readonly [number, number] = [0.16, 0.6];
/**
 * Plausible front-back depth (nose tip to the back of the head or shoulders), metres. hi/lo <
 * 2.54 (inch/cm), so at most one unit fits a scan.
 */
export const HEAD_DEPTH_M: readonly [number, number] = [0.15, 0.32];

const inRange = (v: number, [lo, hi]: readonly [number, number]) => v >= lo && v <= hi;

/** Units a scan may be stored in, metres per file unit. */
export const SCAN_UNITS: readonly { name: string; metres: number }[] = [
  { name: 'm', metres: 1 },
  { name: 'cm', metres: 0.01 },
  { name: 'mm', metres: 0.001 },
  { name: 'inch', metres: 0.0254 },
];

/** Evidence thresholds (see the header). */
const SYMMETRY_MARGIN = 0.06; // best left-right mirror score minus the runner-up
const NOSE_RATIO = 1.8; // runner-up protrusion spread / the nose's
const NOSE_DEPTH = 0.025; // how far behind an extreme the protrusion is measured, fraction of the largest extent
const UP_RATIO = 1.12; // larger / smaller mean cross-section beside the nose
const ENDS_RATIO = 1.1; // wider / narrower end of the up axis (protrusion spread)
const GRID = 48; // voxels along the largest extent (symmetry)
const TILT_DEG = 18; // mirror planes searched within this angle of an axis
const TILT_STEP_DEG = 6;
const SAMPLES = 80_000; // surface samples

export type ConventionField = 'scaleToMetres' | 'upAxis' | 'facing';

/** Detection failed or was ambiguous: `file` and the template `fields` to set are named in the message. */
export class ScanConventionError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly fields: ConventionField[],
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------
// reading positions and triangles (world space: glTF node transforms of the loaded scene applied)

export interface MeshGeometry {
  /** xyz per vertex, file units */
  positions: Float64Array;
  /** triangle vertex indices (may be empty: a point cloud) */
  triangles: Uint32Array;
}


interface GltfJson {
  scene?: number;
  scenes?: { nodes?: number[] }[];
  nodes?: { mesh?: number; children?: number[]; matrix?: number[]; translation?: number[]; rotation?: number[]; scale?: number[] }[];
  meshes?: { primitives: { attributes: Record<string, number>; indices?: number; mode?: number }[] }[];
  accessors?: { bufferView?: number; byteOffset?: number; componentType: number; count: number; type: string; normalized?: boolean }[];
  bufferViews?: { buffer: number; byteOffset?: number; byteLength: number; byteStride?: number }[];
  buffers?: { uri?: string; byteLength: number }[];
}

function nodeMatrix(n: NonNullable<GltfJson['nodes']>[number]): number[] {
  if (n.matrix && n.matrix.length === 16) return n.matrix;
  const [tx, ty, tz] = n.translation ?? [0, 0, 0];
  const [qx, qy, qz, qw] = n.rotation ?? [0, 0, 0, 1];
  const [sx, sy, sz] = n.scale ?? [1, 1, 1];
  const r = [
    1 - 2 * (qy * qy + qz * qz), 2 * (qx * qy + qz * qw), 2 * (qx * qz - qy * qw),
    2 * (qx * qy - qz * qw), 1 - 2 * (qx * qx + qz * qz), 2 * (qy * qz + qx * qw),
    2 * (qx * qz + qy * qw), 2 * (qy * qz - qx * qw), 1 - 2 * (qx * qx + qy * qy),
  ];
  return [r[0] * sx, r[1] * sx, r[2] * sx, 0, r[3] * sy, r[4] * sy, r[5] * sy, 0, r[6] * sz, r[7] * sz, r[8] * sz, 0, tx, ty, tz, 1];
}

function mul4(a: number[], b: number[]): number[] {
  const o = new Array<number>(16).fill(0);
  for (let c = 0; c < 4; c++) for (let r = 0; r < 4; r++) for (let k = 0; k < 4; k++) o[c * 4 + r] += a[k * 4 + r] * b[c * 4 + k];
  return o;
}

function readGltf(file: string, buf: Buffer): MeshGeometry {
  const isGlb = path.extname(file).toLowerCase() === '.glb';
  let json: GltfJson;
  let bin: Buffer | null = null;
  if (isGlb) {
    if (buf.length < 20 || buf.readUInt32LE(0) !== 0x46546c67) throw new Error('not a GLB file (bad magic)');
    const jsonLen = buf.readUInt32LE(12);
    json = JSON.parse(buf.subarray(20, 20 + jsonLen).toString('utf8'));
    const binHeader = 20 + ((jsonLen + 3) & ~3);
    if (binHeader + 8 <= buf.length) bin = buf.subarray(binHeader + 8, binHeader + 8 + buf.readUInt32LE(binHeader));
  } else {
    json = JSON.parse(buf.toString('utf8'));
  }
  const buffers = (json.buffers ?? []).map((b): Buffer => {
    if (b.uri === undefined) {
      if (!bin) throw new Error('a buffer has no uri and there is no BIN chunk');
      return bin;
    }
    const m = /^data:[^,]*;base64,(.*)$/s.exec(b.uri);
    if (m) return Buffer.from(m[1], 'base64');
    return fs.readFileSync(path.resolve(path.dirname(file), decodeURIComponent(b.uri)));
  });
  const nodes = json.nodes ?? [];
  // The scene a loader shows (glTF: `scene`, else the first); without scenes, every root node.
  let roots: number[];
  if (json.scenes?.length) roots = json.scenes[json.scene ?? 0]?.nodes ?? [];
  else {
    const child = new Set(nodes.flatMap((n) => n.children ?? []));
    roots = nodes.map((_, i) => i).filter((i) => !child.has(i));
  }
  const pos: number[] = [];
  const tri: number[] = [];
  const visit = (ni: number, parent: number[], depth: number) => {
    const n = nodes[ni];
    if (!n || depth > 64) return;
    const m = mul4(parent, nodeMatrix(n));
    if (n.mesh !== undefined) {
      for (const prim of json.meshes?.[n.mesh]?.primitives ?? []) {
        if (prim.attributes.POSITION === undefined) continue;
        const p = readAccessor(json as unknown as Gltf, buffers, prim.attributes.POSITION, 'mesh');
        const base = pos.length / 3;
        for (let i = 0; i < p.count; i++) {
          const x = p.values[i * 3];
          const y = p.values[i * 3 + 1];
          const z = p.values[i * 3 + 2];
          pos.push(m[0] * x + m[4] * y + m[8] * z + m[12], m[1] * x + m[5] * y + m[9] * z + m[13], m[2] * x + m[6] * y + m[10] * z + m[14]);
        }
        if ((prim.mode ?? 4) !== 4) continue;
        if (prim.indices !== undefined) {
          const idx = readAccessor(json as unknown as Gltf, buffers, prim.indices, 'mesh').values;
          for (let i = 0; i + 2 < idx.length; i += 3) tri.push(base + idx[i], base + idx[i + 1], base + idx[i + 2]);
        } else for (let i = 0; i + 2 < p.count; i += 3) tri.push(base + i, base + i + 1, base + i + 2);
      }
    }
    for (const c of n.children ?? []) visit(c, m, depth + 1);
  };
  const identity = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
  for (const r of roots) visit(r, identity, 0);
  return { positions: Float64Array.from(pos), triangles: Uint32Array.from(tri) };
}

function readObj(text: string): MeshGeometry {
  const pos: number[] = [];
  const tri: number[] = [];
  for (const line of text.split('\n')) {
    const c0 = line.charCodeAt(0);
    if (c0 !== 118 /* v */ && c0 !== 102 /* f */) continue;
    const parts = line.trim().split(/\s+/);
    if (parts[0] === 'v') pos.push(Number(parts[1]), Number(parts[2]), Number(parts[3]));
    else if (parts[0] === 'f') {
      const nv = pos.length / 3;
      const ids = parts.slice(1).map((p) => {
        const k = Number(p.split('/')[0]);
        return k < 0 ? nv + k : k - 1;
      });
      for (let i = 1; i + 1 < ids.length; i++) tri.push(ids[0], ids[i], ids[i + 1]);
    }
  }
  const nv = pos.length / 3;
  const ok = tri.every((i) => Number.isInteger(i) && i >= 0 && i < nv);
  return { positions: Float64Array.from(pos), triangles: ok ? Uint32Array.from(tri) : new Uint32Array(0) };
}

/** Positions (world space of the loaded scene) and triangles of a .glb, .gltf or .obj file. */
export function readMeshGeometry(file: string, buf: Buffer = fs.readFileSync(file)): MeshGeometry {
  const ext = path.extname(file).toLowerCase();
  try {
    const g = ext === '.obj' ? readObj(buf.toString('utf8')) : readGltf(file, buf);
    if (g.positions.length === 0) throw new Error('no vertex positions');
    for (const v of g.positions) if (!Number.isFinite(v)) throw new Error('non-finite vertex positions');
    return g;
  } catch (err) {
    throw new Error(`scan ${file}: cannot read the mesh's positions: ${(err as Error).message}`, { cause: err });
  }
}

// ---------------------------------------------------------------------------------------------
// measures

/** Surface samples (xyz each) and the mesh's cut. */
export interface Samples {
  points: Float64Array;
  /** vertices on the mesh's open boundary (edges of one triangle, after welding equal positions): where a scan is cut */
  boundary: Float64Array;
}

/**
 * The vertices of `g` on an open boundary: edges used by exactly one triangle once vertices at
 * the same position are welded (glTF splits vertices at UV seams; a seam is not a cut).
 */
export function boundaryVertices(g: MeshGeometry): Float64Array {
  const P = g.positions;
  const T = g.triangles;
  const nv = P.length / 3;
  const b = boundsOf(P);
  const q = Math.max(...b.extent) * 1e-6;
  const id = new Uint32Array(nv);
  const seen = new Map<string, number>();
  for (let v = 0; v < nv; v++) {
    const key = `${Math.round(P[v * 3] / q)},${Math.round(P[v * 3 + 1] / q)},${Math.round(P[v * 3 + 2] / q)}`;
    let k = seen.get(key);
    if (k === undefined) {
      k = v;
      seen.set(key, v);
    }
    id[v] = k;
  }
  const edges = new Map<number, number>();
  const edgeKey = (a: number, c: number) => (a < c ? a * nv + c : c * nv + a);
  for (let t = 0; t < T.length; t += 3) {
    for (let e = 0; e < 3; e++) {
      const a = id[T[t + e]];
      const c = id[T[t + ((e + 1) % 3)]];
      if (a === c) continue;
      const k = edgeKey(a, c);
      edges.set(k, (edges.get(k) ?? 0) + 1);
    }
  }
  const on = new Set<number>();
  for (const [k, n] of edges) {
    if (n !== 1) continue;
    on.add(Math.floor(k / nv));
    on.add(k % nv);
  }
  const out = new Float64Array(on.size * 3);
  let i = 0;
  for (const v of on) {
    out[i++] = P[v * 3];
    out[i++] = P[v * 3 + 1];
    out[i++] = P[v * 3 + 2];
  }
  return out;
}

/** Area-weighted deterministic surface samples (the vertices of a point cloud). */
export function surfaceSamples(g: MeshGeometry, target = SAMPLES): Samples {
  const P = g.positions;
  const T = g.triangles;
  const nt = T.length / 3;
  if (nt === 0) return { points: P, boundary: new Float64Array(0) };
  const areas = new Float64Array(nt);
  let total = 0;
  for (let t = 0; t < nt; t++) {
    const a = T[t * 3] * 3;
    const b = T[t * 3 + 1] * 3;
    const c = T[t * 3 + 2] * 3;
    const ux = P[b] - P[a], uy = P[b + 1] - P[a + 1], uz = P[b + 2] - P[a + 2];
    const vx = P[c] - P[a], vy = P[c + 1] - P[a + 1], vz = P[c + 2] - P[a + 2];
    const cx = uy * vz - uz * vy, cy = uz * vx - ux * vz, cz = ux * vy - uy * vx;
    areas[t] = 0.5 * Math.sqrt(cx * cx + cy * cy + cz * cz);
    total += areas[t];
  }
  if (!(total > 0)) return { points: P, boundary: new Float64Array(0) };
  const pts: number[] = [];
  let carry = 0;
  let seq = 0;
  for (let t = 0; t < nt; t++) {
    carry += (areas[t] / total) * target;
    const k = Math.floor(carry);
    carry -= k;
    // k points of an R2 low-discrepancy sequence folded into the triangle; triangles smaller
    // than a sample carry their share to the next (neighbours in practice), so the samples stay
    // area-weighted however finely a region is tessellated.
    if (k === 0) continue;
    const a = T[t * 3] * 3;
    const b = T[t * 3 + 1] * 3;
    const c = T[t * 3 + 2] * 3;
    for (let s = 0; s < k; s++) {
      seq++;
      let r1 = (0.5 + seq * 0.7548776662466927) % 1;
      let r2 = (0.5 + seq * 0.5698402909980532) % 1;
      if (r1 + r2 > 1) {
        r1 = 1 - r1;
        r2 = 1 - r2;
      }
      for (let d = 0; d < 3; d++) pts.push(P[a + d] + r1 * (P[b + d] - P[a + d]) + r2 * (P[c + d] - P[a + d]));
    }
  }
  return { points: Float64Array.from(pts), boundary: boundaryVertices(g) };
}

export interface Bounds {
  min: [number, number, number];
  max: [number, number, number];
  extent: [number, number, number];
}

export function boundsOf(P: Float64Array): Bounds {
  const min: [number, number, number] = [Infinity, Infinity, Infinity];
  const max: [number, number, number] = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < P.length; i += 3) {
    for (let d = 0; d < 3; d++) {
      const v = P[i + d];
      if (v < min[d]) min[d] = v;
      if (v > max[d]) max[d] = v;
    }
  }
  return { min, max, extent: [max[0] - min[0], max[1] - min[1], max[2] - min[2]] };
}

/**
 * Mirror symmetry per axis, in [0, 1]: the fraction of occupied voxels (GRID along the largest
 * extent) whose mirror image is occupied within one voxel, for the best mirror plane whose
 * normal lies within TILT_DEG of the axis (a scan posed slightly turned or tilted) and whose
 * offset lies near the occupied voxels' centroid.
 */
export function mirrorSymmetry(samples: Samples, b: Bounds): [number, number, number] {
  const S = samples.points;
  const h = Math.max(...b.extent) / GRID;
  const n = b.extent.map((e) => Math.max(1, Math.ceil(e / h) + 1)) as [number, number, number];
  const occ = new Uint8Array(n[0] * n[1] * n[2]);
  const at = (i: number, j: number, k: number) => (i * n[1] + j) * n[2] + k;
  for (let p = 0; p < S.length; p += 3) {
    const i = Math.min(n[0] - 1, Math.floor((S[p] - b.min[0]) / h));
    const j = Math.min(n[1] - 1, Math.floor((S[p + 1] - b.min[1]) / h));
    const k = Math.min(n[2] - 1, Math.floor((S[p + 2] - b.min[2]) / h));
    occ[at(i, j, k)] = 1;
  }
  // One-voxel dilation (26-neighbourhood) for the tolerance; occupied voxel centres (grid units).
  const dil = new Uint8Array(occ.length);
  const cells: number[] = [];
  for (let i = 0; i < n[0]; i++)
    for (let j = 0; j < n[1]; j++)
      for (let k = 0; k < n[2]; k++) {
        if (!occ[at(i, j, k)]) continue;
        cells.push(i + 0.5, j + 0.5, k + 0.5);
        for (let a = Math.max(0, i - 1); a <= Math.min(n[0] - 1, i + 1); a++)
          for (let c = Math.max(0, j - 1); c <= Math.min(n[1] - 1, j + 1); c++)
            for (let e = Math.max(0, k - 1); e <= Math.min(n[2] - 1, k + 1); e++) dil[at(a, c, e)] = 1;
      }
  const count = cells.length / 3;
  const centroid = [0, 0, 0];
  for (let c = 0; c < cells.length; c += 3) for (let d = 0; d < 3; d++) centroid[d] += cells[c + d] / count;
  const out: [number, number, number] = [0, 0, 0];
  const steps: number[] = [];
  for (let t = -TILT_DEG; t <= TILT_DEG + 1e-9; t += TILT_STEP_DEG) steps.push((t * Math.PI) / 180);
  for (let axis = 0; axis < 3; axis++) {
    const [p, q] = [0, 1, 2].filter((a) => a !== axis);
    let best = 0;
    for (const tp of steps)
      for (const tq of steps) {
        const nrm = [0, 0, 0];
        nrm[axis] = 1;
        nrm[p] = Math.tan(tp);
        nrm[q] = Math.tan(tq);
        const len = Math.hypot(nrm[0], nrm[1], nrm[2]);
        for (let d = 0; d < 3; d++) nrm[d] /= len;
        const d0 = nrm[0] * centroid[0] + nrm[1] * centroid[1] + nrm[2] * centroid[2];
        for (let off = -6; off <= 6; off++) {
          const plane = d0 + off * 0.5;
          let hit = 0;
          for (let c = 0; c < cells.length; c += 3) {
            const x = cells[c], y = cells[c + 1], z = cells[c + 2];
            const t2 = 2 * (nrm[0] * x + nrm[1] * y + nrm[2] * z - plane);
            const i = Math.floor(x - t2 * nrm[0]);
            const j = Math.floor(y - t2 * nrm[1]);
            const k = Math.floor(z - t2 * nrm[2]);
            if (i < 0 || j < 0 || k < 0 || i >= n[0] || j >= n[1] || k >= n[2]) continue;
            hit += dil[at(i, j, k)];
          }
          if (hit > best) best = hit;
        }
      }
    out[axis] = best / count;
  }
  return out;
}

/**
 * How sharply the surface protrudes toward (axis, sign): the larger span (across the two other
 * axes) of the patch of samples within NOSE_DEPTH (of the largest extent) of the extreme and
 * connected to it, as a fraction of the smallest extent; whether that patch reaches the mesh's
 * open boundary (`cut`: the rim of a neck or chest cut, never a nose); and the extreme. The nose
 * tip spans ~2-3 cm; the crown, the back of the skull and a capped cut 8 cm or more.
 */
export function protrusion(s: Samples, b: Bounds, axis: number, sign: 1 | -1): { spread: number; cut: boolean; tip: [number, number, number] } {
  const S = s.points;
  let best = -Infinity;
  let at = -1;
  for (let p = 0; p < S.length; p += 3) {
    const v = sign * S[p + axis];
    if (v > best) {
      best = v;
      at = p;
    }
  }
  if (at < 0) return { spread: Infinity, cut: false, tip: [0, 0, 0] };
  // The samples within the depth, on a grid across the two other axes; the spread is that of the
  // tip's 8-connected patch (so the lips or brows, separate from the nose, do not widen it).
  const big = Math.max(...b.extent);
  const lim = best - NOSE_DEPTH * big;
  const o = [0, 1, 2].filter((x) => x !== axis);
  const cell = big / 200;
  const np = Math.ceil(b.extent[o[0]] / cell) + 1;
  const nq = Math.ceil(b.extent[o[1]] / cell) + 1;
  const mark = new Uint8Array(np * nq);
  const cellOf = (p: number) => Math.floor((S[p + o[1]] - b.min[o[1]]) / cell) * np + Math.floor((S[p + o[0]] - b.min[o[0]]) / cell);
  for (let p = 0; p < S.length; p += 3) if (sign * S[p + axis] >= lim) mark[cellOf(p)] = 1;
  // Open-boundary vertices within the depth: a patch that reaches one is a cut, not a tip.
  const B = s.boundary;
  for (let p = 0; p < B.length; p += 3) {
    if (sign * B[p + axis] < lim) continue;
    const i = Math.min(np - 1, Math.max(0, Math.floor((B[p + o[0]] - b.min[o[0]]) / cell)));
    const j = Math.min(nq - 1, Math.max(0, Math.floor((B[p + o[1]] - b.min[o[1]]) / cell)));
    mark[j * np + i] = 3;
  }
  const start = cellOf(at);
  let cut = mark[start] === 3;
  const stack = [start];
  mark[start] = 2;
  let lo0 = Infinity, hi0 = -Infinity, lo1 = Infinity, hi1 = -Infinity;
  while (stack.length) {
    const c = stack.pop()!;
    const i = c % np;
    const j = (c - i) / np;
    lo0 = Math.min(lo0, i);
    hi0 = Math.max(hi0, i);
    lo1 = Math.min(lo1, j);
    hi1 = Math.max(hi1, j);
    // Neighbours up to 2 cells away: a sampling gap of one cell does not split a patch.
    for (let dj = -2; dj <= 2; dj++)
      for (let di = -2; di <= 2; di++) {
        const a = i + di;
        const e = j + dj;
        if (a < 0 || e < 0 || a >= np || e >= nq) continue;
        const k = e * np + a;
        if (mark[k] === 3) cut = true;
        else if (mark[k] === 1) {
          mark[k] = 2;
          stack.push(k);
        }
      }
  }
  const spread = ((Math.max(hi0 - lo0, hi1 - lo1) + 1) * cell) / Math.min(...b.extent);
  return { spread, cut, tip: [S[at], S[at + 1], S[at + 2]] };
}

/**
 * Mean cross-section (span along `lr` x span along `fb`, 2nd-98th percentile, as a fraction of
 * the largest extent squared) of slabs along `ax` on each side of `h0` within `band` (file
 * units): [below (toward -ax), above (toward +ax)].
 */
export function sideSections(samples: Samples, b: Bounds, ax: number, lr: number, fb: number, h0: number, band: number): [number, number] {
  const S = samples.points;
  const SLABS = 6;
  const big = Math.max(...b.extent);
  const slabs: { u: number[]; v: number[] }[][] = [[], []];
  for (let s = 0; s < 2; s++) for (let i = 0; i < SLABS; i++) slabs[s].push({ u: [], v: [] });
  for (let p = 0; p < S.length; p += 3) {
    const d = S[p + ax] - h0;
    const side = d < 0 ? 0 : 1;
    const i = Math.floor((Math.abs(d) / band) * SLABS);
    if (i >= SLABS) continue;
    slabs[side][i].u.push(S[p + lr]);
    slabs[side][i].v.push(S[p + fb]);
  }
  const span = (a: number[]) => {
    if (a.length < 8) return 0;
    const s = Float64Array.from(a).sort();
    return s[Math.floor(s.length * 0.98)] - s[Math.floor(s.length * 0.02)];
  };
  return slabs.map((side) => side.reduce((acc, sl) => acc + (span(sl.u) * span(sl.v)) / (big * big), 0) / SLABS) as [number, number];
}

// ---------------------------------------------------------------------------------------------
// the detector

export interface ConventionEvidence {
  /** bbox extent per axis, file units */
  extent: [number, number, number];
  unit?: string;
  /** extent along the facing axis, file units (the unit check) */
  depth?: number;
  /** mirror symmetry per axis X, Y, Z */
  symmetry?: [number, number, number];
  /** protrusion spread per candidate facing direction, fraction of the smallest extent (the nose: the smallest) */
  protrusion?: Record<string, number | 'cut'>;
  /** up votes: mean cross-sections below / above the nose, and the protrusion spread of the -up / +up ends */
  sections?: [number, number];
  ends?: [number | 'cut', number | 'cut'];
}

export interface DetectedConventions {
  scaleToMetres: number;
  upAxis: Axis;
  facing: Axis;
  /** which fields were detected (the others were given) */
  detected: ConventionField[];
  evidence: ConventionEvidence;
}

const AXES = 'XYZ';
const axisName = (axis: number, sign: number): Axis => `${sign > 0 ? '+' : '-'}${AXES[axis]}` as Axis;
const parseAxis = (a: Axis): [number, 1 | -1] => [AXES.indexOf(a[1]), a[0] === '-' ? -1 : 1];
const f3 = (v: readonly number[]) => v.map((x) => x.toFixed(3)).join(', ');
const r4 = (x: number) => Number(x.toFixed(4));

/**
 * The conventions of the mesh in `file` (`geometry` when already read): given fields are kept,
 * the others detected. Throws ScanConventionError (file and template fields named) when the
 * evidence is ambiguous.
 */
export function detectScanConventions(file: string, given: { scaleToMetres?: number; upAxis?: Axis; facing?: Axis } = {}, geometry?: MeshGeometry): DetectedConventions {
  const g = geometry ?? readMeshGeometry(file);
  const S = surfaceSamples(g);
  const b = boundsOf(S.points);
  const big = Math.max(...b.extent);
  const small = Math.min(...b.extent);
  const evidence: ConventionEvidence = { extent: b.extent };
  const detected: ConventionField[] = [];
  const refuse = (what: string, fields: ConventionField[]): never => {
    const set = fields.map((f) => `template.${f}`).join(' and ');
    throw new ScanConventionError(`scan ${file}: ${what}; set ${set} for this folder (or give the scan its own head.json)`, file, fields);
  };
  if (!(big > 0) || !(small > big * 1e-3)) refuse(`the mesh is flat or empty (extents ${f3(b.extent)})`, ['scaleToMetres', 'upAxis', 'facing']);

  let up = given.upAxis ? parseAxis(given.upAxis) : undefined;
  let face = given.facing ? parseAxis(given.facing) : undefined;
  if (up && face && up[0] === face[0]) refuse(`template upAxis ${given.upAxis} and facing ${given.facing} must be perpendicular`, ['upAxis', 'facing']);

  // The left-right axis: the one across which the surface is mirror-symmetric.
  let lr: number | undefined;
  const leftRight = (candidates: number[], fields: ConventionField[]): number => {
    const sym = (evidence.symmetry ??= mirrorSymmetry(S, b).map(r4) as [number, number, number]);
    const ranked = [...candidates].sort((x, y) => sym[y] - sym[x]);
    if (!(sym[ranked[0]] - sym[ranked[1]] >= SYMMETRY_MARGIN)) {
      refuse(
        `cannot tell the left-right axis: the mesh is about as mirror-symmetric across ${ranked.map((x) => `${AXES[x]} (${sym[x].toFixed(3)})`).join(' as across ')} (a face is symmetric across one axis only)`,
        fields,
      );
    }
    return ranked[0];
  };
  let tip: [number, number, number] | undefined;
  if (!face) {
    // The nose: the sharpest protrusion among the directions that are neither up/down nor left/right.
    if (!up) lr = leftRight([0, 1, 2], ['upAxis', 'facing']);
    const dirs: [number, 1 | -1][] = [];
    for (const x of [0, 1, 2]) if (x !== lr && x !== up?.[0]) dirs.push([x, 1], [x, -1]);
    const tips = dirs.map(([x, s]) => protrusion(S, b, x, s));
    // A patch that reaches the mesh's open boundary is a cut (the neck or chest), never a nose.
    const spread = tips.map((t) => (t.cut ? Infinity : t.spread));
    evidence.protrusion = Object.fromEntries(dirs.map(([x, s], i) => [axisName(x, s), tips[i].cut ? 'cut' : r4(spread[i])]));
    const order = spread.map((_, i) => i).sort((i, j) => spread[i] - spread[j]);
    const ratio = spread[order[1]] / spread[order[0]];
    if (!(ratio >= NOSE_RATIO)) {
      refuse(
        `no clear nose: the sharpest protrusions (${order
          .slice(0, 2)
          .map((i) => `toward ${axisName(...dirs[i])} ${(spread[i] * 100).toFixed(0)}%`)
          .join(', ')} of the smallest extent wide) differ by ${ratio.toFixed(2)}x (a nose is >= ${NOSE_RATIO}x narrower than the crown, the back of the head or a cut)`,
        [...(!up ? ['upAxis' as const] : []), 'facing'],
      );
    }
    face = dirs[order[0]];
    tip = tips[order[0]].tip;
    detected.push('facing');
  }
  if (!up) {
    const f = face;
    lr ??= leftRight([0, 1, 2].filter((x) => x !== f[0]), ['upAxis']);
    const axis = 3 - lr - f[0];
    tip ??= protrusion(S, b, f[0], f[1]).tip;
    // Two votes that must agree: the cross-sections beside the nose (the cranium above, the jaw
    // and neck below), and the ends of the axis (the crown is a dome, narrower than the neck or
    // shoulder cut). Each alone is fooled by a head tilted 20 degrees chin-up; together they
    // refuse it.
    const h0 = tip[axis];
    const band = Math.min(0.25 * b.extent[axis], h0 - b.min[axis], b.max[axis] - h0);
    let sec: [number, number] = [0, 0];
    if (band > 0.05 * b.extent[axis]) sec = sideSections(S, b, axis, lr, f[0], h0, band);
    evidence.sections = [r4(sec[0]), r4(sec[1])];
    // A cut end (the open boundary of the neck or chest) is the bottom; else the narrower end is the crown.
    const endTips = [protrusion(S, b, axis, -1), protrusion(S, b, axis, 1)];
    const ends = endTips.map((t) => (t.cut ? Infinity : t.spread)) as [number, number];
    evidence.ends = endTips.map((t) => (t.cut ? 'cut' : r4(t.spread))) as [number | 'cut', number | 'cut'];
    const secRatio = Math.max(sec[0], sec[1]) / Math.max(Math.min(sec[0], sec[1]), 1e-12);
    const endRatio = ends[0] === ends[1] ? 1 : Math.max(ends[0], ends[1]) / Math.max(Math.min(ends[0], ends[1]), 1e-12);
    const votes: number[] = [secRatio >= UP_RATIO ? (sec[1] > sec[0] ? 1 : -1) : 0, endRatio >= ENDS_RATIO ? (ends[1] < ends[0] ? 1 : -1) : 0];
    if (votes[0] === 0 || votes[0] !== votes[1]) {
      const says = (v: number) => (v === 0 ? 'nothing' : v > 0 ? `+${AXES[axis]}` : `-${AXES[axis]}`);
      refuse(
        `cannot tell up from down along ${AXES[axis]}: the cross-sections beside the nose (below/above ${f3(sec)}, ratio ${secRatio.toFixed(2)}, a vote from ${UP_RATIO}) say ${says(votes[0])}, the ends of the axis (spread ${evidence.ends.map((e) => (typeof e === 'number' ? e.toFixed(3) : e)).join(', ')}, ratio ${endRatio.toFixed(2)}, a vote from ${ENDS_RATIO}) say ${says(votes[1])}`,
        ['upAxis'],
      );
    }
    up = [axis, votes[0] > 0 ? 1 : -1];
    detected.push('upAxis');
  }

  // Unit: the one that makes both the largest extent and the front-back depth (along the facing
  // axis: nose tip to the back of the head) a head's. The depth ranges of the units do not
  // overlap, so at most one fits; a scan in some other unit (or a face-only mask) fits none.
  let scaleToMetres = given.scaleToMetres;
  if (scaleToMetres === undefined) {
    const depth = b.extent[face[0]];
    const fits = SCAN_UNITS.filter((u) => inRange(big * u.metres, HEAD_EXTENT_M) && inRange(depth * u.metres, HEAD_DEPTH_M));
    evidence.depth = depth;
    if (fits.length !== 1) {
      const as = SCAN_UNITS.map((u) => `${u.name}: ${(big * u.metres).toPrecision(3)} m / ${(depth * u.metres).toPrecision(3)} m`).join(', ');
      refuse(
        `cannot tell the unit: the largest extent is ${big.toPrecision(4)} file units and the depth along ${axisName(face[0], face[1])} (nose to back) ${depth.toPrecision(4)} (as ${as}); a head scan is ${HEAD_EXTENT_M.join('-')} m across and ${HEAD_DEPTH_M.join('-')} m deep, and ${fits.length ? `${fits.map((u) => u.name).join(' and ')} both fit` : 'no unit fits'}`,
        ['scaleToMetres'],
      );
    }
    scaleToMetres = fits[0].metres;
    evidence.unit = fits[0].name;
    detected.push('scaleToMetres');
  }
  return { scaleToMetres, upAxis: axisName(up[0], up[1]), facing: axisName(face[0], face[1]), detected, evidence };
}

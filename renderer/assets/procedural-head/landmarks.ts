// Procedural head: its 68 Multi-PIE landmarks (iBUG 300-W order) on the generated mesh, and the
// mesh helpers that place them: a frontal (orthographic, along -Z) depth map of a triangle mesh,
// a ray cast onto the frontmost surface, and the face's contour as seen from the front. The
// helpers take plain arrays (any mesh in a +Y up, +Z facing frame; scripts/make-scan-labels.ts
// uses them for the Lee Perry-Smith scan).
//
// The features come from the face layout the albedo paints (layout.ts: lash lines, brow arcs, lip
// borders, mouth line) and from the relief (the nose tip is the most forward point of the
// midline); each landmark is that (x, y) cast onto the mesh along -Z, so it lies on the surface.
// The jaw (0-16) is the face's frontal contour: where the surface turns away from the front
// (normal z below CONTOUR_MIN_NZ) or steps back (the chin over the neck), from eye height on the
// subject's right, round the chin, to eye height on the left, in equal arc lengths.

import { FACE_DY } from './shape.js';
import { browAx as browExtent, browCentreY, browHalfThickness, lashAx, lashLineY, lipCornerAx, lowerLipY, mouthLineY, upperLipY } from './layout.js';
import type { ProceduralHeadMesh } from './mesh.js';

export type Vec3 = [number, number, number];

export interface FrontalMap {
  W: number;
  H: number;
  /** x, y of pixel (0, 0)'s centre; pixel (i, j) is at (x0 + i res, y0 + j res) (j up). */
  x0: number;
  y0: number;
  res: number;
  /** Frontmost surface z per pixel (NaN: no surface). */
  z: Float32Array;
  /** The z component of that surface's unit normal (interpolated vertex normals when given, else the face's). */
  nz: Float32Array;
  /** That surface's triangle (index into the triangle list; -1: none) and barycentrics (weights of its 1st and 2nd vertex). */
  tri: Int32Array;
  bary: Float32Array;
}

/** Orthographic depth map of a mesh seen from +Z (nearest = largest z), `res` metres (mesh units) per pixel. */
export function frontalDepthMap(positions: ArrayLike<number>, indices: ArrayLike<number>, res: number, normals?: ArrayLike<number>): FrontalMap {
  let mnx = Infinity, mxx = -Infinity, mny = Infinity, mxy = -Infinity;
  for (let i = 0; i < positions.length; i += 3) {
    mnx = Math.min(mnx, positions[i]);
    mxx = Math.max(mxx, positions[i]);
    mny = Math.min(mny, positions[i + 1]);
    mxy = Math.max(mxy, positions[i + 1]);
  }
  const x0 = mnx - res;
  const y0 = mny - res;
  const W = Math.ceil((mxx - mnx) / res) + 3;
  const H = Math.ceil((mxy - mny) / res) + 3;
  const z = new Float32Array(W * H).fill(NaN);
  const nz = new Float32Array(W * H);
  const tri = new Int32Array(W * H).fill(-1);
  const bary = new Float32Array(W * H * 2);
  for (let t = 0; t < indices.length; t += 3) {
    const a = indices[t] * 3;
    const b = indices[t + 1] * 3;
    const c = indices[t + 2] * 3;
    const xs = [(positions[a] - x0) / res, (positions[b] - x0) / res, (positions[c] - x0) / res];
    const ys = [(positions[a + 1] - y0) / res, (positions[b + 1] - y0) / res, (positions[c + 1] - y0) / res];
    const zs = [positions[a + 2], positions[b + 2], positions[c + 2]];
    const den = (ys[1] - ys[2]) * (xs[0] - xs[2]) + (xs[2] - xs[1]) * (ys[0] - ys[2]);
    if (Math.abs(den) < 1e-12) continue;
    // The face normal (for meshes without normals).
    const ux = positions[b] - positions[a], uy = positions[b + 1] - positions[a + 1], uz = positions[b + 2] - positions[a + 2];
    const vx = positions[c] - positions[a], vy = positions[c + 1] - positions[a + 1], vz = positions[c + 2] - positions[a + 2];
    const fnx = uy * vz - uz * vy, fny = uz * vx - ux * vz, fnz = ux * vy - uy * vx;
    const fnz1 = fnz / (Math.hypot(fnx, fny, fnz) || 1);
    const i0 = Math.max(0, Math.ceil(Math.min(...xs))), i1 = Math.min(W - 1, Math.floor(Math.max(...xs)));
    const j0 = Math.max(0, Math.ceil(Math.min(...ys))), j1 = Math.min(H - 1, Math.floor(Math.max(...ys)));
    for (let j = j0; j <= j1; j++) {
      for (let i = i0; i <= i1; i++) {
        const l0 = ((ys[1] - ys[2]) * (i - xs[2]) + (xs[2] - xs[1]) * (j - ys[2])) / den;
        const l1 = ((ys[2] - ys[0]) * (i - xs[2]) + (xs[0] - xs[2]) * (j - ys[2])) / den;
        const l2 = 1 - l0 - l1;
        if (l0 < -1e-9 || l1 < -1e-9 || l2 < -1e-9) continue;
        const zz = l0 * zs[0] + l1 * zs[1] + l2 * zs[2];
        const p = j * W + i;
        if (!Number.isNaN(z[p]) && zz <= z[p]) continue;
        z[p] = zz;
        tri[p] = t / 3;
        bary[p * 2] = l0;
        bary[p * 2 + 1] = l1;
        if (normals) {
          const nx = l0 * normals[a] + l1 * normals[b] + l2 * normals[c];
          const ny = l0 * normals[a + 1] + l1 * normals[b + 1] + l2 * normals[c + 1];
          const n3 = l0 * normals[a + 2] + l1 * normals[b + 2] + l2 * normals[c + 2];
          nz[p] = n3 / (Math.hypot(nx, ny, n3) || 1);
        } else nz[p] = fnz1;
      }
    }
  }
  return { W, H, x0, y0, res, z, nz, tri, bary };
}

/** The frontmost z where the line through (x, y) parallel to Z meets the mesh (null: it misses). */
export function rayCastFront(positions: ArrayLike<number>, indices: ArrayLike<number>, x: number, y: number): number | null {
  let best: number | null = null;
  for (let t = 0; t < indices.length; t += 3) {
    const a = indices[t] * 3;
    const b = indices[t + 1] * 3;
    const c = indices[t + 2] * 3;
    const ax = positions[a], ay = positions[a + 1];
    const bx = positions[b], by = positions[b + 1];
    const cx = positions[c], cy = positions[c + 1];
    if ((x < ax && x < bx && x < cx) || (x > ax && x > bx && x > cx) || (y < ay && y < by && y < cy) || (y > ay && y > by && y > cy)) continue;
    const den = (by - cy) * (ax - cx) + (cx - bx) * (ay - cy);
    if (Math.abs(den) < 1e-18) continue;
    const l0 = ((by - cy) * (x - cx) + (cx - bx) * (y - cy)) / den;
    const l1 = ((cy - ay) * (x - cx) + (ax - cx) * (y - cy)) / den;
    const l2 = 1 - l0 - l1;
    if (l0 < -1e-9 || l1 < -1e-9 || l2 < -1e-9) continue;
    const z = l0 * positions[a + 2] + l1 * positions[b + 2] + l2 * positions[c + 2];
    if (best === null || z > best) best = z;
  }
  return best;
}

/** The surface point of a frontal (x, y): on the mesh, frontmost (throws when the line misses). */
export function castFront(positions: ArrayLike<number>, indices: ArrayLike<number>, x: number, y: number): Vec3 {
  const z = rayCastFront(positions, indices, x, y);
  if (z === null) throw new Error(`landmark at (${x.toFixed(4)}, ${y.toFixed(4)}) misses the mesh`);
  return [x, y, z];
}

/** A contour point counts as on the face where its normal's z is at least this. */
export const CONTOUR_MIN_NZ = 0.3;

export interface ContourOptions {
  /** A point on the face (the nose tip): the face region grows from it. */
  seed: [number, number];
  /** Heights of the contour's ends on the subject's right (x < 0) and left. */
  yRight: number;
  yLeft: number;
  /** Normal z below which the surface has turned away (default CONTOUR_MIN_NZ). */
  minNz?: number;
  /** Largest depth step between neighbouring pixels inside the face (default 6 pixels' worth). */
  maxStep?: number;
  /** How far (mesh units) the points are moved inward from the region's edge (default 1.5 pixels). */
  inset?: number;
  /** Number of points (17: landmarks 0-16). */
  count?: number;
}

/**
 * The face's frontal contour from the subject's right (x < 0) at yRight round the chin to the
 * left at yLeft: the boundary of the region that grows from `seed` over surface facing the front
 * (normal z >= minNz) without depth steps, holes filled; `count` points in equal arc lengths,
 * inset slightly so each lies on that surface. Returns (x, y) pairs and the region (for checks).
 */
export function faceContour(map: FrontalMap, o: ContourOptions): { points: [number, number][]; region: Uint8Array } {
  const { W, H, x0, y0, res, z, nz } = map;
  const minNz = o.minNz ?? CONTOUR_MIN_NZ;
  const maxStep = o.maxStep ?? 6 * res;
  const count = o.count ?? 17;
  const inset = o.inset ?? 1.5 * res;
  const pix = (x: number, y: number): [number, number] => [Math.round((x - x0) / res), Math.round((y - y0) / res)];
  const ok = (p: number) => !Number.isNaN(z[p]) && nz[p] >= minNz;
  // Grow the face region.
  const region = new Uint8Array(W * H);
  const [si, sj] = pix(o.seed[0], o.seed[1]);
  const s0 = sj * W + si;
  if (!ok(s0)) throw new Error('face contour: the seed is not on a front-facing surface');
  const stack = [s0];
  region[s0] = 1;
  while (stack.length) {
    const p = stack.pop()!;
    const i = p % W;
    const j = (p - i) / W;
    for (const [di, dj] of [[1, 0], [-1, 0], [0, 1], [0, -1]]) {
      const ii = i + di;
      const jj = j + dj;
      if (ii < 0 || jj < 0 || ii >= W || jj >= H) continue;
      const q = jj * W + ii;
      if (region[q] || !ok(q) || Math.abs(z[q] - z[p]) > maxStep) continue;
      region[q] = 1;
      stack.push(q);
    }
  }
  // Fill its holes (nostrils, the mouth line): what the outside cannot reach is inside.
  const outside = new Uint8Array(W * H);
  const st: number[] = [];
  for (let i = 0; i < W; i++) st.push(i, (H - 1) * W + i);
  for (let j = 0; j < H; j++) st.push(j * W, j * W + W - 1);
  for (const p of st) outside[p] = region[p] ? 0 : 1;
  const st2 = st.filter((p) => outside[p]);
  while (st2.length) {
    const p = st2.pop()!;
    const i = p % W;
    const j = (p - i) / W;
    for (const [di, dj] of [[1, 0], [-1, 0], [0, 1], [0, -1]]) {
      const ii = i + di;
      const jj = j + dj;
      if (ii < 0 || jj < 0 || ii >= W || jj >= H) continue;
      const q = jj * W + ii;
      if (outside[q] || region[q]) continue;
      outside[q] = 1;
      st2.push(q);
    }
  }
  for (let p = 0; p < W * H; p++) region[p] = outside[p] ? 0 : 1;
  const inside = (x: number, y: number) => {
    const [i, j] = pix(x, y);
    return i >= 0 && j >= 0 && i < W && j < H && region[j * W + i] === 1;
  };
  // March from the centre along a direction to the first exit.
  const [cx, cy] = o.seed;
  const exit = (dx: number, dy: number): [number, number] => {
    const step = res / 2;
    let t = 0;
    while (inside(cx + dx * (t + step), cy + dy * (t + step))) t += step;
    return [cx + dx * t, cy + dy * t];
  };
  // The ends: along the rows at yRight / yLeft from the midline.
  const endAt = (y: number, side: -1 | 1): [number, number] => {
    const step = res / 2;
    let x = 0;
    if (!inside(0, y)) throw new Error(`face contour: the midline at y = ${y} is not on the face`);
    while (inside(x + side * step, y)) x += side * step;
    return [x, y];
  };
  const right = endAt(o.yRight, -1);
  const left = endAt(o.yLeft, 1);
  const tau = 2 * Math.PI;
  const a0 = ((Math.atan2(right[1] - cy, right[0] - cx) % tau) + tau) % tau;
  let a1 = ((Math.atan2(left[1] - cy, left[0] - cx) % tau) + tau) % tau;
  if (a1 < a0) a1 += tau;
  // Sweep from the right end down round the chin to the left end (increasing angle).
  const n = 1440;
  const poly: [number, number][] = [right];
  for (let k = 1; k < n; k++) {
    const a = a0 + ((a1 - a0) * k) / n;
    poly.push(exit(Math.cos(a), Math.sin(a)));
  }
  poly.push(left);
  const cum = [0];
  for (let k = 1; k < poly.length; k++) cum.push(cum[k - 1] + Math.hypot(poly[k][0] - poly[k - 1][0], poly[k][1] - poly[k - 1][1]));
  const total = cum[cum.length - 1];
  const points: [number, number][] = [];
  let k = 0;
  for (let m = 0; m < count; m++) {
    const s = (total * m) / (count - 1);
    while (k < poly.length - 2 && cum[k + 1] < s) k++;
    const f = (s - cum[k]) / (cum[k + 1] - cum[k] || 1);
    const x = poly[k][0] + (poly[k + 1][0] - poly[k][0]) * f;
    const y = poly[k][1] + (poly[k + 1][1] - poly[k][1]) * f;
    // Inward, toward the centre.
    const d = Math.hypot(x - cx, y - cy) || 1;
    points.push([x - ((x - cx) / d) * inset, y - ((y - cy) / d) * inset]);
  }
  return { points, region };
}

/** The most forward point of the midline (x = 0) between y = ya and yb: the nose tip. */
export function noseTip(positions: ArrayLike<number>, indices: ArrayLike<number>, ya: number, yb: number, step: number): Vec3 {
  let best: Vec3 | null = null;
  for (let y = ya; y <= yb + 1e-12; y += step) {
    const z = rayCastFront(positions, indices, 0, y);
    if (z !== null && (!best || z > best[2])) best = [0, y, z];
  }
  if (!best) throw new Error('nose tip: the midline misses the mesh');
  return best;
}

/** Rounds to micrometres (for head.json) and turns -0 into 0. */
export const roundLandmark = (p: readonly number[]): Vec3 => p.map((v) => Math.round(v * 1e6) / 1e6 + 0) as Vec3;

/**
 * The 68 landmarks of the generated mesh, in its own (GLB) coordinates. The layout's face frame
 * (y = yModel + FACE_DY) becomes the GLB's by subtracting FACE_DY and the mesh's centring offset
 * and scaling by the mesh's scale; the layout is the mesh's own shape's (mesh.shape).
 */
export function proceduralLandmarks(mesh: ProceduralHeadMesh): Vec3[] {
  const P = mesh.positions;
  const I = mesh.indices;
  const s = mesh.shape;
  const k = mesh.scale;
  const dy = -FACE_DY - mesh.offset[1];
  const at = (x: number, yFace: number): Vec3 => castFront(P, I, x * k, (yFace + dy) * k);
  const pts: Vec3[] = new Array(68);

  // Eyes (36-41 right, 42-47 left): closed lids, the lids meet on the lash line; corners where
  // the painted line fades to half (|t| = 0.93 of its half-length).
  const LASH_AX = lashAx(s);
  const mid = (LASH_AX[0] + LASH_AX[1]) / 2;
  const half = ((LASH_AX[1] - LASH_AX[0]) / 2) * 0.93;
  const inner = mid - half;
  const outer = mid + half;
  const lid = (ax: number, up: number) => lashLineY(ax, s) + up;
  const lidAx = [outer - (outer - inner) / 3, outer - (2 * (outer - inner)) / 3]; // nearer the outer corner, nearer the inner
  const gap = 0.0005; // upper and lower lid points half a millimetre either side of the lash line
  // Right eye (x < 0): 36 outer, 37-38 upper lid outward to inward, 39 inner, 40-41 lower lid inward to outward.
  pts[36] = at(-outer, lid(outer, 0));
  pts[37] = at(-lidAx[0], lid(lidAx[0], gap));
  pts[38] = at(-lidAx[1], lid(lidAx[1], gap));
  pts[39] = at(-inner, lid(inner, 0));
  pts[40] = at(-lidAx[1], lid(lidAx[1], -gap));
  pts[41] = at(-lidAx[0], lid(lidAx[0], -gap));
  // Left eye (x > 0): 42 inner, 43-44 upper lid inward to outward, 45 outer, 46-47 lower lid outward to inward.
  pts[42] = at(inner, lid(inner, 0));
  pts[43] = at(lidAx[1], lid(lidAx[1], gap));
  pts[44] = at(lidAx[0], lid(lidAx[0], gap));
  pts[45] = at(outer, lid(outer, 0));
  pts[46] = at(lidAx[0], lid(lidAx[0], -gap));
  pts[47] = at(lidAx[1], lid(lidAx[1], -gap));

  // Brows (17-21 right, outer to inner; 22-26 left, inner to outer): along the painted arc,
  // toward its upper edge, from just inside its head to just inside its tail.
  const BROW_AX = browExtent(s);
  const browAx = [0, 1, 2, 3, 4].map((n) => BROW_AX[0] + 0.002 + ((BROW_AX[1] - BROW_AX[0] - 0.003) * n) / 4); // inner -> outer
  const browY = (ax: number) => browCentreY(ax, s) + 0.35 * browHalfThickness(ax, s);
  for (let k = 0; k < 5; k++) {
    const ax = browAx[4 - k];
    pts[17 + k] = at(-ax, browY(ax));
    const bx = browAx[k];
    pts[22 + k] = at(bx, browY(bx));
  }

  // Nose: 30 the tip (most forward point of the midline), 27 between the eyes, 28-29 evenly
  // between; 31-35 along the nostril base, 33 at the subnasale (template proportions).
  const tip = noseTip(P, I, (-0.012 + dy) * k, (0.012 + dy) * k, 0.0002 * k);
  const tipY = tip[1] / k - dy;
  const bridgeY = 0.029;
  const nw = s.p.noseWidth;
  pts[30] = tip;
  pts[27] = at(0, bridgeY);
  pts[28] = at(0, bridgeY + (tipY - bridgeY) / 3);
  pts[29] = at(0, bridgeY + (2 * (tipY - bridgeY)) / 3);
  pts[31] = at(-0.0135 * nw, tipY - 0.009);
  pts[32] = at(-0.0068 * nw, tipY - 0.0118);
  pts[33] = at(0, tipY - 0.0135);
  pts[34] = at(0.0068 * nw, tipY - 0.0118);
  pts[35] = at(0.0135 * nw, tipY - 0.009);

  // Lips: the painted vermilion's borders. Outer 48 (right corner) over the upper lip to 54
  // (left corner), back along the lower lip (55-59); inner 60-67 on the mouth line (closed),
  // upper and lower a quarter millimetre either side.
  const c = lipCornerAx(s);
  const cornerY = mouthLineY(c, s);
  const up = [0.62 * c, 0.26 * c];
  const lo = [0.65 * c, 0.29 * c];
  pts[48] = at(-c, cornerY);
  pts[49] = at(-up[0], upperLipY(up[0], s));
  pts[50] = at(-up[1], upperLipY(up[1], s));
  pts[51] = at(0, upperLipY(0, s));
  pts[52] = at(up[1], upperLipY(up[1], s));
  pts[53] = at(up[0], upperLipY(up[0], s));
  pts[54] = at(c, cornerY);
  pts[55] = at(lo[0], lowerLipY(lo[0], s));
  pts[56] = at(lo[1], lowerLipY(lo[1], s));
  pts[57] = at(0, lowerLipY(0, s));
  pts[58] = at(-lo[1], lowerLipY(lo[1], s));
  pts[59] = at(-lo[0], lowerLipY(lo[0], s));
  const ic = 0.84 * c;
  const ii = 0.26 * c;
  const q = 0.00025;
  pts[60] = at(-ic, mouthLineY(ic, s));
  pts[61] = at(-ii, mouthLineY(ii, s) + q);
  pts[62] = at(0, mouthLineY(0, s) + q);
  pts[63] = at(ii, mouthLineY(ii, s) + q);
  pts[64] = at(ic, mouthLineY(ic, s));
  pts[65] = at(ii, mouthLineY(ii, s) - q);
  pts[66] = at(0, mouthLineY(0, s) - q);
  pts[67] = at(-ii, mouthLineY(ii, s) - q);

  // Jaw (0-16): the frontal contour from the outer eye corners' height (a little below, as in
  // the 300-W mean shape) round the chin.
  const map = frontalDepthMap(P, I, 0.0005, mesh.normals);
  const endY = pts[36][1] - 0.0015;
  const { points } = faceContour(map, { seed: [tip[0], tip[1]], yRight: endY, yLeft: pts[45][1] - 0.0015 });
  points.forEach(([x, y], k) => {
    pts[k] = castFront(P, I, x, y);
  });
  return pts.map(roundLandmark);
}

// Node-only (pure maths on a loaded model). One ICT head: neutral + sum_i w_i identity_i +
// sum_j e_j shape_j (shapes are deltas from the neutral, see model.ts), split into parts with
// their own materials, normals recomputed after deforming, in the canonical frame: metres,
// +Y up, face toward +Z, framed like the procedural head (eyes 2.7 cm above the origin, the
// head's front-to-back extent centred on it), glTF UVs (v down).
import type { IctModel } from './model.js';
import type { IctShapeName } from './manifest.js';
import { accumulateFaceNormals } from '../../core/mesh-normals.js';

/** Vertex index ranges (inclusive) from the upstream README. */
export const ICT_RANGES = {
  face: [0, 9408],
  narrowFace: [0, 6705],
  headNeck: [9409, 11247],
  mouthSocket: [11248, 13293],
  eyeSocketL: [13294, 13677],
  eyeSocketR: [13678, 14061],
  gumsTongue: [14062, 17038],
  teeth: [17039, 21450],
  eyeballL: [21451, 23020],
  eyeballR: [23021, 24590],
  scleraL: [21451, 22220],
  irisL: [22221, 23020],
  scleraR: [23021, 23790],
  irisR: [23791, 24590],
  lashesL: [25351, 26034],
  lashesR: [26035, 26718],
} as const satisfies Record<string, readonly [number, number]>;

/** Height of the eye centres above the origin in the canonical frame (the procedural head's). */
export const ICT_EYE_HEIGHT_M = 0.027;
const CM = 0.01;

export type IctPartKind = 'skin' | 'eye' | 'teeth' | 'mouth' | 'lashes';

/** How each upstream material is drawn; null = hidden (Unreal-only shells, the inner iris shell). */
export const ICT_MATERIAL_PARTS: Readonly<Record<string, { part: string; kind: IctPartKind } | null>> = {
  M_Face: { part: 'ict_skin', kind: 'skin' },
  M_BackHead: { part: 'ict_skin', kind: 'skin' },
  M_GumsTongue: { part: 'ict_mouth', kind: 'mouth' },
  M_Teeth: { part: 'ict_teeth', kind: 'teeth' },
  // The outer eyeball shell carries sclera, limbus, iris and pupil in its UVs (iris painted on
  // the cornea: no refraction); the inner "iris" shell behind it is never seen.
  M_ScleraLeft: { part: 'ict_eye_L', kind: 'eye' },
  M_ScleraRight: { part: 'ict_eye_R', kind: 'eye' },
  M_IrisLeft: null,
  M_IrisRight: null,
  M_LacrimalFluid: null,
  M_EyeBlend: null,
  M_EyeOcclusion: null,
  // The lash cards (three layers of upper and of lower lashes per eye) are drawn alpha-tested
  // with a generated strand texture (skin.ts buildIctLashTexture; materials.ts).
  M_EyeLashes: { part: 'ict_lashes', kind: 'lashes' },
};

export interface IctPartMesh {
  name: string;
  kind: IctPartKind;
  positions: Float32Array;
  normals: Float32Array;
  uvs: Float32Array;
  indices: Uint32Array;
}

export interface IctHeadMesh {
  parts: IctPartMesh[];
  /** Source-frame point (cm) that became the origin. */
  centreCm: [number, number, number];
  /** Eyeball centres (canonical, metres) and their distance. */
  eyeCentres: [[number, number, number], [number, number, number]];
  ipdM: number;
  /** The 68 landmark vertices, canonical metres. */
  landmarks: number[][];
  bboxMin: [number, number, number];
  bboxMax: [number, number, number];
}

/** neutral + sum w_i identity_i + sum e_j shape_j, source frame (cm). */
export function deformIct(model: IctModel, identity: readonly number[], expressions: Readonly<Record<string, number>>): Float32Array {
  const out = Float32Array.from(model.neutral);
  const n = out.length;
  const acc = (d: Float32Array, w: number) => {
    for (let k = 0; k < n; k++) out[k] += w * d[k];
  };
  identity.forEach((w, i) => {
    if (w !== 0) acc(model.identities[i], w);
  });
  for (const [s, w] of Object.entries(expressions)) {
    const d = model.shapes.get(s as IctShapeName);
    if (!d) throw new Error(`ICT: unknown expression shape "${s}"`);
    if (w !== 0) acc(d, w);
  }
  return out;
}

/** Mean of vertices [a, b] (inclusive). */
export function meanOf(p: Float32Array, [a, b]: readonly [number, number]): [number, number, number] {
  let x = 0;
  let y = 0;
  let z = 0;
  for (let i = a; i <= b; i++) {
    x += p[i * 3];
    y += p[i * 3 + 1];
    z += p[i * 3 + 2];
  }
  const k = 1 / (b - a + 1);
  return [x * k, y * k, z * k];
}

/** The source point (cm) that goes to the origin: eyes at ICT_EYE_HEIGHT_M, head z-extent centred. */
export function ictCentre(p: Float32Array): [number, number, number] {
  const l = meanOf(p, ICT_RANGES.scleraL);
  const r = meanOf(p, ICT_RANGES.scleraR);
  let zmin = Infinity;
  let zmax = -Infinity;
  for (let i = ICT_RANGES.face[0]; i <= ICT_RANGES.headNeck[1]; i++) {
    const z = p[i * 3 + 2];
    if (z < zmin) zmin = z;
    if (z > zmax) zmax = z;
  }
  return [(l[0] + r[0]) / 2, (l[1] + r[1]) / 2 - ICT_EYE_HEIGHT_M / CM, (zmin + zmax) / 2];
}

/** Area-weighted vertex normals over the given triangles (position indices). */
function vertexNormals(p: Float32Array, tris: Uint32Array, out: Float64Array): void {
  accumulateFaceNormals(p, tris, out);
}

/** UV of part `kind` in its own texture (glTF convention, v down). */
function partUv(kind: IctPartKind, u: number, v: number): [number, number] {
  if (kind === 'skin') return [u / 2, 1 - v]; // tiles 0 (face) and 1 (back head) side by side
  return [u - Math.floor(u), 1 - v];
}

/** Builds the parts of one head from deformed source positions (cm). */
export function buildIctMesh(model: IctModel, src: Float32Array): IctHeadMesh {
  const centre = ictCentre(src);
  // Triangles per part.
  const partTris = new Map<string, { kind: IctPartKind; tris: number[] }>();
  for (let t = 0; t < model.triMat.length; t++) {
    const m = ICT_MATERIAL_PARTS[model.materials[model.triMat[t]]];
    if (!m) continue;
    let e = partTris.get(m.part);
    if (!e) partTris.set(m.part, (e = { kind: m.kind, tris: [] }));
    e.tris.push(t);
  }
  const parts: IctPartMesh[] = [];
  const bmin: [number, number, number] = [Infinity, Infinity, Infinity];
  const bmax: [number, number, number] = [-Infinity, -Infinity, -Infinity];
  for (const [name, { kind, tris }] of partTris) {
    const posTris = new Uint32Array(tris.length * 3);
    tris.forEach((t, k) => posTris.set(model.triPos.subarray(t * 3, t * 3 + 3), k * 3));
    const nrm = new Float64Array(src.length);
    vertexNormals(src, posTris, nrm);
    // One output vertex per (position, uv) pair.
    const map = new Map<number, number>();
    const pos: number[] = [];
    const nor: number[] = [];
    const uv: number[] = [];
    const idx = new Uint32Array(tris.length * 3);
    tris.forEach((t, k) => {
      for (let c = 0; c < 3; c++) {
        const pi = model.triPos[t * 3 + c];
        const ti = model.triUv[t * 3 + c];
        const key = pi * 65536 + ti;
        let vi = map.get(key);
        if (vi === undefined) {
          vi = pos.length / 3;
          map.set(key, vi);
          for (let a = 0; a < 3; a++) pos.push((src[pi * 3 + a] - centre[a]) * CM);
          const nx = nrm[pi * 3];
          const ny = nrm[pi * 3 + 1];
          const nz = nrm[pi * 3 + 2];
          const l = Math.hypot(nx, ny, nz) || 1;
          nor.push(nx / l, ny / l, nz / l);
          const [u, v] = partUv(kind, model.uvs[ti * 2], model.uvs[ti * 2 + 1]);
          uv.push(u, v);
        }
        idx[k * 3 + c] = vi;
      }
    });
    const positions = new Float32Array(pos);
    for (let i = 0; i < positions.length; i += 3) {
      for (let a = 0; a < 3; a++) {
        if (positions[i + a] < bmin[a]) bmin[a] = positions[i + a];
        if (positions[i + a] > bmax[a]) bmax[a] = positions[i + a];
      }
    }
    parts.push({ name, kind, positions, normals: new Float32Array(nor), uvs: new Float32Array(uv), indices: idx });
  }
  const order = ['ict_skin', 'ict_eye_L', 'ict_eye_R', 'ict_teeth', 'ict_mouth', 'ict_lashes'];
  parts.sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
  const toM = (q: [number, number, number]): [number, number, number] => [(q[0] - centre[0]) * CM, (q[1] - centre[1]) * CM, (q[2] - centre[2]) * CM];
  const eL = toM(meanOf(src, ICT_RANGES.scleraL));
  const eR = toM(meanOf(src, ICT_RANGES.scleraR));
  return {
    parts,
    centreCm: centre,
    eyeCentres: [eL, eR],
    ipdM: Math.hypot(eL[0] - eR[0], eL[1] - eR[1], eL[2] - eR[2]),
    landmarks: model.landmarks.map((i) => toM([src[i * 3], src[i * 3 + 1], src[i * 3 + 2]])),
    bboxMin: bmin,
    bboxMax: bmax,
  };
}

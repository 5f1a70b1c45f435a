// Node-only. The ICT Face Model Light (USC ICT, MIT): the gzipped upstream OBJs in
// ../shared/assets/heads/ict_facekit/ (or the fetch-assets cache), parsed once per process and
// kept in memory, with a compact binary cache under <cacheRoot>/ict/ keyed by the SHA-256 of the
// files as stored, so a later process skips the ~10 s of gunzip + parsing.
//
// Source conventions (the folder's README): centimetres, +Y up, the face looks along +Z; 26,719
// vertices in every file; shapes are absolute meshes, so mode_i = identityNNN - neutral.
// Faces are quads and triangles with v/vt indices; parts are marked only by `usemtl`.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { SHARED_ASSETS, resolveAssetPath } from '../../io/asset-roots.js';
import { PROJECT_ROOT } from '../../io/paths.js';
import { ICT_IDENTITY_COUNT, ICT_SHA256, ICT_SHAPES, ICT_VERTEX_COUNT, type IctShapeName } from './manifest.js';

/** Bump when the parsed layout or the cache format changes. */
const MODEL_CACHE_VERSION = 1;
const CACHE_MAGIC = 0x49534c56; // "VLSI"

export const ICT_DIR_REL = path.join('heads', 'ict_facekit');
/** ../shared/assets/heads/ict_facekit (or the same folder in the fetch-assets cache). */
export function defaultIctDir(): string {
  return resolveAssetPath(path.join(SHARED_ASSETS, ICT_DIR_REL));
}

export const ICT_NEUTRAL_FILE = 'generic_neutral_mesh.obj';
export const identityFile = (i: number): string => `identity${String(i).padStart(3, '0')}.obj`;
export const shapeFile = (s: string): string => `${s}.obj`;

/** Every OBJ the model needs, in load order (the neutral first). */
export function ictObjFiles(): string[] {
  return [ICT_NEUTRAL_FILE, ...Array.from({ length: ICT_IDENTITY_COUNT }, (_, i) => identityFile(i)), ...ICT_SHAPES.map(shapeFile)];
}

export interface IctModel {
  dir: string;
  /** sha256 (hex) over the stored .gz files and vertex_indices.json: names the binary cache. */
  key: string;
  vertexCount: number;
  /** Neutral positions, source frame (cm). */
  neutral: Float32Array;
  /** identity mode i = identity_i - neutral (cm), 100 of them. */
  identities: Float32Array[];
  /** expression (and extra) shape deltas (cm). */
  shapes: Map<IctShapeName, Float32Array>;
  /** OBJ texture coordinates (u, v), v up (OpenGL), UDIM tiles in u. */
  uvs: Float32Array;
  /** Triangles (quads split a-b-c, a-c-d): position indices, uv indices, material index. */
  triPos: Uint32Array;
  triUv: Uint32Array;
  triMat: Uint8Array;
  materials: string[];
  /** 68 Multi-PIE landmark vertex indices (vertex_indices.json). */
  landmarks: number[];
  fromCache: boolean;
  loadMs: number;
}

function missing(file: string, dir: string): Error {
  return new Error(
    `ICT face model file ${path.join(dir, file)} is missing (the ICT head source needs ../shared/assets/heads/ict_facekit/ ` +
      `or \`npm run fetch-assets\`; the procedural head works without it)`,
  );
}

function gunzipFile(dir: string, file: string): Buffer {
  const gz = path.join(dir, `${file}.gz`);
  let raw: Buffer;
  try {
    raw = fs.readFileSync(gz);
  } catch {
    throw missing(`${file}.gz`, dir);
  }
  let out: Buffer;
  try {
    out = zlib.gunzipSync(raw);
  } catch (err) {
    throw new Error(`ICT face model file ${gz} is corrupt (gunzip: ${(err as Error).message})`);
  }
  const want = ICT_SHA256[file];
  const got = crypto.createHash('sha256').update(out).digest('hex');
  if (want && got !== want) throw new Error(`ICT face model file ${gz} is corrupt: its decompressed SHA-256 is ${got}, expected ${want} (README.md)`);
  return out;
}

// ---- a small, fast OBJ scanner over the bytes (the files are ASCII) ----

const SP = 32;
const NL = 10;

function parseFloatAt(b: Buffer, i: number): [number, number] {
  while (b[i] === SP || b[i] === 9) i++;
  const s = i;
  while (i < b.length && b[i] !== SP && b[i] !== NL && b[i] !== 13 && b[i] !== 9) i++;
  return [Number(b.toString('latin1', s, i)), i];
}

/** 'v x y z' lines only. */
function parseVertices(b: Buffer, file: string): Float32Array {
  const out = new Float32Array(ICT_VERTEX_COUNT * 3);
  let n = 0;
  let i = 0;
  const len = b.length;
  while (i < len) {
    if (b[i] === 118 /* v */ && b[i + 1] === SP && (i === 0 || b[i - 1] === NL)) {
      if (n >= ICT_VERTEX_COUNT) throw new Error(`ICT face model file ${file} has more than ${ICT_VERTEX_COUNT} vertices`);
      let j = i + 2;
      for (let k = 0; k < 3; k++) {
        const [x, e] = parseFloatAt(b, j);
        out[n * 3 + k] = x;
        j = e;
      }
      n++;
      i = j;
    }
    const nl = b.indexOf(NL, i);
    if (nl < 0) break;
    i = nl + 1;
  }
  if (n !== ICT_VERTEX_COUNT) throw new Error(`ICT face model file ${file} has ${n} vertices, expected ${ICT_VERTEX_COUNT} (corrupt or not the ICT model)`);
  for (let k = 0; k < out.length; k++) if (!Number.isFinite(out[k])) throw new Error(`ICT face model file ${file}: vertex ${Math.floor(k / 3)} is not a finite number`);
  return out;
}

/** The neutral's topology: uvs, faces (triangulated) and their materials. */
function parseTopology(b: Buffer, file: string) {
  const text = b.toString('latin1');
  const uvs: number[] = [];
  const triPos: number[] = [];
  const triUv: number[] = [];
  const triMat: number[] = [];
  const materials: string[] = [];
  let mat = -1;
  for (const line of text.split('\n')) {
    const c0 = line.charCodeAt(0);
    if (c0 === 118 && line.charCodeAt(1) === 116) {
      const p = line.trim().split(/\s+/);
      uvs.push(Number(p[1]), Number(p[2]));
    } else if (c0 === 102 && line.charCodeAt(1) === SP) {
      const p = line.trim().split(/\s+/);
      const vs: number[] = [];
      const ts: number[] = [];
      for (let k = 1; k < p.length; k++) {
        const [a, t] = p[k].split('/');
        vs.push(Number(a) - 1);
        ts.push(Number(t) - 1);
      }
      if (mat < 0) throw new Error(`ICT face model file ${file}: a face before any usemtl`);
      for (let k = 1; k + 1 < vs.length; k++) {
        triPos.push(vs[0], vs[k], vs[k + 1]);
        triUv.push(ts[0], ts[k], ts[k + 1]);
        triMat.push(mat);
      }
    } else if (line.startsWith('usemtl')) {
      const name = line.slice(6).trim();
      mat = materials.indexOf(name);
      if (mat < 0) {
        materials.push(name);
        mat = materials.length - 1;
      }
    }
  }
  const nuv = uvs.length / 2;
  for (let k = 0; k < triPos.length; k++) {
    if (!(triPos[k] >= 0 && triPos[k] < ICT_VERTEX_COUNT) || !(triUv[k] >= 0 && triUv[k] < nuv)) {
      throw new Error(`ICT face model file ${file}: face index out of range (corrupt)`);
    }
  }
  return { uvs: new Float32Array(uvs), triPos: new Uint32Array(triPos), triUv: new Uint32Array(triUv), triMat: new Uint8Array(triMat), materials };
}

// ---- binary cache ----

function cacheFile(cacheRoot: string, key: string): string {
  return path.join(cacheRoot, 'ict', `model-v${MODEL_CACHE_VERSION}-${key.slice(0, 24)}.bin`);
}

interface CacheHeader {
  key: string;
  vertexCount: number;
  uvCount: number;
  triCount: number;
  materials: string[];
  landmarks: number[];
  shapes: string[];
}

function writeCache(file: string, m: IctModel): void {
  const header: CacheHeader = {
    key: m.key,
    vertexCount: m.vertexCount,
    uvCount: m.uvs.length / 2,
    triCount: m.triMat.length,
    materials: m.materials,
    landmarks: m.landmarks,
    shapes: [...m.shapes.keys()],
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const jsonLen = (json.length + 3) & ~3;
  const blocks: Uint8Array[] = [m.neutral, ...m.identities, ...m.shapes.values(), m.uvs, m.triPos, m.triUv].map((a) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  const tri = new Uint8Array(((m.triMat.length + 3) & ~3));
  tri.set(m.triMat);
  blocks.push(tri);
  const head = Buffer.alloc(12 + jsonLen, 0x20);
  head.writeUInt32LE(CACHE_MAGIC, 0);
  head.writeUInt32LE(MODEL_CACHE_VERSION, 4);
  head.writeUInt32LE(jsonLen, 8);
  json.copy(head, 12);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, head);
    for (const b of blocks) fs.writeSync(fd, b);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

function readCache(file: string, key: string, dir: string): IctModel | null {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch {
    return null;
  }
  try {
    if (buf.readUInt32LE(0) !== CACHE_MAGIC || buf.readUInt32LE(4) !== MODEL_CACHE_VERSION) return null;
    const jsonLen = buf.readUInt32LE(8);
    const h = JSON.parse(buf.toString('utf8', 12, 12 + jsonLen)) as CacheHeader;
    if (h.key !== key || h.vertexCount !== ICT_VERTEX_COUNT) return null;
    // One aligned copy; every array is a view into it.
    const body = new Uint8Array(buf.length - 12 - jsonLen);
    body.set(buf.subarray(12 + jsonLen));
    let o = 0;
    const f32 = (n: number) => {
      const a = new Float32Array(body.buffer, o, n);
      o += n * 4;
      return a;
    };
    const u32 = (n: number) => {
      const a = new Uint32Array(body.buffer, o, n);
      o += n * 4;
      return a;
    };
    const V = h.vertexCount * 3;
    const neutral = f32(V);
    const identities = Array.from({ length: ICT_IDENTITY_COUNT }, () => f32(V));
    const shapes = new Map<IctShapeName, Float32Array>();
    for (const s of h.shapes) shapes.set(s as IctShapeName, f32(V));
    const uvs = f32(h.uvCount * 2);
    const triPos = u32(h.triCount * 3);
    const triUv = u32(h.triCount * 3);
    const triMat = new Uint8Array(body.buffer, o, h.triCount);
    o += (h.triCount + 3) & ~3;
    if (o !== body.length) return null;
    return { dir, key, vertexCount: h.vertexCount, neutral, identities, shapes, uvs, triPos, triUv, triMat, materials: h.materials, landmarks: h.landmarks, fromCache: true, loadMs: 0 };
  } catch {
    return null;
  }
}

// ---- loading ----

const memo = new Map<string, IctModel>();

export interface LoadIctOptions {
  /** Folder of the gzipped OBJs (default ../shared/assets/heads/ict_facekit or the fetch-assets cache). */
  dir?: string;
  /** Cache root (default output/.cache); the binary cache goes to <cacheRoot>/ict/. */
  cacheRoot?: string;
  /** Skip the binary cache (always parse the OBJs). */
  noDiskCache?: boolean;
}

/** sha256 over every stored file the model is made of (names and bytes, in load order). */
function sourceKey(dir: string): string {
  const h = crypto.createHash('sha256').update(`ict-model-v${MODEL_CACHE_VERSION}\n`);
  for (const f of ictObjFiles()) {
    const gz = path.join(dir, `${f}.gz`);
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(gz);
    } catch {
      throw missing(`${f}.gz`, dir);
    }
    h.update(f).update(crypto.createHash('sha256').update(bytes).digest());
  }
  const vi = path.join(dir, 'vertex_indices.json');
  if (!fs.existsSync(vi)) throw missing('vertex_indices.json', dir);
  h.update('vertex_indices.json').update(fs.readFileSync(vi));
  return h.digest('hex');
}

function readLandmarks(dir: string): number[] {
  const file = path.join(dir, 'vertex_indices.json');
  let j: { idx_to_landmark_verts?: unknown };
  try {
    j = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`ICT face model file ${file} is corrupt (${(err as Error).message})`);
  }
  const lm = j.idx_to_landmark_verts;
  if (!Array.isArray(lm) || lm.length !== 68 || !lm.every((i) => Number.isInteger(i) && i >= 0 && i < ICT_VERTEX_COUNT)) {
    throw new Error(`ICT face model file ${file}: idx_to_landmark_verts is not 68 vertex indices`);
  }
  return lm as number[];
}

/**
 * The parsed model (memoised per folder). Every file is checked to exist first (a missing one
 * is named before any work), then the binary cache is tried, then the OBJs are gunzipped,
 * checked against their SHA-256 and parsed (a corrupt one is named).
 */
export function loadIctModel(opts: LoadIctOptions = {}): IctModel {
  const dir = path.resolve(opts.dir ?? defaultIctDir());
  const hit = memo.get(dir);
  if (hit) return hit;
  const t0 = performance.now();
  for (const f of ictObjFiles()) if (!fs.existsSync(path.join(dir, `${f}.gz`))) throw missing(`${f}.gz`, dir);
  if (!fs.existsSync(path.join(dir, 'vertex_indices.json'))) throw missing('vertex_indices.json', dir);
  const key = sourceKey(dir);
  const cacheRoot = opts.cacheRoot ?? path.join(PROJECT_ROOT, 'output', '.cache');
  const cf = cacheFile(cacheRoot, key);
  let model = opts.noDiskCache ? null : readCache(cf, key, dir);
  if (!model) {
    const landmarks = readLandmarks(dir);
    const nb = gunzipFile(dir, ICT_NEUTRAL_FILE);
    const neutral = parseVertices(nb, path.join(dir, `${ICT_NEUTRAL_FILE}.gz`));
    const topo = parseTopology(nb, path.join(dir, `${ICT_NEUTRAL_FILE}.gz`));
    const delta = (file: string): Float32Array => {
      const p = parseVertices(gunzipFile(dir, file), path.join(dir, `${file}.gz`));
      for (let k = 0; k < p.length; k++) p[k] -= neutral[k];
      return p;
    };
    const identities = Array.from({ length: ICT_IDENTITY_COUNT }, (_, i) => delta(identityFile(i)));
    const shapes = new Map<IctShapeName, Float32Array>();
    for (const s of ICT_SHAPES) shapes.set(s, delta(shapeFile(s)));
    model = { dir, key, vertexCount: ICT_VERTEX_COUNT, neutral, identities, shapes, ...topo, landmarks, fromCache: false, loadMs: 0 };
    if (!opts.noDiskCache) {
      try {
        writeCache(cf, model);
      } catch {
        // A read-only cache folder only costs the parse next time.
      }
    }
  }
  model.loadMs = performance.now() - t0;
  memo.set(dir, model);
  return model;
}

/** Forgets the in-memory model (tests). */
export function clearIctModelMemo(): void {
  memo.clear();
}

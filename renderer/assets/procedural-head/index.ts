// Procedural head: the built-in default head and fast test fixture, and procedural people.
//
// Plain 'procedural' is one fixed mannequin. 'procedural:<seed>' / 'procedural:{json}' draw a
// person (params.ts: shape proportions within adult ranges, a skin from the pigment model the ICT
// identities use), built the same way from its drawn shape and skin and cached per draw.
//
// Project code builds a smooth, mannequin-like head (skull, face, jaw, nose,
// closed eyes, lips, ears, short neck) plus skin textures, and writes them to
// disk as an ordinary head folder (head.json + head.glb + PNG maps), so a fresh
// clone renders without external assets and the renderer loads it through the
// same path as a real scan.
//
// Everything is deterministic: no Math.random, only the integer-hash noise below,
// so the same generator version and options give the same bytes every time.
//
// Frames and conventions (same as every head folder, see head.json):
//  - metres, right-handed, +Y up, the face looks toward +Z, origin at the bbox centre;
//  - the mesh is a UV sphere (rows = polar angle from the crown, columns = azimuth)
//    whose vertices are projected onto a smooth signed-distance head along rays
//    from an interior point, then displaced by a frontal relief (nose, brows, eye
//    sockets, lips...);
//  - TEXCOORD_0 is that parametrisation in glTF convention: u = column / nLon
//    (u = 0.5 looks at +Z; u = 0 and 1 meet at the back of the head, -Z, where the
//    seam is), v = row / nLat with v = 0 at the crown (top of the image);
//  - the normal map is tangent space, OpenGL convention: red = +T (increasing u),
//    green = +B where B points toward increasing v in the bottom-left-origin
//    convention (toward the crown here), blue = +N.

import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
//
// Modules: options.ts (version, detail levels), params.ts (the people: draw, options, refs),
// noise.ts (helpers, deterministic noise), shape.ts (signed distance + facial relief),
// layout.ts (the painted lip/brow/lash curves),
// mesh.ts, textures.ts, labels.ts (labels.png: semantic parsing), landmarks.ts (the 68
// landmarks in head.json); this file writes the head folder (files in memory, cache folder
// under `${cacheRoot}/heads/`).

import sharp from 'sharp';
import { encodeGlb } from '../../io/gltf-write.js';
import { DETAILS, PROCEDURAL_HEAD_GENERATOR_VERSION, PROCEDURAL_HEAD_ID, resolveOptions, type ProceduralDetail, type ProceduralHeadOptions, type ResolvedProceduralOptions } from './options.js';
import { PROCEDURAL_PERSON_GENERATOR_VERSION } from './params.js';
import { stableStringify } from '../ict/params.js';
import { buildProceduralHeadMesh, type ProceduralHeadMesh } from './mesh.js';
import { buildProceduralHeadTextures } from './textures.js';
import { proceduralLandmarks, type Vec3 } from './landmarks.js';

export { PROCEDURAL_HEAD_GENERATOR_VERSION, PROCEDURAL_HEAD_ID, type ProceduralDetail, type ProceduralHeadOptions } from './options.js';
export { buildProceduralHeadMesh, type ProceduralHeadMesh } from './mesh.js';
export { buildProceduralHeadTextures, type ProceduralHeadTextures } from './textures.js';
export { proceduralLandmarks } from './landmarks.js';
export { proceduralLabel, PROCEDURAL_LABEL_IDS } from './labels.js';
export { NEUTRAL_SHAPE, compileShape, type HeadShape } from './shape.js';
export {
  NEUTRAL_SHAPE_PARAMS,
  PROCEDURAL_PERSON_GENERATOR_VERSION,
  ProceduralOptionsSchema,
  SHAPE_DRAWS,
  isProceduralDrawRef,
  parseProceduralRef,
  planProceduralHead,
  proceduralIpdM,
  proceduralRef,
  sampleProceduralParams,
  type ProceduralHeadParams,
  type ProceduralOptions,
  type ProceduralOptionsInput,
  type ProceduralShape,
} from './params.js';

export const HEAD_FILES = ['head.json', 'head.glb', 'albedo.png', 'normal.png', 'specular.png', 'roughness.png', 'labels.png'] as const;
export type HeadFileName = (typeof HEAD_FILES)[number];

const landmarkMemo = new Map<string, Vec3[]>();

/** The 68 landmarks of a head's mesh (GLB coordinates), memoised per head (the last few people). */
function landmarksFor(o: ResolvedProceduralOptions, mesh?: ProceduralHeadMesh): Vec3[] {
  const key = proceduralHeadHash(o);
  let lm = landmarkMemo.get(key);
  if (!lm) {
    lm = proceduralLandmarks(mesh ?? buildProceduralHeadMesh(o));
    landmarkMemo.set(key, lm);
    // The mannequin's levels stay; drawn people are kept only while they are recent.
    const people = [...landmarkMemo.keys()].filter((k) => k.startsWith('p'));
    if (people.length > 8) landmarkMemo.delete(people[0]);
  }
  return lm;
}

/** The identity of a drawn person: its shape (the same shape under another skin is the same person). */
function shapeHash(o: ResolvedProceduralOptions): string {
  return createHash('sha256').update(stableStringify({ person: PROCEDURAL_PERSON_GENERATOR_VERSION, shape: o.params?.shape })).digest('hex').slice(0, 12);
}

/**
 * The descriptor written as head.json (the same schema as every head folder) for a detail level
 * (default 'high'): its landmarks are placed on that level's mesh (`mesh`: the level's mesh when
 * already built).
 */
export function proceduralHeadDescriptor(opts?: ProceduralHeadOptions, mesh?: ProceduralHeadMesh) {
  const o = resolveOptions(opts);
  const p = o.params;
  return {
    // A drawn person's id names its shape (renderer/dataset/identity.ts: the identity of non-ICT heads is their id).
    id: p ? `procedural-person-${shapeHash(o)}` : PROCEDURAL_HEAD_ID,
    name: p ? `Procedural person (project code), seed ${p.seed}` : 'Procedural head (project code)',
    version: 1,
    mesh: 'head.glb',
    maps: { albedo: 'albedo.png', normal: 'normal.png', specular: 'specular.png', roughness: 'roughness.png' },
    normalMap: { convention: 'opengl', scale: 1.0 },
    scaleToMetres: 1.0,
    upAxis: '+Y',
    facing: '+Z',
    uvOrigin: 'top-left',
    center: 'bbox',
    material: { roughness: 0.5, specularF0: 0.028 },
    // Semantic parsing (labels.ts): painted lips and brows, the nose's relief, ears and neck
    // from the shape's primitives; the closed eyes are lids (skin).
    labels: { default: 'skin', map: 'labels.png' },
    // The 68 Multi-PIE landmarks (landmarks.ts), on this mesh, in its own coordinates.
    landmarks: landmarksFor(o, mesh),
    license: 'CC0-1.0 (generated by project code)',
    attribution: 'Procedural head generated by virtual-light-stage',
  };
}

/** Short hash of the generator version and options (a drawn person's: and every drawn value); names the cache folder. */
export function proceduralHeadHash(opts?: ProceduralHeadOptions): string {
  const o = resolveOptions(opts);
  if (!o.params) {
    const key = JSON.stringify({ generator: PROCEDURAL_HEAD_GENERATOR_VERSION, detail: o.detail, spec: DETAILS[o.detail] });
    return createHash('sha256').update(key).digest('hex').slice(0, 12);
  }
  const key = stableStringify({ generator: PROCEDURAL_HEAD_GENERATOR_VERSION, person: PROCEDURAL_PERSON_GENERATOR_VERSION, detail: o.detail, spec: DETAILS[o.detail], params: o.params });
  return `p${createHash('sha256').update(key).digest('hex').slice(0, 15)}`;
}

/** `procedural-v1-<hash>` (the mannequin, per detail level) or `procedural-person-<hash>` (a drawn person). */
export function proceduralHeadDirName(opts?: ProceduralHeadOptions): string {
  const h = proceduralHeadHash(opts);
  return h.startsWith('p') ? `procedural-person-${h.slice(1)}` : `${PROCEDURAL_HEAD_ID}-${h}`;
}

export interface ProceduralHeadFiles {
  /** Folder name under `${cacheRoot}/heads/`. */
  dirName: string;
  hash: string;
  files: Record<HeadFileName, Buffer>;
  stats: {
    vertexCount: number;
    triangleCount: number;
    textureSize: number;
    bboxMin: [number, number, number];
    bboxMax: [number, number, number];
    meshMs: number;
    texturesMs: number;
    encodeMs: number;
    /** Drawn people: the mean linear albedo of the cheek texels (the ITA reference patch). */
    cheekAlbedo?: number[];
  };
}

async function png(data: Uint8Array, size: number, channels: 1 | 3): Promise<Buffer> {
  let img = sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), { raw: { width: size, height: size, channels } });
  // Keep single-channel maps as 8-bit greyscale PNGs (sharp would expand them to RGB).
  if (channels === 1) img = img.toColourspace('b-w');
  return img.png({ compressionLevel: 6, adaptiveFiltering: true }).toBuffer();
}

/** Generates every file of the procedural head folder in memory. */
export async function generateProceduralHeadFiles(opts?: ProceduralHeadOptions): Promise<ProceduralHeadFiles> {
  const o = resolveOptions(opts);
  const t0 = performance.now();
  const mesh = buildProceduralHeadMesh(o);
  const t1 = performance.now();
  const tex = buildProceduralHeadTextures(mesh, o);
  const t2 = performance.now();
  const glb = encodeGlb({
    positions: mesh.positions,
    normals: mesh.normals,
    uvs: mesh.uvs,
    indices: mesh.indices,
    materialName: 'skin',
    meshName: 'procedural-head',
    generator: o.params ? `virtual-light-stage procedural-head v${PROCEDURAL_HEAD_GENERATOR_VERSION} person v${PROCEDURAL_PERSON_GENERATOR_VERSION}` : `virtual-light-stage procedural-head v${PROCEDURAL_HEAD_GENERATOR_VERSION}`,
  });
  const [albedo, normal, specular, roughness, labels] = await Promise.all([
    png(tex.albedo, tex.size, 3),
    png(tex.normal, tex.size, 3),
    png(tex.specular, tex.size, 1),
    png(tex.roughness, tex.size, 1),
    png(tex.labels, tex.size, 1),
  ]);
  const t3 = performance.now();
  const headJson = Buffer.from(JSON.stringify(proceduralHeadDescriptor(o, mesh), null, 2) + '\n', 'utf8');
  return {
    dirName: proceduralHeadDirName(o),
    hash: proceduralHeadHash(o),
    files: {
      'head.json': headJson,
      'head.glb': glb,
      'albedo.png': albedo,
      'normal.png': normal,
      'specular.png': specular,
      'roughness.png': roughness,
      'labels.png': labels,
    },
    stats: {
      vertexCount: mesh.positions.length / 3,
      triangleCount: mesh.indices.length / 3,
      textureSize: tex.size,
      bboxMin: mesh.bboxMin,
      bboxMax: mesh.bboxMax,
      meshMs: t1 - t0,
      texturesMs: t2 - t1,
      encodeMs: t3 - t2,
      ...(tex.cheek ? { cheekAlbedo: tex.cheek } : {}),
    },
  };
}

async function isCompleteHeadDir(dir: string): Promise<boolean> {
  try {
    for (const f of HEAD_FILES) {
      const st = await fsp.stat(path.join(dir, f));
      if (!st.isFile() || st.size === 0) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/** In-process de-duplication: concurrent calls for one folder share one generation. */
const inFlight = new Map<string, Promise<string>>();

/**
 * Returns `${cacheRoot}/heads/procedural-v1-<hash>/`, generating it first when
 * it is missing or incomplete. The hash covers the generator version and the
 * options, so a new generator or detail level gets a new folder. Generation
 * happens in `${dir}.tmp-<pid>` and the folder is renamed into place; when a
 * concurrent process wins the race, its folder is used.
 */
export async function ensureProceduralHead(cacheRoot: string, opts?: ProceduralHeadOptions): Promise<string> {
  const o = resolveOptions(opts);
  const dir = path.resolve(cacheRoot, 'heads', proceduralHeadDirName(o));
  if (await isCompleteHeadDir(dir)) return dir;
  let pending = inFlight.get(dir);
  if (!pending) {
    pending = generateHeadDir(dir, o).finally(() => inFlight.delete(dir));
    inFlight.set(dir, pending);
  }
  return pending;
}

async function generateHeadDir(dir: string, o: ProceduralHeadOptions): Promise<string> {
  await fsp.mkdir(path.dirname(dir), { recursive: true });
  const generated = await generateProceduralHeadFiles(o);
  const tmp = `${dir}.tmp-${process.pid}`;
  await fsp.rm(tmp, { recursive: true, force: true });
  await fsp.mkdir(tmp);
  try {
    for (const f of HEAD_FILES) await fsp.writeFile(path.join(tmp, f), generated.files[f]);
    // Another process may have finished meanwhile: use its folder.
    if (await isCompleteHeadDir(dir)) return dir;
    // A leftover incomplete folder (interrupted copy, manual deletion) is moved aside.
    const exists = await fsp.stat(dir).then(() => true, () => false);
    if (exists) {
      const stale = `${dir}.stale-${process.pid}`;
      await fsp.rm(stale, { recursive: true, force: true });
      await fsp.rename(dir, stale).catch(() => undefined);
      await fsp.rm(stale, { recursive: true, force: true });
    }
    try {
      await fsp.rename(tmp, dir);
    } catch (err) {
      // Lost the race to a concurrent process (rename onto a non-empty folder fails).
      if (await isCompleteHeadDir(dir)) return dir;
      throw err;
    }
    return dir;
  } finally {
    await fsp.rm(tmp, { recursive: true, force: true });
  }
}

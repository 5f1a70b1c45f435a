// Node-only. The ICT head source: a head reference ("ict", "ict:<seed>", "ict:{json}") becomes
// an ordinary head folder under <cacheRoot>/heads/ (head.json + head.glb + params.json), cached
// by the hash of the generator version, the model files' key and every drawn weight. The skin
// and eye textures go to a sibling folder ict-look-<hash>/ keyed by the appearance draw only
// (so heads that share a skin share its files). Folders are written under a temp name and
// renamed into place (like the procedural head cache).
//
// Model: ICT Face Model Light (ICT-FaceKit), USC Institute for Creative Technologies, MIT License.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { encodeGlbParts } from '../../io/gltf-write.js';
import { loadIctModel, type IctModel, type LoadIctOptions } from './model.js';
import { buildIctMesh, deformIct, type IctHeadMesh, type IctPartKind } from './mesh.js';
import { seatIctEyes } from './checks.js';
import { buildIctEyeTexture, buildIctLashTexture, buildIctSkinTextures } from './skin.js';
import { buildIctEyeLabels, buildIctSkinLabels } from './labels.js';
import { ICT_GENERATOR_VERSION, sampleIctParams, stableStringify, type IctHeadParams, type IctOptionsInput } from './params.js';

export * from './params.js';
export { loadIctModel, defaultIctDir, clearIctModelMemo, type IctModel } from './model.js';
export { deformIct, buildIctMesh, ICT_RANGES, type IctHeadMesh } from './mesh.js';
export { checkIctGeometry, seatIctEyes } from './checks.js';
export { buildIctSkinTextures, buildIctEyeTexture, buildIctLashTexture, irisColours, itaDeg, cheekAlbedo, linearRgbToLab } from './skin.js';

export const ICT_ATTRIBUTION = 'ICT Face Model Light (ICT-FaceKit), USC Institute for Creative Technologies, MIT License (github.com/ICT-VGL/ICT-FaceKit)';
const EYE_TEXTURE_SIZE = 512;
const LASH_TEXTURE_SIZE = 1024;

/** Constant materials of the non-skin parts (linear albedo). */
export const ICT_PART_MATERIALS: Record<IctPartKind, { albedo: [number, number, number]; roughness: number; f0: number }> = {
  skin: { albedo: [1, 1, 1], roughness: 0.5, f0: 0.028 },
  // Wet cornea / tear film over the sclera: glossy, F0 of n = 1.376.
  eye: { albedo: [1, 1, 1], roughness: 0.06, f0: 0.025 },
  // Enamel is off-white, not paper white (linear ~0.5); the mouth interior is shaded by the lips.
  teeth: { albedo: [0.52, 0.48, 0.38], roughness: 0.3, f0: 0.04 },
  mouth: { albedo: [0.36, 0.09, 0.08], roughness: 0.35, f0: 0.028 },
  // Colour and alpha from lashes.png (materials.ts alpha-tests it); keratin F0 ~0.046.
  lashes: { albedo: [1, 1, 1], roughness: 0.45, f0: 0.046 },
};

/** The deformed, eye-seated geometry of one draw (no files). */
export function buildIctHead(params: IctHeadParams, model: IctModel = loadIctModel()): IctHeadMesh & { eyeShiftCm: [number, number] } {
  const src = deformIct(model, params.identity, params.expressions);
  const eyeShiftCm = seatIctEyes(src);
  return { ...buildIctMesh(model, src), eyeShiftCm };
}

export function ictHeadHash(params: IctHeadParams, model: IctModel): string {
  return crypto.createHash('sha256').update(`ict-head v${ICT_GENERATOR_VERSION}\n${model.key}\n${stableStringify(params)}`).digest('hex').slice(0, 16);
}

export function ictLookHash(params: IctHeadParams, model: IctModel): string {
  const look = { skin: params.skin, eyes: params.eyes, textureSize: params.textureSize };
  return crypto.createHash('sha256').update(`ict-look v${ICT_GENERATOR_VERSION}\n${model.key}\n${stableStringify(look)}`).digest('hex').slice(0, 16);
}

async function png(data: Uint8Array, width: number, height: number, channels: 1 | 3 | 4): Promise<Buffer> {
  let img = sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), { raw: { width, height, channels } });
  if (channels === 1) img = img.toColourspace('b-w');
  return img.png({ compressionLevel: 6, adaptiveFiltering: true }).toBuffer();
}

export const ICT_LOOK_FILES = ['albedo.png', 'normal.png', 'specular.png', 'roughness.png', 'eye.png', 'lashes.png', 'labels.png', 'eye_L_labels.png', 'eye_R_labels.png'] as const;
export const ICT_HEAD_FILES = ['head.json', 'head.glb', 'params.json'] as const;

/** The skin and eye texture files of a draw, in memory. */
export async function generateIctLookFiles(params: IctHeadParams, model: IctModel): Promise<Record<(typeof ICT_LOOK_FILES)[number], Buffer>> {
  const tex = buildIctSkinTextures(model, params.skin, params.textureSize);
  const eye = buildIctEyeTexture(params.eyes, EYE_TEXTURE_SIZE);
  const lashes = buildIctLashTexture(params.skin, LASH_TEXTURE_SIZE);
  const skinLabels = buildIctSkinLabels(model, params.textureSize);
  const [albedo, normal, specular, roughness, eyePng, lashPng, labelsPng, eyeLPng, eyeRPng] = await Promise.all([
    png(tex.albedo, tex.width, tex.height, 3),
    png(tex.normal, tex.width, tex.height, 3),
    png(tex.specular, tex.width, tex.height, 1),
    png(tex.roughness, tex.width, tex.height, 1),
    png(eye, EYE_TEXTURE_SIZE, EYE_TEXTURE_SIZE, 3),
    png(lashes, LASH_TEXTURE_SIZE, LASH_TEXTURE_SIZE, 4),
    png(skinLabels, 2 * params.textureSize, params.textureSize, 1),
    png(buildIctEyeLabels(EYE_TEXTURE_SIZE, 'left'), EYE_TEXTURE_SIZE, EYE_TEXTURE_SIZE, 1),
    png(buildIctEyeLabels(EYE_TEXTURE_SIZE, 'right'), EYE_TEXTURE_SIZE, EYE_TEXTURE_SIZE, 1),
  ]);
  return {
    'albedo.png': albedo,
    'normal.png': normal,
    'specular.png': specular,
    'roughness.png': roughness,
    'eye.png': eyePng,
    'lashes.png': lashPng,
    'labels.png': labelsPng,
    'eye_L_labels.png': eyeLPng,
    'eye_R_labels.png': eyeRPng,
  };
}

/** head.json + head.glb + params.json of a draw, in memory (`lookDir` = the texture folder's name). */
export function generateIctHeadFiles(params: IctHeadParams, model: IctModel, lookDir: string): { files: Record<(typeof ICT_HEAD_FILES)[number], Buffer>; mesh: IctHeadMesh & { eyeShiftCm: [number, number] } } {
  const mesh = buildIctHead(params, model);
  const glb = encodeGlbParts(
    mesh.parts.map((p) => ({ name: p.name, materialName: p.name, positions: p.positions, normals: p.normals, uvs: p.uvs, indices: p.indices })),
    `virtual-light-stage ict-head v${ICT_GENERATOR_VERSION}`,
  );
  const look = (f: string) => `../${lookDir}/${f}`;
  const descriptor = {
    id: `ict-${ictHeadHash(params, model)}`,
    name: 'ICT Face Model Light identity (project draw)',
    version: 1,
    mesh: 'head.glb',
    maps: { albedo: look('albedo.png'), normal: look('normal.png'), specular: look('specular.png'), roughness: look('roughness.png') },
    normalMap: { convention: 'opengl', scale: 1.0 },
    scaleToMetres: 1.0,
    upAxis: '+Y',
    facing: '+Z',
    uvOrigin: 'top-left',
    // Already centred (eyes 2.7 cm above the origin, head depth centred): no bbox re-centring,
    // which would move every expression and identity differently.
    center: [0, 0, 0],
    material: { roughness: 0.5, specularF0: 0.028 },
    // Semantic parsing (renderer/assets/ict/labels.ts): the skin's regions in its UV atlas, iris
    // and sclera on the eyeball shells; teeth, mouth and lashes by their part kind.
    labels: { default: 'skin', map: look('labels.png') },
    parts: mesh.parts.map((p) => ({
      mesh: p.name,
      kind: p.kind,
      ...ICT_PART_MATERIALS[p.kind],
      ...(p.kind === 'skin' ? { headMaps: true } : {}),
      ...(p.kind === 'eye' ? { albedoMap: look('eye.png'), ...eyeLabels(p.name, look) } : {}),
      ...(p.kind === 'lashes' ? { albedoMap: look('lashes.png') } : {}),
    })),
    // The 68 Multi-PIE landmark vertices (upstream vertex_indices.json), in this mesh's frame.
    landmarks: mesh.landmarks,
    license: 'MIT (ICT Face Model Light, Copyright (c) 2020 USC Institute for Creative Technologies); textures CC0 (generated by project code)',
    attribution: ICT_ATTRIBUTION,
  };
  const record = { ...params, ipdM: mesh.ipdM, eyeShiftCm: mesh.eyeShiftCm, landmarks: mesh.landmarks };
  return {
    files: {
      'head.json': Buffer.from(JSON.stringify(descriptor, null, 2) + '\n'),
      'head.glb': glb,
      'params.json': Buffer.from(JSON.stringify(record, null, 2) + '\n'),
    },
    mesh,
  };
}

/** The eye parts' segmentation: ict_eye_L is the subject's left eye (+X). */
function eyeLabels(part: string, look: (f: string) => string): { label: string; labelMap: string } {
  const left = part.endsWith('_L');
  return { label: left ? 'left_eye' : 'right_eye', labelMap: look(left ? 'eye_L_labels.png' : 'eye_R_labels.png') };
}

function complete(dir: string, files: readonly string[]): boolean {
  return files.every((f) => {
    try {
      return fs.statSync(path.join(dir, f)).size > 0;
    } catch {
      return false;
    }
  });
}

async function writeDir(dir: string, files: Record<string, Buffer>): Promise<void> {
  const tmp = `${dir}.tmp-${process.pid}-${crypto.randomBytes(3).toString('hex')}`;
  await fs.promises.mkdir(tmp, { recursive: true });
  try {
    for (const [f, b] of Object.entries(files)) await fs.promises.writeFile(path.join(tmp, f), b);
    if (complete(dir, Object.keys(files))) return; // a concurrent writer won
    await fs.promises.rm(dir, { recursive: true, force: true });
    try {
      await fs.promises.rename(tmp, dir);
    } catch (err) {
      if (!complete(dir, Object.keys(files))) throw err;
    }
  } finally {
    await fs.promises.rm(tmp, { recursive: true, force: true });
  }
}

const inFlight = new Map<string, Promise<string>>();

export interface EnsureIctOptions extends LoadIctOptions {
  cacheRoot: string;
}

/** The head folder of ICT options (drawn with their seed, default 0), generated when missing. */
export async function ensureIctHead(options: IctOptionsInput, opts: EnsureIctOptions): Promise<{ dir: string; params: IctHeadParams }> {
  const params = sampleIctParams(options);
  const model = loadIctModel(opts);
  const heads = path.resolve(opts.cacheRoot, 'heads');
  const lookName = `ict-look-${ictLookHash(params, model)}`;
  const dir = path.join(heads, `ict-${ictHeadHash(params, model)}`);
  const lookDir = path.join(heads, lookName);
  if (complete(dir, ICT_HEAD_FILES) && complete(lookDir, ICT_LOOK_FILES)) return { dir, params };
  let p = inFlight.get(dir);
  if (!p) {
    p = (async () => {
      await fs.promises.mkdir(heads, { recursive: true });
      if (!complete(lookDir, ICT_LOOK_FILES)) await writeDir(lookDir, await generateIctLookFiles(params, model));
      if (!complete(dir, ICT_HEAD_FILES)) await writeDir(dir, generateIctHeadFiles(params, model, lookName).files);
      return dir;
    })().finally(() => inFlight.delete(dir));
    inFlight.set(dir, p);
  }
  return { dir: await p, params };
}

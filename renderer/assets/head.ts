// Node-only. Head folders: a small descriptor (head.json) naming the mesh and maps, checked
// before anything reaches the browser so a bad folder fails with the file named.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import sharp from 'sharp';
import { z } from 'zod';
import { canonicalMatrix } from '../core/frame.js';
import type { PageHead, Vec3 } from '../core/protocol.js';
import { PROJECT_ROOT } from '../io/paths.js';
import { resolveAssetPath } from '../io/asset-roots.js';
import { ensureProceduralHead, isProceduralDrawRef, parseProceduralRef, sampleProceduralParams, type ProceduralHeadParams } from './procedural-head/index.js';
import { ensureIctHead, isIctRef, parseIctRef, type IctHeadParams } from './ict/index.js';
import { formatZodIssues, readJsonFile } from '../io/json-file.js';
import { checkMeshGeometry, gltfExternalFiles } from './mesh-check.js';
import { LABEL_NAMES, SEGMENTATION_LABELS, defaultLabelForKind, labelId } from '../core/labels.js';

const AxisSchema = z.enum(['+X', '-X', '+Y', '-Y', '+Z', '-Z']);
const LabelSchema = z.enum(LABEL_NAMES as [string, ...string[]]);

export const HeadDescriptorSchema = z
  .object({
    id: z.string().min(1),
    name: z.string().optional(),
    version: z.number().optional(),
    /** Mesh file (.glb, .gltf or .obj), relative to baseDir. */
    mesh: z.string().min(1),
    /** Folder holding mesh and maps, relative to the descriptor's folder (default: that folder). */
    baseDir: z.string().optional(),
    maps: z
      .object({ albedo: z.string(), normal: z.string(), specular: z.string(), roughness: z.string() })
      .partial()
      .default({}),
    normalMap: z
      .object({ convention: z.enum(['opengl', 'directx']).default('opengl'), scale: z.number().positive().default(1) })
      .default({ convention: 'opengl', scale: 1 }),
    scaleToMetres: z.number().positive(),
    upAxis: AxisSchema.default('+Y'),
    facing: AxisSchema.default('+Z'),
    /** Where v=0 lies in the images: 'top-left' (glTF) or 'bottom-left' (OpenGL/OBJ). */
    uvOrigin: z.enum(['top-left', 'bottom-left']),
    center: z.union([z.literal('bbox'), z.tuple([z.number(), z.number(), z.number()])]).default('bbox'),
    material: z
      .object({
        albedoFactor: z.tuple([z.number(), z.number(), z.number()]).default([1, 1, 1]),
        roughness: z.number().min(0.02).max(1).default(0.5),
        specularF0: z.number().min(0).max(0.2).default(0.028),
      })
      .default({ albedoFactor: [1, 1, 1], roughness: 0.5, specularF0: 0.028 }),
    /** Per-part materials of multi-mesh heads (mesh = node/mesh name in the file); absent: one material. */
    parts: z
      .array(
        z
          .object({
            mesh: z.string().min(1),
            kind: z.string().min(1),
            albedo: z.tuple([z.number().min(0).max(1), z.number().min(0).max(1), z.number().min(0).max(1)]).default([1, 1, 1]),
            roughness: z.number().min(0.02).max(1).default(0.5),
            f0: z.number().min(0).max(0.2).default(0.028),
            alpha: z.number().min(0).max(1).default(1),
            /** The part takes the head's maps and material (the skin). */
            headMaps: z.boolean().default(false),
            /** sRGB albedo image of this part, relative to baseDir. */
            albedoMap: z.string().optional(),
            /** Segmentation class (core/labels.ts) of the part; default from its kind (skin for unknown kinds). */
            label: LabelSchema.optional(),
            /** 8-bit grey image of label ids in the part's UV layout, relative to the head.json folder (overrides `label` where present). */
            labelMap: z.string().optional(),
          })
          .strict(),
      )
      .optional(),
    /**
     * Semantic parsing of the head material's surfaces: one class (`default`), or an 8-bit grey
     * image of label ids (`map`, in the UV layout of the head's maps). Label maps resolve against
     * the head.json folder, not baseDir: they are often made for a scan, not shipped with it.
     */
    labels: z.object({ default: LabelSchema.default('skin'), map: z.string().optional() }).strict().optional(),
    /**
     * The 68 Multi-PIE landmarks in the mesh's own units and axes (before scaleToMetres, upAxis,
     * facing and centring), for heads that have them: written per sample, projected and tested
     * against the depth pass.
     */
    landmarks: z.array(z.tuple([z.number(), z.number(), z.number()])).length(68).optional(),
    license: z.string().optional(),
    attribution: z.string().optional(),
  })
  .strict();

export type HeadDescriptor = z.infer<typeof HeadDescriptorSchema>;

export interface ResolvedHead {
  descriptorPath: string;
  descriptor: HeadDescriptor;
  files: { mesh: string; albedo?: string; normal?: string; specular?: string; roughness?: string };
  /** Albedo images of the descriptor's parts, by part index. */
  partFiles?: Record<number, string>;
  /** Label-id images: the head material's (`head`) and the parts' (by index). */
  labelFiles?: { head?: string; parts: Record<number, string> };
  /** What an ICT head reference drew (every weight), for the sample's metadata. */
  ictParams?: IctHeadParams;
  /** What a procedural-person reference drew (shape and skin), for the sample's metadata. */
  proceduralParams?: ProceduralHeadParams;
  /** sha256 over the descriptor and every file it names. */
  contentHash: string;
  specularMapMean: number | null;
}

export { formatZodIssues };

const MESH_EXTS = new Set(['.glb', '.gltf', '.obj']);

async function checkImage(file: string, role: string): Promise<void> {
  try {
    const meta = await sharp(file).metadata();
    if (!meta.width || !meta.height) throw new Error('no image size');
    // Decode fully: a truncated JPEG/PNG passes metadata() but fails here.
    await sharp(file, { failOn: 'truncated' }).raw().toBuffer();
  } catch (err) {
    throw new Error(`head ${role} map ${file} is not a readable image: ${(err as Error).message}`);
  }
}

/** A label map must be one 8-bit channel of known label ids (a colour or 16-bit image is refused). */
async function checkLabelImage(file: string, role: string): Promise<void> {
  let data: Buffer;
  let meta: sharp.Metadata;
  try {
    meta = await sharp(file).metadata();
    // sharp hands grey images out as sRGB unless told: keep the one channel as stored.
    data = await sharp(file, { failOn: 'truncated' }).extractChannel(0).raw().toBuffer();
  } catch (err) {
    throw new Error(`head ${role} ${file} is not a readable image: ${(err as Error).message}`);
  }
  if (meta.channels !== 1 || meta.depth !== 'uchar') throw new Error(`head ${role} ${file} must be an 8-bit single-channel image of label ids (has ${meta.channels} channels of ${meta.depth})`);
  const known = new Set(SEGMENTATION_LABELS.map((l) => l.id));
  const bad = [...new Set<number>(data)].filter((v) => !known.has(v));
  if (bad.length) throw new Error(`head ${role} ${file} holds unknown label ids ${bad.slice(0, 8).join(', ')} (known: core/labels.ts)`);
}

function checkMesh(file: string): void {
  const ext = path.extname(file).toLowerCase();
  const buf = fs.readFileSync(file);
  if (ext === '.glb') {
    if (buf.length < 20 || buf.readUInt32LE(0) !== 0x46546c67) throw new Error(`head mesh ${file} is not a GLB file (bad magic)`);
    const declared = buf.readUInt32LE(8);
    if (declared !== buf.length) throw new Error(`head mesh ${file} is truncated or corrupt: header says ${declared} bytes, file has ${buf.length}`);
    const jsonLen = buf.readUInt32LE(12);
    try {
      JSON.parse(buf.subarray(20, 20 + jsonLen).toString('utf8'));
    } catch {
      throw new Error(`head mesh ${file} has a corrupt JSON chunk`);
    }
  } else if (ext === '.gltf') {
    try {
      JSON.parse(buf.toString('utf8'));
    } catch {
      throw new Error(`head mesh ${file} is not valid glTF JSON`);
    }
  } else if (ext === '.obj') {
    if (!/^v\s/m.test(buf.toString('utf8'))) throw new Error(`head mesh ${file} has no vertices ("v" lines)`);
  }
  // The container parses; now the geometry itself (garbage vertex bytes render NaN passes).
  checkMeshGeometry(file, buf);
}

/**
 * Every file a head descriptor names (descriptor, mesh, maps, a .gltf's external buffers and
 * images), resolved to absolute paths, without checking them. The server uses it to keep a
 * descriptor inside the asset roots: `baseDir` and map paths may point anywhere.
 */
export function headDescriptorFiles(ref: string, opts: { cwd?: string } = {}): string[] {
  const target = path.resolve(opts.cwd ?? process.cwd(), ref);
  const descriptorPath = fs.existsSync(target) && fs.statSync(target).isDirectory() ? path.join(target, 'head.json') : target;
  const out = [descriptorPath];
  if (!fs.existsSync(descriptorPath)) return out;
  const parsed = HeadDescriptorSchema.safeParse(readJsonFile(descriptorPath, 'head descriptor'));
  if (!parsed.success) return out; // reported by resolveHead
  const d = parsed.data;
  const base = resolveAssetPath(path.resolve(path.dirname(descriptorPath), d.baseDir ?? '.')); // ../shared/assets or the fetch-assets cache
  const mesh = path.resolve(base, d.mesh);
  out.push(mesh, ...gltfExternalFiles(mesh));
  for (const k of ['albedo', 'normal', 'specular', 'roughness'] as const) {
    const m = d.maps[k];
    if (m) out.push(path.resolve(base, m));
  }
  const own = path.dirname(descriptorPath);
  for (const p of d.parts ?? []) {
    if (p.albedoMap) out.push(path.resolve(base, p.albedoMap));
    if (p.labelMap) out.push(path.resolve(own, p.labelMap));
  }
  if (d.labels?.map) out.push(path.resolve(own, d.labels.map));
  return out;
}

/** The drawn parameters a resolved head carries (sample.json head.params), if any. */
export function headParamsOf(h: Pick<ResolvedHead, 'ictParams' | 'proceduralParams'>): IctHeadParams | ProceduralHeadParams | undefined {
  return h.ictParams ?? h.proceduralParams;
}

/**
 * Resolves a head reference: 'procedural' (the built-in mannequin), 'procedural:<seed>' /
 * 'procedural:{options}' (a drawn procedural person, renderer/assets/procedural-head/params.ts),
 * 'ict' / 'ict:<seed>' / 'ict:{options}' (a drawn ICT Face Model identity, renderer/assets/ict/),
 * a folder with head.json, or a path to a descriptor file. Relative paths resolve against `cwd`
 * then the project root.
 */
export async function resolveHead(ref: string, opts: { cwd?: string; cacheRoot?: string } = {}): Promise<ResolvedHead> {
  let target = ref;
  let ictParams: IctHeadParams | undefined;
  let proceduralParams: ProceduralHeadParams | undefined;
  if (ref === 'procedural' || ref === 'builtin:procedural') {
    target = await ensureProceduralHead(opts.cacheRoot ?? path.join(PROJECT_ROOT, 'output', '.cache'));
  } else if (isProceduralDrawRef(ref)) {
    // 'procedural:<seed>' or 'procedural:{options}' (seed 0 without one): a drawn person, built and cached.
    proceduralParams = sampleProceduralParams(parseProceduralRef(ref));
    target = await ensureProceduralHead(opts.cacheRoot ?? path.join(PROJECT_ROOT, 'output', '.cache'), { params: proceduralParams });
  } else if (isIctRef(ref)) {
    // 'ict' (seed 0), 'ict:<seed>' or 'ict:{options}': a drawn ICT identity, built and cached.
    const r = await ensureIctHead(parseIctRef(ref), { cacheRoot: opts.cacheRoot ?? path.join(PROJECT_ROOT, 'output', '.cache') });
    target = r.dir;
    ictParams = r.params;
  } else if (!path.isAbsolute(ref)) {
    const fromCwd = path.resolve(opts.cwd ?? process.cwd(), ref);
    target = fs.existsSync(fromCwd) ? fromCwd : path.resolve(PROJECT_ROOT, ref);
  }
  if (!fs.existsSync(target)) throw new Error(`head ${target} does not exist`);
  const descriptorPath = fs.statSync(target).isDirectory() ? path.join(target, 'head.json') : target;
  if (!fs.existsSync(descriptorPath)) throw new Error(`head descriptor ${descriptorPath} does not exist (a head folder needs a head.json)`);
  const raw = readJsonFile(descriptorPath, 'head descriptor');
  const parsed = HeadDescriptorSchema.safeParse(raw);
  if (!parsed.success) throw new Error(formatZodIssues(parsed.error, `head descriptor ${descriptorPath}`));
  const d = parsed.data;
  const base = resolveAssetPath(path.resolve(path.dirname(descriptorPath), d.baseDir ?? '.')); // ../shared/assets or the fetch-assets cache
  const files: ResolvedHead['files'] = { mesh: path.resolve(base, d.mesh) };
  for (const k of ['albedo', 'normal', 'specular', 'roughness'] as const) {
    const m = d.maps[k];
    if (m) files[k] = path.resolve(base, m);
  }
  const partFiles: Record<number, string> = {};
  (d.parts ?? []).forEach((p, i) => {
    if (p.albedoMap) partFiles[i] = path.resolve(base, p.albedoMap);
  });
  // Label maps resolve against the descriptor's own folder (see the schema).
  const own = path.dirname(descriptorPath);
  const labelParts: Record<number, string> = {};
  (d.parts ?? []).forEach((p, i) => {
    if (p.labelMap) labelParts[i] = path.resolve(own, p.labelMap);
  });
  const labelHead = d.labels?.map ? path.resolve(own, d.labels.map) : undefined;
  const labelRoles: [string, string][] = [...(labelHead ? [['labels.map', labelHead] as [string, string]] : []), ...Object.entries(labelParts).map(([i, f]) => [`parts.${i}.labelMap`, f] as [string, string])];
  for (const [role, file] of [...Object.entries(files), ...Object.entries(partFiles).map(([i, f]) => [`parts.${i}.albedoMap`, f]), ...labelRoles]) {
    if (!fs.existsSync(file)) throw new Error(`head ${d.id}: ${role} file ${file} (named in ${descriptorPath}) does not exist`);
  }
  const ext = path.extname(files.mesh).toLowerCase();
  if (!MESH_EXTS.has(ext)) throw new Error(`head mesh ${files.mesh} has unsupported extension "${ext}" (use .glb, .gltf or .obj)`);
  checkMesh(files.mesh);
  const hash = crypto.createHash('sha256').update(JSON.stringify(d));
  for (const [role, file] of Object.entries(files)) {
    if (role !== 'mesh') await checkImage(file, role);
    hash.update(role).update(fs.readFileSync(file));
  }
  for (const [i, file] of Object.entries(partFiles)) {
    await checkImage(file, `parts.${i}.albedoMap`);
    hash.update(`part${i}`).update(fs.readFileSync(file));
  }
  for (const [role, file] of labelRoles) {
    await checkLabelImage(file, role);
    hash.update(role).update(fs.readFileSync(file));
  }
  let specularMapMean: number | null = null;
  if (files.specular) {
    const stats = await sharp(files.specular).stats();
    specularMapMean = stats.channels[0].mean / 255;
  }
  return {
    descriptorPath,
    descriptor: d,
    files,
    ...(Object.keys(partFiles).length ? { partFiles } : {}),
    ...(ictParams ? { ictParams } : {}),
    ...(proceduralParams ? { proceduralParams } : {}),
    ...(labelRoles.length ? { labelFiles: { ...(labelHead ? { head: labelHead } : {}), parts: labelParts } } : {}),
    contentHash: hash.digest('hex'),
    specularMapMean,
  };
}

/** The page's view of a head: URLs instead of paths, frame and material resolved. */
export function toPageHead(h: ResolvedHead, urlFor: (file: string) => string, subsurface: boolean): PageHead {
  const d = h.descriptor;
  const maps: PageHead['maps'] = {};
  for (const k of ['albedo', 'normal', 'specular', 'roughness'] as const) {
    const f = h.files[k];
    if (f) maps[k] = urlFor(f);
  }
  return {
    key: h.contentHash.slice(0, 16),
    meshUrl: urlFor(h.files.mesh),
    meshExt: path.extname(h.files.mesh).toLowerCase(),
    maps,
    toCanonical: canonicalMatrix(d.upAxis, d.facing, d.scaleToMetres),
    center: d.center === 'bbox' ? 'bbox' : (d.center as Vec3),
    flipV: d.uvOrigin === 'bottom-left',
    normalMap: { greenUp: d.normalMap.convention === 'opengl', scale: d.normalMap.scale },
    material: {
      albedoFactor: d.material.albedoFactor as Vec3,
      roughness: d.material.roughness,
      specularF0: d.material.specularF0,
      // Babylon multiplies F0 (from the IOR) by the map: scale so the map's mean gives specularF0.
      specularMapScale: h.specularMapMean ? 1 / Math.max(h.specularMapMean, 1e-3) : 1,
      subsurface,
    },
    ...(d.parts
      ? {
          parts: d.parts.map((p, i) => ({
            meshName: p.mesh,
            kind: p.kind,
            albedo: p.albedo as Vec3,
            roughness: p.roughness,
            f0: p.f0,
            alpha: p.alpha,
            headMaps: p.headMaps,
            ...(h.partFiles?.[i] ? { albedoMap: urlFor(h.partFiles[i]) } : {}),
            label: labelId(p.label ?? defaultLabelForKind(p.kind)),
            ...(h.labelFiles?.parts[i] ? { labelMap: urlFor(h.labelFiles.parts[i]) } : {}),
          })),
        }
      : {}),
    label: labelId(d.labels?.default ?? 'skin'),
    ...(d.landmarks ? { landmarks: d.landmarks as Vec3[] } : {}),
    ...(h.labelFiles?.head ? { labelMap: urlFor(h.labelFiles.head) } : {}),
  };
}

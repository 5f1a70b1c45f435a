// Node-only. Dataset-level files of a finished batch, built only from the sample folders (so they
// are the same whatever the worker count or interruption history): manifest.jsonl, dataset.json,
// dataset_card.md and, optionally, WebDataset tar shards.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { writeFileAtomic, writeJsonAtomic, tempPathFor, TEMP_SUFFIX_RE } from '../../io/fs-atomic.js';
import { PKG, PROJECT_ROOT } from '../../io/paths.js';
import { type BatchConfig, checkBatchBounds } from './config.js';
import { sampleId, expandEnvMaps, LIGHTING_INDEPENDENT_PASSES } from './plan.js';
import { ENCODING_DOC } from '../../dataset/encodings.js';
import { SAMPLES_DIR, SAMPLE_JSON, listFiles, stableStringify, sha256, reproducibleSample } from '../../dataset/layout.js';
import { missingIndices, scanSamples } from '../../dataset/output-folder.js';
import { cheekAlbedo, itaDeg } from '../../assets/ict/skin.js';
import { ITA_BINS } from '../../dataset/skin-tone.js';
import { SEGMENTATION_LABELS } from '../../core/labels.js';
import { writeContactSheet, CONTACT_SHEET_FILE } from '../../dataset/contact-sheet.js';
import { identityKeyOf } from '../../dataset/identity.js';
import { LANDMARK_VISIBILITY_TOLERANCE_M } from '../../develop/landmarks.js';
import { isIctRef } from '../../assets/ict/params.js';
import { defaultIctDir } from '../../assets/ict/model.js';
import { DATASET_FORMAT_VERSION, readRecord, MetaRecordSchema, SampleRecordSchema, type SampleHeadRecord, type SampleRecord } from '../../dataset/records.js';


type HeadRecord = Omit<SampleHeadRecord, 'params'>;

/** dataset.json "segmentation": what segmentation.png's ids mean. */
const SEGMENTATION_DOC = {
  file: 'segmentation.png (in the first lighting folder, with the other lighting-independent passes)',
  encoding: '8-bit grey, one label id per pixel: the class of the surface at the pixel centre (point-sampled like depth and normal); 0 = background',
  sides: "left/right are the subject's own sides (+X of the canonical head frame is the subject's left)",
  compatibility: 'ids 0-14 are FaceSynthetics\' ids; finer classes (iris, eyelashes, teeth) have ids from 19 and name the coarser class they fold into ("coarse")',
  labels: SEGMENTATION_LABELS,
};

/** dataset.json "landmarks": the sample.json / manifest field. */
const LANDMARKS_DOC = {
  field: 'sample.json and manifest.jsonl "landmarks" (heads that have landmarks: ICT identities, heads whose head.json lists them)',
  convention: '68 Multi-PIE (iBUG 300-W) points, 0-16 jaw, 17-26 brows, 27-35 nose, 36-47 eyes, 48-67 mouth; ICT: its landmark vertices, moving with identity and expression',
  points: 'pixels of the written frame (after the crop): x right, y down, origin at the top-left corner of pixel (0,0), pixel centres at +0.5',
  distance: 'metres from the camera centre, comparable with depth.exr',
  visible: `in the frame and not hidden: a pixel of the 3x3 neighbourhood sees the surface (depth pass) no nearer than ${LANDMARK_VISIBILITY_TOLERANCE_M} m + 1.5 x the depth step to its neighbours (capped at 5 mm) in front of the landmark`,
  canonical: 'head frame, metres',
};

/** Who the samples show: distinct identities, expression kinds, the drawn skins' ITA histogram. */
export interface IdentityStats {
  /** distinct identities (ICT: distinct identity weight vectors; other heads: distinct heads) */
  identities: number;
  /** samples per source: 'ict' or the head reference */
  sources: Record<string, number>;
  expressionKinds: Record<string, number>;
  /** ITA of the drawn skins' cheek albedo (ICT draws only), per bin */
  ita: { bin: string; range: [number | null, number | null]; samples: number }[];
  itaRange: [number, number] | null;
  /** the config's ICT entries fell back to the procedural head (no model files) */
  ictFallback: boolean;
}

function identityStats(samples: SampleRecord[], config: BatchConfig, configFile?: string): IdentityStats {
  const ids = new Set<string>();
  const sources: Record<string, number> = {};
  const kinds: Record<string, number> = {};
  const ita = ITA_BINS.map(() => 0);
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of samples) {
    const p = s.head.params;
    if (p) {
      // ICT: the identity weights; a procedural person: its id (named after its drawn shape).
      ids.add(identityKeyOf({ id: s.head.id, ref: s.head.ref, params: p.source === 'ict' ? p : null }));
      const source = p.source === 'ict' ? 'ict' : 'procedural (drawn)';
      sources[source] = (sources[source] ?? 0) + 1;
      // The procedural face is neutral (eyes closed).
      const kind = p.source === 'ict' ? p.expressionKind : 'neutral';
      kinds[kind] = (kinds[kind] ?? 0) + 1;
      const v = itaDeg(...(cheekAlbedo(p.skin) as [number, number, number]));
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
      ita[ITA_BINS.findIndex((b) => v >= b.lo && v < b.hi)]++;
    } else {
      ids.add(s.head.contentHash);
      sources[s.head.ref] = (sources[s.head.ref] ?? 0) + 1;
      kinds['fixed (not drawn)'] = (kinds['fixed (not drawn)'] ?? 0) + 1;
    }
  }
  // An ICT entry with fallback in the config file, none of whose heads is an ICT reference: it fell back.
  let ictFallback = false;
  if (configFile && !config.heads.some((h) => isIctRef(h))) {
    try {
      const raw = JSON.parse(fs.readFileSync(configFile, 'utf8')) as { heads?: unknown[] };
      ictFallback = (raw.heads ?? []).some((h) => !!h && typeof h === 'object' && (h as { source?: unknown }).source === 'ict' && 'fallback' in h);
    } catch {
      /* the config was parsed before; best effort */
    }
  }
  return {
    identities: ids.size,
    sources,
    expressionKinds: kinds,
    ita: ITA_BINS.map((b, i) => ({ bin: b.name, range: [Number.isFinite(b.lo) ? b.lo : null, Number.isFinite(b.hi) ? b.hi : null], samples: ita[i] })),
    itaRange: Number.isFinite(lo) ? [lo, hi] : null,
    ictFallback,
  };
}

function envMapLicense(ref: string): { license: string; source: string } {
  if (ref.startsWith('builtin:')) {
    return { license: 'CC0-1.0', source: `Poly Haven (https://polyhaven.com), "${ref.slice(8)}" as embedded (512x256 EXR) in @pmndrs/assets` };
  }
  const abs = path.isAbsolute(ref) ? ref : path.resolve(PROJECT_ROOT, ref);
  const dir = path.dirname(abs);
  let lic: string | undefined;
  try {
    lic = fs.readdirSync(dir).find((f) => /^licen[cs]e/i.test(f));
  } catch {
    /* unreadable folder */
  }
  if (lic && /cc0/i.test(lic)) return { license: 'CC0-1.0', source: `file ${ref} (license file ${path.join(dir, lic)}; Poly Haven maps are CC0)` };
  if (lic) return { license: `see ${path.join(dir, lic)}`, source: `file ${ref}` };
  return { license: 'unknown (no license file next to the map: check its source before publishing)', source: `file ${ref}` };
}

export const WDS_DIR = 'wds';
export const MANIFEST_FILE = 'manifest.jsonl';
export const DATASET_JSON = 'dataset.json';

/**
 * Removes the temp files and folders (TEMP_SUFFIX_RE, see fs-atomic.ts) directly under `dir`,
 * left by a process killed mid-write; returns their names. Only the lock holder may call this:
 * another writer's temp files are live.
 */
export function removeTempEntries(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const removed: string[] = [];
  for (const name of names.sort()) {
    if (!TEMP_SUFFIX_RE.test(name)) continue;
    fs.rmSync(path.join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

/** Indices of the finished sample folders (any index, also >= samples). */
export function finishedSamples(outDir: string): Set<number> {
  return scanSamples(path.join(path.resolve(outDir), SAMPLES_DIR), false).complete;
}

/** Indices 0..samples-1 without a finished folder. */
export function missingSamples(config: BatchConfig, outDir: string): number[] {
  checkBatchBounds(config);
  return missingIndices(scanSamples(path.join(path.resolve(outDir), SAMPLES_DIR), false).complete, config.samples);
}

/**
 * Checks that every sample exists, then writes the tars, manifest.jsonl, dataset.json and the card
 * (in that order: the manifest says "complete"). Temp files of killed writes are removed from
 * samples/, the dataset folder and wds/ (the caller holds the lock).
 */
export async function finishBatch(config: BatchConfig, opts: { outDir: string; configFile?: string; configHash: string; hooks?: FinalizeHooks }): Promise<FinalizeResult> {
  const gaps = missingSamples(config, opts.outDir).map(sampleId);
  if (gaps.length) throw new Error(`batch incomplete: missing samples ${gaps.slice(0, 10).join(', ')}${gaps.length > 10 ? ', ...' : ''}`);
  // Every sample exists: a temp folder left now is from a worker killed mid-sample (queue mode:
  // perhaps on another machine, so no pid check) or from a straggler whose copy is dropped anyway.
  const scan = scanSamples(path.join(path.resolve(opts.outDir), SAMPLES_DIR), true);
  const res = await finalizeDataset(path.resolve(opts.outDir), config, { configFile: opts.configFile, configHash: opts.configHash, hooks: opts.hooks });
  return { ...res, removedTemps: [...scan.removedTemps.map((n) => `${SAMPLES_DIR}/${n}`), ...res.removedTemps] };
}

export interface FinalizeHooks {
  /** Test hook: runs after the tars are written, before manifest.jsonl (throw to simulate a kill). */
  afterTars?: () => void | Promise<void>;
}

export interface FinalizeResult {
  manifest: string;
  datasetJson: string;
  card: string;
  tars: string[];
  samples: number;
  files: number;
  bytes: number;
  /** temp files of killed writes removed from the dataset folder and wds/ */
  removedTemps: string[];
}

/**
 * Writes the tars (when output.webdataset), then manifest.jsonl, dataset.json and dataset_card.md
 * for samples 0..config.samples-1. The manifest marks a dataset complete (the server lists a folder
 * with one as complete), so it is written only after everything it describes; a rerun rewrites
 * every tar (same bytes: they are deterministic), which repairs missing or truncated ones. Temp
 * files of a killed finalize (dataset folder, wds/) are removed first.
 */
export async function finalizeDataset(outDir: string, config: BatchConfig, opts: { configFile?: string; configHash: string; hooks?: FinalizeHooks }): Promise<FinalizeResult> {
  const wdsDir = path.join(outDir, WDS_DIR);
  const removedTemps = [...removeTempEntries(outDir), ...removeTempEntries(wdsDir).map((n) => `${WDS_DIR}/${n}`)];
  const lines: string[] = [];
  const heads = new Map<string, HeadRecord & { samples: number }>();
  const mapUse = new Map<string, number>();
  const renderers = new Map<string, number>();
  let files = 0;
  let bytes = 0;
  const perSampleFiles: string[][] = [];
  const records: SampleRecord[] = [];
  for (let i = 0; i < config.samples; i++) {
    const id = sampleId(i);
    const dir = path.join(outDir, SAMPLES_DIR, id);
    let s: SampleRecord;
    try {
      s = readRecord(path.join(dir, SAMPLE_JSON), SampleRecordSchema); // names the field; refuses another format version
    } catch (err) {
      throw new Error(`sample ${id}: ${(err as Error).message}`, { cause: err });
    }
    const rel = listFiles(dir).map((f) => `${SAMPLES_DIR}/${id}/${f}`);
    perSampleFiles.push(rel);
    files += rel.length;
    for (const f of rel) bytes += fs.statSync(path.join(outDir, f)).size;
    const { files: _own, ...rest } = reproducibleSample(s);
    lines.push(JSON.stringify({ ...rest, files: rel }));
    records.push(s);
    const { params: _params, ...headRec } = s.head; // the draws stay in the manifest (one per sample)
    const h = heads.get(s.head.ref) ?? { ...headRec, samples: 0 };
    h.samples++;
    heads.set(s.head.ref, h);
    for (const l of s.lightings) {
      for (const e of l.lighting.environment) mapUse.set(e.map, (mapUse.get(e.map) ?? 0) + 1);
      try {
        const meta = readRecord(path.join(dir, l.folder, 'meta.json'), MetaRecordSchema);
        if (meta.renderer) {
          const key = stableStringify(meta.renderer);
          renderers.set(key, (renderers.get(key) ?? 0) + 1);
        }
      } catch {
        /* meta.json is checked by the pass writers; versions are best effort here */
      }
    }
  }
  const manifest = path.join(outDir, MANIFEST_FILE);
  const tars: string[] = [];
  if (config.output.webdataset) {
    const tarName = (n: number) => path.join(wdsDir, `${config.name}-${String(n).padStart(6, '0')}.tar`);
    // A manifest next to missing tars (a kill during the first finalize of an older version, or a
    // deleted tar) would claim a complete dataset while they are rewritten: withdraw it first.
    const shardCount = Math.ceil(config.samples / config.shardSize);
    if (Array.from({ length: shardCount }, (_, n) => tarName(n)).some((t) => !fs.existsSync(t))) fs.rmSync(manifest, { force: true });
    fs.mkdirSync(wdsDir, { recursive: true });
    for (let s0 = 0, n = 0; s0 < config.samples; s0 += config.shardSize, n++) {
      const tar = tarName(n);
      const entries: { name: string; file: string }[] = [];
      for (let i = s0; i < Math.min(config.samples, s0 + config.shardSize); i++) {
        const id = sampleId(i);
        for (const f of perSampleFiles[i]) entries.push({ name: `${id}.${f.slice(`${SAMPLES_DIR}/${id}/`.length).split('/').join('.')}`, file: path.join(outDir, f) });
      }
      await writeTar(tar, entries);
      tars.push(tar);
    }
  }
  await opts.hooks?.afterTars?.();
  await writeFileAtomic(manifest, lines.map((l) => l + '\n').join(''));

  const pool = expandEnvMaps(config.envMaps);
  const envMaps = [...new Set(pool)].map((ref) => ({ ref, ...envMapLicense(ref), inPool: pool.filter((p) => p === ref).length, usedByLightings: mapUse.get(ref) ?? 0 }));
  const headList = [...heads.values()].sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0));
  const identities = identityStats(records, config, opts.configFile);
  const rendererList = [...renderers.entries()].map(([k, n]) => ({ ...(JSON.parse(k) as Record<string, unknown>), lightingRenders: n }));
  const keys = config.lighting.mode === 'triplet' ? ['input_i', 'input_j', 'target_k'] : ['single'];
  // A look at who and what the batch rendered: the first 16 samples' previews (first lighting).
  const sheet = await writeContactSheet(outDir, { sampleDirs: Array.from({ length: config.samples }, (_, i) => path.join(outDir, SAMPLES_DIR, sampleId(i))), lightingFolder: keys[0] });
  const dataset = {
    format_version: DATASET_FORMAT_VERSION,
    name: config.name,
    description: config.description ?? null,
    generator: `${PKG.name}@${PKG.version} (renderer/pipelines/batch)`,
    samples: config.samples,
    lightingsPerSample: keys.length,
    lightingFolders: keys,
    files,
    bytes,
    seed: config.seed,
    configFile: opts.configFile ?? null,
    configContentHash: opts.configHash,
    manifestSha256: sha256(fs.readFileSync(manifest)),
    config,
    heads: headList,
    identities,
    envMaps,
    versions: { package: `${PKG.name}@${PKG.version}`, renderers: rendererList },
    layout: layoutDoc(config, keys),
    encodings: ENCODING_DOC,
    contactSheet: sheet ? `${CONTACT_SHEET_FILE} (the first ${Math.min(16, config.samples)} samples' ${keys[0]}/preview.png, 4 per row)` : null,
    ...(config.passes.includes('segmentation') ? { segmentation: SEGMENTATION_DOC } : {}),
    ...(records.some((r) => r.landmarks) ? { landmarks: LANDMARKS_DOC } : {}),
  };
  const datasetJson = path.join(outDir, DATASET_JSON);
  await writeJsonAtomic(datasetJson, dataset);
  const card = path.join(outDir, 'dataset_card.md');
  await writeFileAtomic(card, renderCard(config, dataset, headList, envMaps, rendererList, keys, identities));

  return { manifest, datasetJson, card, tars, samples: config.samples, files, bytes, removedTemps };
}

function identityLines(ids: IdentityStats, samples: number): string[] {
  const out: string[] = [];
  if (ids.ictFallback) {
    out.push(`- **The ICT face model was not found** (${defaultIctDir()}): the config's ICT entry fell back to drawn procedural heads (a new procedural person per sample, bald mannequins with closed eyes). Put the model in ../shared/assets/heads/ict_facekit or run \`npm run fetch-assets\` for ICT identities.`);
  }
  const src = Object.entries(ids.sources).map(([k, n]) => `${k === 'ict' ? 'ICT Face Model draws' : `\`${k}\``}: ${n}`).join(', ');
  out.push(`- distinct identities: ${ids.identities} in ${samples} sample(s) (${src})`);
  out.push(`- expressions: ${Object.entries(ids.expressionKinds).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ')}`);
  if (ids.itaRange) {
    out.push(`- skin tone, ITA of the drawn skins' cheek albedo (deg; atan((L* - 50) / b*)): ${ids.itaRange[0].toFixed(1)} .. ${ids.itaRange[1].toFixed(1)}`, '', '| ITA bin | range (deg) | samples |', '|---|---|---|');
    for (const b of ids.ita) out.push(`| ${b.bin} | ${b.range[0] ?? '-inf'} .. ${b.range[1] ?? 'inf'} | ${b.samples} |`);
    out.push('', 'Every weight of each draw (identity, expression shapes, gaze, blink, skin and iris parameters) is in sample.json `head.params` and the manifest.');
  } else {
    out.push('- skin tone: not drawn (fixed head textures)');
  }
  return out;
}

/** One line per head; drawn ICT identities (one head per sample) are summarised in one line. */
function headLines(heads: (HeadRecord & { samples: number })[]): string[] {
  const ict = heads.filter((h) => isIctRef(h.ref));
  const other = heads.filter((h) => !isIctRef(h.ref));
  const line = (h: HeadRecord & { samples: number }) => `- \`${h.ref}\` (${h.name}, ${h.samples} sample(s)): license ${h.license ?? 'unknown'}${h.attribution ? ` — ${h.attribution}` : ''}`;
  const out = other.map(line);
  if (ict.length > 0) {
    const n = ict.reduce((a, h) => a + h.samples, 0);
    out.push(`- ${ict.length} ICT Face Model identities (${n} sample(s); references in sample.json head.ref): license ${ict[0].license ?? 'unknown'}${ict[0].attribution ? ` — ${ict[0].attribution}` : ''}`);
  }
  return out;
}

function layoutDoc(config: BatchConfig, keys: string[]) {
  const dependent = config.passes.filter((p) => !LIGHTING_INDEPENDENT_PASSES.includes(p));
  return {
    'samples/<index, 6 digits>/': 'one training sample, written atomically (temp folder renamed last)',
    'samples/<id>/sample.json': 'every drawn value (head, camera, crop box, lighting draws b1, b2, X_i, X_j, X_k, Y), the resolved camera (K, extrinsics), per lighting its full description, passes, SH9 and file names; "run" holds timings/worker/attempts (not reproducible, not in the manifest)',
    ...Object.fromEntries(
      keys.map((k, n) => [
        `samples/<id>/${k}/`,
        `${n === 0 ? config.passes.join(', ') : dependent.join(', ') || 'beauty'} as written by writeSample (see meta.json "passes"), meta.json, ${ENCODING_DOC.latlong.split(':')[0]}, ${ENCODING_DOC.sh9.split(':')[0]}`,
      ]),
    ),
    'manifest.jsonl': 'one JSON line per sample, sorted by index: sample.json without "run", "files" = every file of the sample relative to the dataset folder',
    'dataset.json': 'counts, full config, heads and env maps with licenses, renderer versions',
    ...(config.passes.includes('preview') ? { [CONTACT_SHEET_FILE]: `the first samples' ${keys[0]}/preview.png tiled 4 per row (a look at who and what was rendered)` } : {}),
    ...(config.output.webdataset ? { 'wds/<name>-NNNNNN.tar': `WebDataset shards of ${config.shardSize} samples; key = sample id, extension = path inside the sample with "/" -> "." (e.g. 000003.input_i.beauty.exr)` } : {}),
  };
}

function renderCard(
  config: BatchConfig,
  d: { samples: number; files: number; bytes: number; configContentHash: string; manifestSha256: string },
  heads: (HeadRecord & { samples: number })[],
  envMaps: { ref: string; license: string; source: string; inPool: number; usedByLightings: number }[],
  renderers: Record<string, unknown>[],
  keys: string[],
  ids: IdentityStats,
): string {
  const mb = (d.bytes / 1048576).toFixed(1);
  const L = config.lighting;
  const attributions = [...new Map(heads.filter((h) => h.attribution && !/^CC0/i.test(h.license ?? '')).map((h) => [h.attribution, h])).values()];
  const out: string[] = [];
  out.push(`# ${config.name}`, '');
  if (config.description) out.push(config.description, '');
  out.push(
    `Synthetic portrait-relighting data rendered by the virtual light stage (${PKG.name}@${PKG.version}): head scans rendered headless (Chromium + Babylon.js PBR) with intrinsic passes.`,
    '',
    '## Summary',
    '',
    `- samples: ${d.samples} (indices 0..${d.samples - 1}), ${keys.length} lighting(s) each (${keys.join(', ')}), ${d.files} files, ${mb} MiB`,
    `- image size: ${config.width}x${config.height}; passes: ${config.passes.join(', ')}`,
    `- seed: ${config.seed}; sample i depends only on (config, seed, i) — regenerate any sample alone with planSample(config, i)`,
    `- config content sha256: ${d.configContentHash}; manifest.jsonl sha256: ${d.manifestSha256}`,
    '',
    '## Identities',
    '',
    ...identityLines(ids, d.samples),
    '',
    '## Lighting',
    '',
    L.mode === 'triplet'
      ? [
          "Each sample is one head and one camera under a triplet of lightings (the video-relighting paper's eq. 9, sec. 4.3):",
          '',
          '- `input_i`: L_i = X_i',
          '- `input_j`: L_j = b1 L_i + (1 - b1) X_j (temporal neighbour)',
          '- `target_k`: L_k = b2 L_j + (1 - b2) X_k + Y (target)',
          '',
          `X ~ G: a uniformly drawn environment map, rotation U[${L.G.rotationDeg.join(', ')}) deg about +Y, intensity U[${L.G.intensityRange.join(', ')}); b1, b2 ~ Beta(${L.betaShape.join(', ')}); Y ~ H: ${L.H.count.join('-')} point lights of uniform random colour at 1..${1 + L.H.maxDistance} head radii (${L.H.headRadius} m) from the head centre, head-normalised intensity U[${L.H.intensityRange.join(', ')}).`,
        ].join('\n')
      : `One lighting per sample (\`single\`): L = X ~ G (map, rotation U[${L.G.rotationDeg.join(', ')}) deg, intensity U[${L.G.intensityRange.join(', ')})).`,
    '',
    'Lighting-independent passes (albedo, normal, depth, mask) are written with the first lighting only; beauty, preview, diffuse and specular with every lighting. Mixed lightings are rendered exactly (a linear sum of rotated, scaled maps plus point lights).',
    '',
    `Camera: yaw U[${config.camera.yawDeg.join(', ')}], pitch U[${config.camera.pitchDeg.join(', ')}], roll U[${config.camera.rollDeg.join(', ')}] deg, distance U[${config.camera.distance.join(', ')}] m, fovY U[${config.camera.fovYDeg.join(', ')}] deg, target ${JSON.stringify(config.camera.target)} ± ${JSON.stringify(config.camera.targetJitter)} m.`,
    '',
    `Crop augmentation (paper sec. 4.4): with probability ${config.augment.cropProbability}, a crop box of side U[${config.augment.cropScale.join(', ')}] of the frame at a random position, resized to ${config.width}x${config.height}. Done exactly by rendering the same camera at round(size/scale) and keeping a ${config.width}x${config.height} window (no resampling); sample.json "augment" records the box (pixels and normalised, in the un-augmented frame) and meta.json's K has the shifted principal point.`,
    '',
    '## Layout',
    '',
    '```',
    'manifest.jsonl            one line per sample (sorted by index): draws, camera, lightings, files',
    'dataset.json              counts, config, licenses, versions',
    'samples/000000/',
    '  sample.json             every drawn value, resolved camera, SH9 per lighting, file list',
    ...keys.map((k, n) => `  ${(k + '/').padEnd(24)}${n === 0 ? 'all passes' : 'lighting-dependent passes'} + meta.json + env_latlong16.f32 + env_sh9.f32`),
    '```',
    '',
    '## Lighting encodings',
    '',
    `- ${ENCODING_DOC.latlong}`,
    `- ${ENCODING_DOC.sh9}`,
    '',
    'Read with numpy: `np.fromfile(p, "<f4").reshape(16, 16, 3)` and `np.fromfile(p, "<f4").reshape(9, 3)`.',
    '',
    '## Conventions',
    '',
    'World: right-handed, metres, +Y up, the head faces +Z, head centre at the origin. EXR colour is linear; beauty alpha = anti-aliased coverage. Camera matrices in meta.json: K and worldToCameraCV in OpenCV axes, cameraToWorldGL in OpenGL axes.',
    '',
    '## Assets and licenses',
    '',
    '### Heads',
    '',
    ...headLines(heads),
    '',
  );
  if (attributions.length > 0) {
    out.push('### Required attribution', '', 'Redistributing this dataset (or images derived from it) requires crediting:', '', ...attributions.map((h) => `- ${h.attribution}`), '');
  }
  out.push(
    '### Environment maps',
    '',
    ...envMaps.map((e) => `- \`${e.ref}\`: ${e.license}; ${e.source} (used by ${e.usedByLightings} lighting layer(s))`),
    '',
    'The builtin maps are Poly Haven HDRIs (CC0 1.0, public domain dedication; attribution appreciated, not required).',
    '',
    '## Versions',
    '',
    ...renderers.map((r) => `- ${Object.entries(r).map(([k, v]) => `${k}: ${String(v)}`).join('; ')}`),
    '',
    '## Config',
    '',
    '```json',
    JSON.stringify(config, null, 2),
    '```',
    '',
  );
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// tar (ustar), deterministic: mode 0644, uid/gid 0, mtime 0, entries in the given order.

function tarHeader(name: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  const put = (s: string, off: number, len: number) => h.write(s, off, len, 'ascii');
  let prefix = '';
  let base = name;
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', 155);
    if (cut <= 0 || name.length - cut - 1 > 100) throw new Error(`tar: name too long: ${name}`);
    prefix = name.slice(0, cut);
    base = name.slice(cut + 1);
  }
  put(base, 0, 100);
  put('0000644\0', 100, 8);
  put('0000000\0', 108, 8);
  put('0000000\0', 116, 8);
  put(size.toString(8).padStart(11, '0') + '\0', 124, 12);
  put('00000000000\0', 136, 12);
  put('        ', 148, 8);
  put('0', 156, 1);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  put(prefix, 345, 155);
  let sum = 0;
  for (const b of h) sum += b;
  put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  return h;
}

async function writeTar(dest: string, entries: { name: string; file: string }[]): Promise<void> {
  const tmp = tempPathFor(dest);
  const fh = await fs.promises.open(tmp, 'w');
  try {
    for (const e of entries) {
      const data = await fs.promises.readFile(e.file);
      await fh.write(tarHeader(e.name, data.length));
      await fh.write(data);
      const pad = (512 - (data.length % 512)) % 512;
      if (pad) await fh.write(Buffer.alloc(pad));
    }
    await fh.write(Buffer.alloc(1024));
    await fh.sync();
    await fh.close();
    await fs.promises.rename(tmp, dest);
  } catch (err) {
    await fh.close().catch(() => undefined);
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
}

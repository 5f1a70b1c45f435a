// Node-only. Writes one sample: the passes encode their files in memory (renderer/develop/passes),
// this module writes them (each atomically) into a temp folder, then meta.json, then one rename. A
// crash leaves at most a *.tmp-* folder that is never mistaken for a sample.
import fs from 'node:fs';
import path from 'node:path';
import { getPass, type EncodedPassFile, type PassContext, type PassFile } from '../develop/passes/index.js';
import { compositeBeauty } from '../develop/passes/beauty.js';
import { tempPathFor, writeFileAtomic } from '../io/fs-atomic.js';
import { HALF_MAX } from '../core/half.js';
import { PKG } from '../io/paths.js';
import type { RenderedSample, RendererInfo } from '../develop/rendered.js';
import { DATASET_FORMAT_VERSION, MetaRecordSchema, writeRecord, type MetaRecord } from './records.js';
import { cameraRecord } from './sample-record.js';

export const META_VERSION = 1;
export const META_JSON = 'meta.json';

export interface WriteOptions {
  /** Extra metadata merged under "extra" (e.g. the batch planner's draws). */
  extra?: Record<string, unknown>;
  /** Replace an existing sample folder (default: refuse, so nothing written is lost). */
  overwrite?: boolean;
  /** More files (name -> bytes) written into the sample folder before it appears. */
  extraFiles?: Record<string, Uint8Array>;
}

/** meta.json of one rendered lighting folder (validated by MetaRecordSchema when written). */
export function buildMeta(s: RenderedSample, info: RendererInfo, files: PassFile[], writeMs: number, extra?: Record<string, unknown>): MetaRecord {
  const d = s.head.descriptor;
  return {
    format_version: DATASET_FORMAT_VERSION,
    metaVersion: META_VERSION,
    id: s.spec.id ?? null,
    seed: s.spec.seed,
    spec: s.spec,
    head: {
      id: d.id,
      name: d.name ?? d.id,
      contentHash: s.head.contentHash,
      descriptor: s.head.descriptorPath,
      license: d.license ?? null,
      attribution: d.attribution ?? null,
      canonicalBounds: s.headBounds,
    },
    camera: {
      ...cameraRecord(s.camera),
      conventions:
        'world: right-handed metres, +Y up, head faces +Z. K and worldToCameraCV: OpenCV (x right, y down, z forward, pixel centres at +0.5). cameraToWorldGL: OpenGL camera (looks down -z, y up).',
    },
    lighting: s.spec.lighting,
    passes: files,
    renderer: {
      backend: info.backend,
      webglRenderer: info.webglRenderer,
      backendReason: info.backendReason,
      chromium: info.chromium,
      babylon: info.babylon,
      node: process.version,
      package: `${PKG.name}@${PKG.version}`,
    },
    timings: { ...s.timings, writeMs },
    createdAt: new Date().toISOString(),
    ...(extra ? { extra } : {}),
  };
}

/** First non-finite value of an interleaved buffer: how many, and where. */
function nonFinite(a: Float32Array, channels: number, width: number): { count: number; where: string } | null {
  let count = 0;
  let first = -1;
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (v - v !== 0) { // NaN or +-Inf
      if (count++ === 0) first = i;
    }
  }
  if (count === 0) return null;
  const p = Math.floor(first / channels);
  return { count, where: `pixel (x=${p % width}, y=${Math.floor(p / width)}) channel ${first % channels} = ${a[first]}` };
}

/**
 * Refuses a rendered sample with NaN/Inf in any pass (garbage mesh data, overflowing lights)
 * or, for half EXRs, values beyond half range (they would be written as Inf). Nothing is
 * written before this passes. The error names the head, its mesh and the pass.
 */
export function checkRenderedValues(sample: RenderedSample): void {
  const head = `head ${sample.head.descriptorPath} (mesh ${sample.head.files.mesh})`;
  const passesOf = (mode: string) => sample.spec.passes.filter((n) => getPass(n).requires.includes(mode as never));
  const w = sample.width;
  const problems: string[] = [];
  for (const [mode, data] of Object.entries(sample.modes) as [string, Float32Array][]) {
    const bad = nonFinite(data, data.length / (w * sample.height), w);
    if (bad) {
      problems.push(
        `pass ${passesOf(mode).join('/') || mode} (render mode "${mode}") has ${bad.count} non-finite (NaN/Inf) value(s), first at ${bad.where}` +
          (mode === 'depth' ? '' : ` (values beyond the half-float maximum ${HALF_MAX} of the page transfer become Inf: check the mesh and lower light intensities)`),
      );
    }
  }
  const m = nonFinite(sample.mask, 1, w);
  if (m) problems.push(`pass mask has ${m.count} non-finite value(s), first at ${m.where}`);
  if (sample.background) {
    const b = nonFinite(sample.background, 3, w);
    if (b) problems.push(`the environment background (beauty) has ${b.count} non-finite value(s), first at ${b.where}`);
  }
  if (problems.length) throw new Error(`${head}: refusing to write the sample: ${problems.join('; ')}`);
  if (sample.spec.output.exrPixelType !== 'half') return;
  // Half EXRs: a value above HALF_MAX is stored as Inf. Only beauty can get there (the page's
  // modes are half already; compositing adds the float background): refuse, naming the fix.
  const beauty = sample.modes.beauty;
  if (beauty && sample.background && sample.spec.passes.includes('beauty')) {
    // The composite the beauty pass writes (computed once per lighting, develop/passes/beauty.ts).
    const over = compositeBeauty(beauty, sample.mask, sample.background);
    for (let p = 0; p < sample.mask.length; p++) {
      for (let c = 0; c < 3; c++) {
        const v = over[p * 4 + c];
        if (Math.abs(v) > HALF_MAX) {
          throw new Error(
            `${head}: refusing to write the sample: pass beauty composited over the environment background has ${v} at pixel (x=${p % w}, y=${Math.floor(p / w)}), beyond the half-float maximum ${HALF_MAX}; set output.exrPixelType to "float" or lower the environment intensity`,
          );
        }
      }
    }
  }
}

/** Writes `sample` into `outDir` (the sample's own folder). Returns the meta object written. */
export async function writeSample(outDir: string, sample: RenderedSample, info: RendererInfo, opts: WriteOptions = {}) {
  const t0 = performance.now();
  const final = path.resolve(outDir);
  if (fs.existsSync(final) && !opts.overwrite) {
    throw new Error(`sample folder ${final} already exists (pass --overwrite to replace it)`);
  }
  checkRenderedValues(sample);
  fs.mkdirSync(path.dirname(final), { recursive: true });
  const tmp = tempPathFor(final); // TEMP_SUFFIX_RE
  fs.mkdirSync(tmp);
  try {
    const ctx: PassContext = {
      width: sample.width,
      height: sample.height,
      camera: sample.camera,
      modes: sample.modes,
      mask: sample.mask,
      background: sample.background,
      output: sample.spec.output,
    };
    // Passes encode concurrently (their EXR deflate runs on libuv's thread pool); each file is then
    // written atomically into the temp folder.
    const encoded: EncodedPassFile[] = (await Promise.all(sample.spec.passes.map((name) => getPass(name).encode(ctx)))).flat();
    const files: PassFile[] = await Promise.all(
      encoded.map(async ({ bytes, ...file }) => {
        await writeFileAtomic(path.join(tmp, file.file), bytes);
        return file;
      }),
    );
    for (const [name, bytes] of Object.entries(opts.extraFiles ?? {})) {
      if (name.includes('/') || name.includes('..')) throw new Error(`extra file name "${name}" must be a plain file name`);
      fs.writeFileSync(path.join(tmp, name), bytes);
    }
    const writeMs = performance.now() - t0;
    const meta = buildMeta(sample, info, files, writeMs, opts.extra);
    await writeRecord(path.join(tmp, META_JSON), meta, MetaRecordSchema); // validated; refuses NaN/Infinity
    if (fs.existsSync(final)) {
      // overwrite: move the old one aside first so a crash never leaves neither.
      const old = `${final}.old-${process.pid}`;
      fs.renameSync(final, old);
      fs.renameSync(tmp, final);
      fs.rmSync(old, { recursive: true, force: true });
    } else fs.renameSync(tmp, final);
    return meta;
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

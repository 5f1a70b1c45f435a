// Node-only. Writes one sample: every requested pass into a temp folder, then meta.json, then
// one rename. A crash leaves at most a *.tmp-* folder that is never mistaken for a sample.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { getPass, type PassFile } from '../passes/index.js';
import { writeJsonAtomic } from './fs-atomic.js';
import type { RenderedSample, RendererInfo } from './renderer.js';

const require = createRequire(import.meta.url);
const PKG = require('../../package.json') as { name: string; version: string };

export const META_VERSION = 1;

export interface WriteOptions {
  /** Extra metadata merged under "extra" (e.g. the batch planner's draws). */
  extra?: Record<string, unknown>;
  /** Replace an existing sample folder (default: refuse, so nothing written is lost). */
  overwrite?: boolean;
  /** More files (name -> bytes) written into the sample folder before it appears. */
  extraFiles?: Record<string, Uint8Array>;
}

export function buildMeta(s: RenderedSample, info: RendererInfo, files: PassFile[], writeMs: number, extra?: Record<string, unknown>) {
  const d = s.head.descriptor;
  return {
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
      width: s.camera.width,
      height: s.camera.height,
      fovYDeg: (s.camera.fovYRad * 180) / Math.PI,
      position: s.camera.position,
      target: s.camera.target,
      up: s.camera.up,
      K: s.camera.K,
      worldToCameraCV: s.camera.worldToCameraCV,
      cameraToWorldGL: s.camera.cameraToWorldGL,
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

/** Writes `sample` into `outDir` (the sample's own folder). Returns the meta object written. */
export async function writeSample(outDir: string, sample: RenderedSample, info: RendererInfo, opts: WriteOptions = {}) {
  const t0 = performance.now();
  const final = path.resolve(outDir);
  if (fs.existsSync(final) && !opts.overwrite) {
    throw new Error(`sample folder ${final} already exists (pass --overwrite to replace it)`);
  }
  fs.mkdirSync(path.dirname(final), { recursive: true });
  const tmp = `${final}.tmp-${process.pid}-${Date.now().toString(36)}`;
  fs.mkdirSync(tmp);
  try {
    const ctx = {
      width: sample.width,
      height: sample.height,
      camera: sample.camera,
      modes: sample.modes,
      mask: sample.mask,
      background: sample.background,
      output: sample.spec.output,
      dir: tmp,
    };
    // Passes write concurrently: their EXR deflate runs on libuv's thread pool.
    const files: PassFile[] = (await Promise.all(sample.spec.passes.map((name) => getPass(name).write(ctx)))).flat();
    for (const [name, bytes] of Object.entries(opts.extraFiles ?? {})) {
      if (name.includes('/') || name.includes('..')) throw new Error(`extra file name "${name}" must be a plain file name`);
      fs.writeFileSync(path.join(tmp, name), bytes);
    }
    const writeMs = performance.now() - t0;
    const meta = buildMeta(sample, info, files, writeMs, opts.extra);
    await writeJsonAtomic(path.join(tmp, 'meta.json'), meta);
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

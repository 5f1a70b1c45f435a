// Node-only. The batch engine, embedded mode: a pool of N workers in this process, each with its
// own Renderer (one Chromium), rendering the missing samples of a batch into
// outDir/samples/<index>/ (each sample folder appears atomically), then the dataset files.
//
// Robustness: a worker whose renderer crashes / closes / times out / loses its WebGL context is
// closed and replaced and its sample retried (maxAttempts, default 3; then the batch fails naming
// the sample). All lightings of a sample share head and camera, so their masks must agree: a
// lighting whose render lost the head is re-rendered in the same page (seen with llvmpipe
// before the page re-evaluated material defines on every render, and on the first draw of a new
// shader variant, see renderer/page/main.ts render(); kept as a safety net).
// Resume: finished sample folders are kept and never re-rendered; stale temp folders are deleted
// on start. Abort (signal): no new samples, renderers closed, in-flight samples dropped (samples
// are rendered in memory, then written to a temp folder renamed last), BatchAbortedError.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Renderer, RendererError, type RendererOptions, type RenderedSample } from '../../engine/renderer.js';
import { writeSample } from '../../dataset/write-sample.js';
import { simulateCamera } from '../../develop/camera-sim.js';
import { compositeBeauty } from '../../develop/passes/beauty.js';
import { Rng } from '../../core/rng.js';
import { writeFileAtomic, writeJsonAtomic, tempPathFor, TEMP_SUFFIX_RE } from '../../io/fs-atomic.js';
import { writeJsonFileAtomic } from '../../io/json-file.js';
import { resolveHead } from '../../assets/head.js';
import { checkEnvMapFile } from '../../io/envmap-io.js';
import { PROJECT_ROOT } from '../../io/paths.js';
import { BrowserLaunchError, type Backend } from '../../engine/browser.js';
import { type BatchConfig, checkBatchBounds, contentConfig, resolveWorkerCount } from './config.js';
import { planSample, sampleId, expandEnvMaps, type PlannedSample } from './plan.js';
import { cropRendered } from '../../develop/crop.js';
import { encodeLightings, float32LE, ENCODING_FILES, LATLONG_HEIGHT, LATLONG_WIDTH } from '../../dataset/encodings.js';
import { finalizeDataset, type FinalizeHooks, type FinalizeResult } from './finalize.js';
import { listFiles, sha256, stableStringify, SAMPLES_DIR, SAMPLE_JSON, SAMPLE_VERSION } from '../../dataset/layout.js';

export interface BatchProgress {
  type: 'start' | 'worker-start' | 'sample-start' | 'sample' | 'retry' | 'repair' | 'finalize' | 'done';
  total: number;
  /** finished samples (skipped + rendered) */
  done: number;
  rendered: number;
  skipped: number;
  retries: number;
  elapsedMs: number;
  index?: number;
  worker?: number;
  sampleMs?: number;
  message?: string;
}

export interface RunBatchOptions {
  outDir: string;
  /** Overrides config.workers. */
  workers?: number;
  /** Renderer backend (default auto / VLS_BACKEND). */
  backend?: Backend | 'auto';
  signal?: AbortSignal;
  onProgress?: (p: BatchProgress) => void;
  /** Called with every renderer a worker starts (generation 0, then each replacement). */
  onWorkerStart?: (renderer: Renderer, w: { worker: number; generation: number }) => void;
  log?: (msg: string) => void;
  /** Attempts per sample when its renderer crashes / closes / times out before the batch fails (default 3). */
  maxAttempts?: number;
  /**
   * Re-renders (in the same page) per sample of lightings whose mask disagrees with the
   * others or is empty (default 3). See findInconsistentRenders.
   */
  maxRepairs?: number;
  /** Test/debug hook: sees (and may alter) every render after the crop, before the checks. */
  onRender?: (rendered: RenderedSample, at: { index: number; key: string; worker: number; renderer: Renderer }) => void;
  /** Passed to Renderer.launch (timeoutMs, cacheRoot). */
  renderer?: Pick<RendererOptions, 'timeoutMs' | 'cacheRoot'>;
  /** Recorded in dataset.json. */
  configFile?: string;
  /** Delete finished sample folders at indices >= samples (default: keep them and warn). */
  prune?: boolean;
}

export interface BatchResult {
  outDir: string;
  total: number;
  rendered: number;
  skipped: number;
  retries: number;
  /** lightings re-rendered because their render disagreed with the sample's other lightings */
  repairs: number;
  workers: number;
  /** wall time of the whole run, ms */
  elapsedMs: number;
  /** wall time of the rendering phase / rendered samples (0 when nothing was rendered) */
  secondsPerSample: number;
  /** renderers started (including replacements) */
  renderersStarted: number;
  dataset: FinalizeResult;
}

export class BatchAbortedError extends Error {
  override name = 'AbortError';
  constructor(
    readonly outDir: string,
    readonly done: number,
    readonly total: number,
  ) {
    super(`batch interrupted: ${done} of ${total} samples complete in ${outDir}; run the same batch again to resume`);
  }
}

const RETRYABLE_KINDS = new Set<RendererError['kind']>(['crash', 'closed', 'timeout', 'context-lost']);
const LOCK_FILE = '.lock';
const BATCH_JSON = 'batch.json';
const SAMPLE_DIR_RE = /^\d{6,}$/;
const SAMPLE_TEMP_RE = /^\d{6,}\.tmp-/;

// ---------------------------------------------------------------------------------------------
// output folder: lock, config identity, scan

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function acquireLock(outDir: string): () => void {
  const file = path.join(outDir, LOCK_FILE);
  const mine = JSON.stringify({ pid: process.pid, host: os.hostname(), token: randomBytes(6).toString('hex') });
  const release = () => {
    try {
      if (fs.readFileSync(file, 'utf8') === mine) fs.rmSync(file, { force: true });
    } catch {
      /* already gone */
    }
  };
  // The lock is written to a temp file and hard-linked into place, so it appears complete or not
  // at all (writing it in place left a 0-byte .lock on a full disk); link() fails on an existing
  // lock just like the 'wx' flag.
  const tmp = tempPathFor(file);
  try {
    fs.writeFileSync(tmp, mine, { flag: 'wx' });
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw new Error(`cannot write the lock file ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        try {
          fs.linkSync(tmp, file);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw err;
          // A filesystem without hard links: exclusive create, removed again if the write fails.
          try {
            fs.writeFileSync(file, mine, { flag: 'wx' });
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== 'EEXIST') release();
            throw e;
          }
        }
        return release;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`cannot create the lock file ${file}: ${(err as Error).message}`, { cause: err });
        let other: { pid?: number; host?: string } = {};
        try {
          other = JSON.parse(fs.readFileSync(file, 'utf8'));
        } catch {
          /* unreadable: stale */
        }
        if (other.pid && other.host === os.hostname() && pidAlive(other.pid)) {
          throw new Error(`${outDir} is being written by another batch run (pid ${other.pid}); wait for it, or delete ${file} if that process is not a render-batch`);
        }
        fs.rmSync(file, { force: true });
      }
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  throw new Error(`cannot lock ${outDir} (${file})`);
}

function diffPaths(a: unknown, b: unknown, prefix = ''): string[] {
  if (stableStringify(a) === stableStringify(b)) return [];
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => diffPaths((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], prefix ? `${prefix}.${k}` : k));
  }
  return [prefix || '(root)'];
}

/** Records the config in batch.json; refuses an output folder made with a different content config. */
async function checkBatchIdentity(outDir: string, config: BatchConfig, configFile?: string): Promise<string> {
  const content = contentConfig(config);
  const hash = sha256(stableStringify(content));
  const file = path.join(outDir, BATCH_JSON);
  if (fs.existsSync(file)) {
    let prev: { contentHash?: string; content?: unknown } = {};
    try {
      prev = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      throw new Error(`${file} is not valid JSON (${(err as Error).message}); delete it only if the samples in ${outDir} are from this config`);
    }
    if (prev.contentHash !== hash) {
      const fields = diffPaths(prev.content, content).slice(0, 8).join(', ');
      throw new Error(`${outDir} holds samples of a different batch config (differs in: ${fields || 'unknown fields'}); use another --out, or delete the folder to start over`);
    }
  }
  await writeJsonAtomic(file, { name: config.name, configFile: configFile ?? null, contentHash: hash, content, config });
  return hash;
}

interface Scan {
  complete: Set<number>;
  removedTemps: string[];
}

/**
 * Finished sample folders (folder + sample.json) and removal of stale temp folders (only by the
 * lock holder before rendering: while workers run, their temp folders are live).
 */
function scanSamples(samplesDir: string, removeTemps = true): Scan {
  const complete = new Set<number>();
  const removedTemps: string[] = [];
  for (const e of fs.readdirSync(samplesDir, { withFileTypes: true })) {
    const p = path.join(samplesDir, e.name);
    // TEMP_SUFFIX_RE (tempPathFor); also any "<id>.tmp-" folder: the engine's own, whatever suffix
    if (TEMP_SUFFIX_RE.test(e.name) || SAMPLE_TEMP_RE.test(e.name)) {
      if (!removeTemps) continue;
      fs.rmSync(p, { recursive: true, force: true });
      removedTemps.push(e.name);
    } else if (e.isDirectory() && SAMPLE_DIR_RE.test(e.name)) {
      if (!fs.existsSync(path.join(p, SAMPLE_JSON))) {
        throw new Error(`sample folder ${p} has no ${SAMPLE_JSON}: it was not written by the batch engine (folders appear complete) — delete it to have it rendered again`);
      }
      complete.add(Number(e.name));
    }
  }
  return { complete, removedTemps };
}

// ---------------------------------------------------------------------------------------------
// one sample

class StoppedError extends Error {}

/** Pixels whose coverage differs by more than `threshold` (default 0.02). */
export function maskMismatch(a: Float32Array, b: Float32Array, threshold = 0.02): number {
  if (a.length !== b.length) return Math.max(a.length, b.length);
  let n = 0;
  for (let i = 0; i < a.length; i++) if (Math.abs(a[i] - b[i]) > threshold) n++;
  return n;
}

function coverage(m: Float32Array): number {
  let s = 0;
  for (let i = 0; i < m.length; i++) s += m[i];
  return s;
}

/**
 * Silhouette pixels of a mask `width` wide: partly covered, or covered with an uncovered
 * 4-neighbour (or the reverse), dilated by one pixel (8-neighbourhood). A raster-level change of
 * the same silhouette stays inside this band; lost geometry does not.
 */
function silhouetteBand(m: Float32Array, width: number): Uint8Array {
  const n = m.length;
  const h = Math.max(1, Math.floor(n / width));
  const on = (x: number, y: number) => m[y * width + x] > 0.5;
  const edge = new Uint8Array(n);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      const v = m[p];
      if (v > 0 && v < 1) edge[p] = 1;
      else {
        const c = on(x, y);
        if ((x > 0 && on(x - 1, y) !== c) || (x + 1 < width && on(x + 1, y) !== c) || (y > 0 && on(x, y - 1) !== c) || (y + 1 < h && on(x, y + 1) !== c)) edge[p] = 1;
      }
    }
  }
  const band = new Uint8Array(n);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < width; x++) {
      if (!edge[y * width + x]) continue;
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
        const xx = x + dx;
        const yy = y + dy;
        if (xx >= 0 && xx < width && yy >= 0 && yy < h) band[yy * width + xx] = 1;
      }
    }
  }
  return band;
}

export interface MaskCheckOptions {
  /** Image width in pixels (default: the mask is one row). */
  width?: number;
  /** MSAA of the mask draw (default 1): coverage moves in steps of 1/msaa. */
  msaa?: number;
}

/**
 * All lightings of a sample share head and camera, so their masks must agree. A render that lost
 * the head (or part of it) has less coverage: the lighting with the most coverage is the reference
 * and every lighting whose mask differs from it is bad; no coverage at all makes every one bad.
 * A differing pixel is one whose coverage moved by at least half an MSAA step. Tolerances follow
 * the image: differences off the reference's silhouette band (lost geometry) may be at most
 * max(2, 1e-4 of the pixels); on the band (a raster-level change of the same outline, which also
 * covers heads only a few pixels big) at most a quarter of the band; and a render may not lose
 * half the reference's coverage.
 */
export function findInconsistentRenders(masks: Float32Array[], opts: MaskCheckOptions = {}): { bad: number[]; reason: string } {
  const cov = masks.map(coverage);
  let ref = 0;
  for (let n = 1; n < cov.length; n++) if (cov[n] > cov[ref]) ref = n;
  if (!(cov[ref] > 0)) return { bad: masks.map((_, n) => n), reason: 'the head is not visible (empty mask)' };
  const R = masks[ref];
  const threshold = 0.5 / Math.max(1, opts.msaa ?? 1) - 1e-3;
  const band = silhouetteBand(R, Math.max(1, Math.min(R.length, opts.width ?? R.length)));
  let bandSize = 0;
  for (const b of band) bandSize += b;
  const tolInterior = Math.max(2, Math.ceil(1e-4 * R.length));
  const tolBand = Math.max(2, Math.ceil(bandSize / 4));
  const bad: number[] = [];
  const diffs: string[] = [];
  for (let n = 0; n < masks.length; n++) {
    if (n === ref) continue;
    const m = masks[n];
    if (m.length !== R.length) {
      bad.push(n);
      diffs.push(`${m.length} vs ${R.length} px in all`);
      continue;
    }
    let inner = 0;
    let edge = 0;
    for (let p = 0; p < R.length; p++) {
      if (Math.abs(m[p] - R[p]) <= threshold) continue; // NaN counts as a difference
      if (band[p]) edge++;
      else inner++;
    }
    // Half the coverage gone is a lost head even when it is small enough to be all silhouette.
    if (inner > tolInterior || edge > tolBand || cov[n] < 0.5 * cov[ref]) {
      bad.push(n);
      diffs.push(`${inner + edge} px, ${inner} off the silhouette`);
    }
  }
  return {
    bad,
    reason: bad.length
      ? `mask differs from the fullest lighting's (${diffs.join('; ')}; tolerance ${tolInterior} px off / ${tolBand} px on the ${bandSize} px silhouette band; coverage ${cov.map((c) => (c / R.length).toFixed(3)).join(' / ')})`
      : '',
  };
}

interface SampleContext {
  config: BatchConfig;
  samplesDir: string;
  worker: number;
  attempt: number;
  stopped: () => boolean;
  /** what is being done (named in errors) */
  step: { key: string };
  /** The worker's renderer; fresh = close it and start a new one. */
  renderer: (fresh: boolean) => Promise<Renderer>;
  maxRepairs: number;
  onRender?: RunBatchOptions['onRender'];
  onRepair: (msg: string, lightings: number) => void;
}

/**
 * Renders every lighting of the sample and checks that the renders agree (see
 * findInconsistentRenders; bad ones are re-rendered in the same page, up to maxRepairs
 * times). Each lighting is written into the sample's temp folder while the next one renders (a
 * re-rendered lighting's folder is written again); the temp folder is renamed last. Returns ms
 * (0 = existed).
 */
async function renderOneSample(plan: PlannedSample, ctx: SampleContext): Promise<{ ms: number; repairs: number }> {
  const t0 = performance.now();
  const { config, step } = ctx;
  const final = path.join(ctx.samplesDir, plan.id);
  if (fs.existsSync(final)) return { ms: 0, repairs: 0 }; // finished meanwhile: never re-rendered
  const n = plan.lightings.length;
  const results: (RenderedSample | null)[] = new Array(n).fill(null);
  const writes: (Promise<Record<string, unknown>> | null)[] = new Array(n).fill(null);
  const timings: Record<string, number> = {};
  let repairs = 0;
  const tmp = tempPathFor(final); // TEMP_SUFFIX_RE: removed by scanSamples if we are killed
  fs.mkdirSync(tmp);
  const settle = (ps: (Promise<unknown> | null)[]) => Promise.allSettled(ps.filter((p) => p !== null));
  try {
    const H = config.lighting.H;
    const encodings = encodeLightings(
      plan.lightings.map((l) => l.lighting),
      H.headRadius,
      H.headCentre,
    );
    encodings.catch(() => undefined); // awaited below; no unhandled rejection meanwhile

    /** Writes lighting k's folder (passes, camera sim, encodings); resolves to its sample.json entry. */
    const writeLighting = async (k: number, r: RenderedSample, info: Renderer['info']): Promise<Record<string, unknown>> => {
      const L = plan.lightings[k];
      try {
        const dir = path.join(tmp, L.key);
        // Camera simulation of the inputs only; the same camera for input_i and input_j (same
        // stream), independent noise per frame (the frame label re-seeds the noise).
        const cam =
          config.cameraSim.enabled && L.key !== 'target_k' && r.modes.beauty
            ? await simulateCamera(compositeBeauty(r.modes.beauty, r.mask, r.background), r.width, r.height, config.cameraSim, Rng.forSample(config.seed, plan.index, 'camera-sim'), { frame: L.key })
            : null;
        await writeSample(dir, r, info, {
          extra: { batch: { sample: plan.id, index: plan.index, lighting: L.key, role: L.role, augment: plan.augment }, ...(cam ? { cameraSim: cam.record } : {}) },
          extraFiles: cam ? { [cam.fileName]: cam.bytes } : undefined,
        });
        const enc = (await encodings)[k];
        await writeFileAtomic(path.join(dir, ENCODING_FILES.latlong), float32LE(enc.latlong), { fsync: false });
        await writeFileAtomic(path.join(dir, ENCODING_FILES.sh9), float32LE(enc.sh9), { fsync: false });
        return {
          key: L.key,
          folder: L.key,
          role: L.role,
          lighting: L.lighting,
          passes: L.passes,
          ...(cam ? { camera: { file: `${L.key}/${cam.fileName}`, record: cam.record } } : {}),
          encodings: {
            latlong16: `${L.key}/${ENCODING_FILES.latlong}`,
            latlongShape: [LATLONG_HEIGHT, LATLONG_WIDTH, 3],
            sh9File: `${L.key}/${ENCODING_FILES.sh9}`,
            sh9: Array.from(enc.sh9),
          },
        };
      } catch (err) {
        throw new Error(`${L.key} (write): ${(err as Error).message ?? String(err)}`, { cause: err });
      }
    };

    for (;;) {
      for (const [k, L] of plan.lightings.entries()) {
        if (results[k]) continue;
        if (ctx.stopped()) throw new StoppedError('stopped');
        step.key = L.key;
        const r = await ctx.renderer(false);
        const tl = performance.now();
        const rendered = cropRendered(await r.renderSample(L.spec), plan.augment, config.width, config.height);
        ctx.onRender?.(rendered, { index: plan.index, key: L.key, worker: ctx.worker, renderer: r });
        results[k] = rendered;
        timings[L.key] = Math.round(performance.now() - tl);
        const w = writeLighting(k, rendered, r.info);
        w.catch(() => undefined); // awaited below
        writes[k] = w;
      }
      const { bad, reason } = findInconsistentRenders(
        results.map((r) => r!.mask),
        { width: results[0]!.width, msaa: config.render.msaa },
      );
      if (bad.length === 0) break;
      const which = bad.map((k) => plan.lightings[k].key).join(', ');
      if (repairs >= ctx.maxRepairs) {
        throw new Error(`${which}: ${reason}, still after ${repairs} re-render(s) (camera not looking at the head, or a renderer state problem)`);
      }
      repairs++;
      // Re-rendered in the same page: a repeated draw of a shader variant is exact, and a browser
      // restart (~3-5 s) per repair made such batches 4x slower. A renderer that broke is replaced
      // by the retry path (ShardRunner), not here.
      ctx.onRepair(`sample ${plan.id}: ${which}: ${reason}; re-rendering (repair ${repairs}/${ctx.maxRepairs})`, bad.length);
      await settle(bad.map((k) => writes[k]));
      for (const k of bad) {
        results[k] = null;
        writes[k] = null;
        fs.rmSync(path.join(tmp, plan.lightings[k].key), { recursive: true, force: true });
      }
    }

    step.key = 'write';
    const lightings = await Promise.all(writes.map((w) => w!));
    const r0 = results[0]!;
    const d = r0.head.descriptor;
    const head = { ref: plan.head, id: d.id, name: d.name ?? d.id, contentHash: r0.head.contentHash, license: d.license ?? null, attribution: d.attribution ?? null };
    const camera = {
      drawn: plan.camera,
      width: r0.camera.width,
      height: r0.camera.height,
      fovYDeg: (r0.camera.fovYRad * 180) / Math.PI,
      position: r0.camera.position,
      target: r0.camera.target,
      up: r0.camera.up,
      K: r0.camera.K,
      worldToCameraCV: r0.camera.worldToCameraCV,
      cameraToWorldGL: r0.camera.cameraToWorldGL,
    };
    step.key = 'sample.json';
    const files = [...listFiles(tmp), SAMPLE_JSON].sort();
    const sample = {
      sampleVersion: SAMPLE_VERSION,
      index: plan.index,
      id: plan.id,
      seed: plan.seed,
      head,
      camera,
      augment: plan.augment,
      lighting: plan.lighting,
      lightings,
      files,
      run: {
        worker: ctx.worker,
        attempt: ctx.attempt,
        repairs,
        timingsMs: { ...timings, total: Math.round(performance.now() - t0) },
        createdAt: new Date().toISOString(),
      },
    };
    await writeJsonFileAtomic(path.join(tmp, SAMPLE_JSON), sample); // refuses NaN/Infinity
    // Another worker finished it meanwhile (queue mode: a shard re-delivered after a stall while
    // its first worker was still alive): keep theirs, drop ours; never two copies.
    if (fs.existsSync(final)) {
      fs.rmSync(tmp, { recursive: true, force: true });
      return { ms: 0, repairs };
    }
    try {
      fs.renameSync(tmp, final);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code === 'ENOTEMPTY' || code === 'EEXIST') && fs.existsSync(final)) {
        fs.rmSync(tmp, { recursive: true, force: true });
        return { ms: 0, repairs };
      }
      throw err;
    }
    return { ms: performance.now() - t0, repairs };
  } catch (err) {
    await settle(writes); // a write still running would recreate folders under tmp
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// the shard runner: one worker's renderer and the per-sample retry policy, shared by the embedded
// pool (runBatch) and the Redis queue worker (server/queue-worker.ts)

function timeout<T>(ms: number, value: T): Promise<T> {
  return new Promise((resolve) => setTimeout(() => resolve(value), ms).unref());
}

/** Did this error come from a broken renderer (replace it and retry) rather than from the sample? */
async function rendererBroken(renderer: Renderer | null, err: unknown): Promise<boolean> {
  if (!renderer) return true; // failed to launch
  if (err instanceof RendererError && RETRYABLE_KINDS.has(err.kind)) return true;
  if (renderer.failed) return true;
  if (err instanceof RendererError && err.kind === 'page') {
    // A dying browser first rejects the pending call with a protocol error ('page'); the
    // 'disconnected' event may come a moment later. Probe the page to tell the two apart.
    const alive = await Promise.race([renderer.evaluate(() => true).then(() => true, () => false), timeout(5000, false)]);
    return !alive || !!renderer.failed;
  }
  return false;
}

export { StoppedError };

export interface ShardRunnerEvent {
  type: 'worker-start' | 'retry' | 'repair';
  worker: number;
  index?: number;
  message: string;
  /** repair: lightings re-rendered */
  count?: number;
}

export interface ShardRunnerOptions {
  config: BatchConfig;
  /** outDir/samples */
  samplesDir: string;
  /** Worker number (recorded in sample.json run.worker). */
  worker: number;
  backend?: Backend | 'auto';
  log?: (msg: string) => void;
  maxAttempts?: number;
  maxRepairs?: number;
  renderer?: Pick<RendererOptions, 'timeoutMs' | 'cacheRoot'>;
  onRender?: RunBatchOptions['onRender'];
  onWorkerStart?: RunBatchOptions['onWorkerStart'];
  onEvent?: (e: ShardRunnerEvent) => void;
  /** Polled between lightings: true = drop the current sample (StoppedError). */
  stopped?: () => boolean;
  /**
   * Start a fresh browser after this many rendered samples (default 250). The page's memory grows
   * by ~1 MiB per sample over long runs (measured in `npm run bench`, batch section; not in Node,
   * not in the page's JS heap, not yet found), so a worker recycles its browser (~3 s) now and then.
   */
  recycleAfter?: number;
}

/**
 * One worker: a lazily started Renderer, replaced when it breaks, and renderIndex() which
 * renders one sample with retries (renderer crashes) and repairs (inconsistent masks), writing it
 * atomically. Finished samples are never re-rendered (a folder that exists is skipped).
 */
export class ShardRunner {
  private current: Renderer | null = null;
  private generation = 0;
  private renderedOnCurrent = 0;
  renderersStarted = 0;
  retries = 0;
  repairs = 0;

  constructor(private readonly o: ShardRunnerOptions) {}

  private stopped(): boolean {
    return this.o.stopped?.() ?? false;
  }

  /** The live renderer, if any (abort closes it to interrupt a render). */
  get renderer(): Renderer | null {
    return this.current;
  }

  async close(): Promise<void> {
    if (!this.current) return;
    const r = this.current;
    this.current = null;
    await r.close().catch(() => undefined);
  }

  private getRenderer = async (fresh: boolean): Promise<Renderer> => {
    if (fresh || this.current?.failed) await this.close();
    if (this.current) return this.current;
    const r = await Renderer.launch({ backend: this.o.backend, log: this.o.log, ...this.o.renderer });
    this.renderersStarted++;
    this.renderedOnCurrent = 0;
    if (this.stopped()) {
      await r.close();
      throw new StoppedError('stopped');
    }
    this.current = r;
    this.o.onWorkerStart?.(r, { worker: this.o.worker, generation: this.generation++ });
    this.o.onEvent?.({ type: 'worker-start', worker: this.o.worker, message: `worker ${this.o.worker}: ${r.info.backend} (${r.info.webglRenderer}), ${r.info.chromium}` });
    return r;
  };

  /** Renders sample `index` unless it exists. ms = 0: it existed (skipped). */
  async renderIndex(index: number): Promise<{ ms: number; repairs: number }> {
    const { config } = this.o;
    const maxAttempts = this.o.maxAttempts ?? 3;
    const plan = planSample(config, index);
    const step = { key: 'launch' };
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await renderOneSample(plan, {
          config,
          samplesDir: this.o.samplesDir,
          worker: this.o.worker,
          attempt,
          stopped: () => this.stopped(),
          step,
          renderer: this.getRenderer,
          maxRepairs: this.o.maxRepairs ?? 3,
          onRender: this.o.onRender,
          onRepair: (msg, count) => {
            this.repairs += count;
            this.o.onEvent?.({ type: 'repair', worker: this.o.worker, index, message: msg, count });
          },
        });
        if (res.ms > 0 && ++this.renderedOnCurrent >= (this.o.recycleAfter ?? 250)) await this.close();
        return res;
      } catch (err) {
        if (this.stopped() || err instanceof StoppedError) throw new StoppedError('stopped');
        // The browser cannot start (missing, not executable, no libraries, dies at once): no
        // retry fixes that, so the batch stops with that one sentence.
        if (err instanceof BrowserLaunchError) throw err;
        const msg = (err as Error).message ?? String(err);
        if (attempt < maxAttempts && (await rendererBroken(this.current, err))) {
          this.retries++;
          this.o.onEvent?.({ type: 'retry', worker: this.o.worker, index, message: `sample ${plan.id} (${step.key}) attempt ${attempt} failed: ${msg}; restarting the renderer` });
          await this.close();
          continue;
        }
        const broken = attempt >= maxAttempts ? ` after ${attempt} attempts (renderer failures)` : '';
        throw new Error(`sample ${plan.id} (index ${index}, ${step.key}) failed${broken}: ${msg}`, { cause: err });
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// preparing and finishing a batch (shared by the embedded pool and the queue orchestrator)

export interface PreparedBatch {
  outDir: string;
  samplesDir: string;
  configHash: string;
  /** indices without a finished sample folder */
  missing: number[];
  /** finished sample folders at indices >= samples (a rerun with fewer samples): not in the manifest */
  extra: number[];
  /** the missing indices grouped by shard (shard s = indices [s*shardSize, (s+1)*shardSize)) */
  shards: { start: number; end: number; indices: number[] }[];
  removedTemps: string[];
}

/** Fails early on assets (names the field) before any browser starts. */
export async function checkBatchAssets(config: BatchConfig, cacheRoot?: string): Promise<void> {
  expandEnvMaps(config.envMaps);
  // Every map file (each file of a map folder) up front: header, size limit, 2:1, readable data.
  for (const [i, ref] of config.envMaps.entries()) {
    for (const m of expandEnvMaps([ref])) {
      if (m.startsWith('builtin:')) continue; // shipped maps, decoded and checked by their tests
      const abs = path.isAbsolute(m) || fs.existsSync(path.resolve(m)) ? path.resolve(m) : path.resolve(PROJECT_ROOT, m);
      await checkEnvMapFile(abs).catch((err: Error) => {
        throw new Error(`batch config: field "envMaps.${i}": ${err.message}`);
      });
    }
  }
  for (const [i, ref] of config.heads.entries()) {
    await resolveHead(ref, { cacheRoot }).catch((err: Error) => {
      throw new Error(`batch config: field "heads.${i}": ${err.message}`);
    });
  }
}

/**
 * Checks the assets, creates outDir/samples, records (or checks) the config identity in
 * batch.json, removes stale temp folders and lists what is missing. The caller holds the lock.
 */
export async function prepareBatch(config: BatchConfig, opts: { outDir: string; configFile?: string; cacheRoot?: string }): Promise<PreparedBatch> {
  checkBatchBounds(config);
  const outDir = path.resolve(opts.outDir);
  const samplesDir = path.join(outDir, SAMPLES_DIR);
  await checkBatchAssets(config, opts.cacheRoot);
  fs.mkdirSync(samplesDir, { recursive: true });
  const configHash = await checkBatchIdentity(outDir, config, opts.configFile);
  const scan = scanSamples(samplesDir);
  // One pass over the indices, shard by shard (filtering `missing` once per shard was quadratic:
  // hours at a million samples).
  const missing: number[] = [];
  const shards: PreparedBatch['shards'] = [];
  for (let s0 = 0; s0 < config.samples; s0 += config.shardSize) {
    const end = Math.min(config.samples, s0 + config.shardSize);
    const indices: number[] = [];
    for (let i = s0; i < end; i++) if (!scan.complete.has(i)) indices.push(i);
    if (indices.length) {
      shards.push({ start: s0, end, indices });
      for (const i of indices) missing.push(i);
    }
  }
  const extra = [...scan.complete].filter((i) => i >= config.samples).sort((a, b) => a - b);
  return { outDir, samplesDir, configHash, missing, extra, shards, removedTemps: scan.removedTemps };
}

/** Indices of the finished sample folders (any index, also >= samples). */
export function finishedSamples(outDir: string): Set<number> {
  return scanSamples(path.join(path.resolve(outDir), SAMPLES_DIR), false).complete;
}

/**
 * Deletes the sample folders at `indices` (the `extra` of prepareBatch; the caller holds the lock).
 * Each is renamed to a temp name first, so an interrupted prune leaves a temp folder that the
 * next run removes, never a half-deleted sample that looks finished.
 */
export function pruneSamples(outDir: string, indices: readonly number[]): number {
  const samplesDir = path.join(path.resolve(outDir), SAMPLES_DIR);
  let n = 0;
  for (const i of indices) {
    const dir = path.join(samplesDir, sampleId(i));
    if (!fs.existsSync(dir)) continue;
    const tmp = tempPathFor(dir);
    fs.renameSync(dir, tmp);
    fs.rmSync(tmp, { recursive: true, force: true });
    n++;
  }
  return n;
}

/** "N sample folder(s) beyond samples ...": the warning of a rerun with fewer samples. */
export function extraSamplesWarning(config: BatchConfig, extra: readonly number[]): string {
  const ids = extra.slice(0, 5).map(sampleId).join(', ') + (extra.length > 5 ? ', ...' : '');
  return `${extra.length} sample folder(s) beyond samples = ${config.samples} (${ids}) are kept on disk but not in the manifest; rerun render-batch with --prune to delete them`;
}

/** Indices 0..samples-1 without a finished folder. */
export function missingSamples(config: BatchConfig, outDir: string): number[] {
  checkBatchBounds(config);
  const scan = scanSamples(path.join(path.resolve(outDir), SAMPLES_DIR), false);
  const gaps: number[] = [];
  for (let i = 0; i < config.samples; i++) if (!scan.complete.has(i)) gaps.push(i);
  return gaps;
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

export { acquireLock as lockBatchDir };

// ---------------------------------------------------------------------------------------------
// the embedded pool

/**
 * Renders the missing samples of `config` into `opts.outDir`, then writes manifest.jsonl,
 * dataset.json and dataset_card.md. Resolves when the batch is complete; rejects with
 * BatchAbortedError on abort, or with an Error naming the sample that failed.
 */
export async function runBatch(config: BatchConfig, opts: RunBatchOptions): Promise<BatchResult> {
  const t0 = performance.now();
  const outDir = path.resolve(opts.outDir);
  const workerCount = resolveWorkerCount(config, opts.workers);
  const log = opts.log;
  const signal = opts.signal;
  if (signal?.aborted) throw new BatchAbortedError(outDir, 0, config.samples);
  checkBatchBounds(config); // before any folder or lock exists (configs built in code skip the schema)

  await checkBatchAssets(config, opts.renderer?.cacheRoot);
  fs.mkdirSync(outDir, { recursive: true });
  const release = acquireLock(outDir);
  const stats = { rendered: 0, skipped: 0, retries: 0, repairs: 0, renderersStarted: 0 };
  const progress = (p: Omit<BatchProgress, 'total' | 'done' | 'rendered' | 'skipped' | 'retries' | 'elapsedMs'>) => {
    try {
      opts.onProgress?.({
        total: config.samples,
        done: stats.rendered + stats.skipped,
        rendered: stats.rendered,
        skipped: stats.skipped,
        retries: stats.retries,
        elapsedMs: performance.now() - t0,
        ...p,
      });
    } catch (err) {
      log?.(`onProgress threw: ${(err as Error).message}`);
    }
  };
  try {
    const prep = await prepareBatch(config, { outDir, configFile: opts.configFile, cacheRoot: opts.renderer?.cacheRoot });
    if (prep.removedTemps.length) log?.(`removed ${prep.removedTemps.length} unfinished temp folder(s): ${prep.removedTemps.join(', ')}`);
    let extraNote = '';
    if (prep.extra.length && opts.prune) {
      const n = pruneSamples(outDir, prep.extra);
      log?.(`pruned ${n} sample folder(s) beyond samples = ${config.samples}`);
    } else if (prep.extra.length) {
      extraNote = extraSamplesWarning(config, prep.extra);
      log?.(`warning: ${extraNote}`);
    }
    const { missing } = prep;
    const shards = prep.shards.map((s) => s.indices);
    let nextShard = 0; // a cursor: shift() on a 100k-entry array is linear each time
    stats.skipped = config.samples - missing.length;
    const nWorkers = Math.min(workerCount, shards.length);
    const startMsg = missing.length === 0 ? 'complete' : `${missing.length} to render with ${nWorkers} worker(s)`;
    progress({ type: 'start', message: extraNote ? `${startMsg}; ${extraNote}` : startMsg });

    const tRender = performance.now();
    if (missing.length > 0) {
      let stopping = false;
      let fatal: Error | null = null;
      const runners = new Set<ShardRunner>();
      const stopped = () => stopping || !!signal?.aborted;
      const onAbort = () => {
        stopping = true;
        for (const r of runners) void r.renderer?.close();
      };
      signal?.addEventListener('abort', onAbort, { once: true });

      const worker = async (w: number) => {
        const runner = new ShardRunner({
          config,
          samplesDir: prep.samplesDir,
          worker: w,
          backend: opts.backend,
          log,
          maxAttempts: opts.maxAttempts,
          maxRepairs: opts.maxRepairs,
          renderer: opts.renderer,
          onRender: opts.onRender,
          onWorkerStart: opts.onWorkerStart,
          stopped,
          onEvent: (e) => {
            if (e.type === 'retry') stats.retries++;
            if (e.type === 'repair') stats.repairs += e.count ?? 0;
            progress({ type: e.type, index: e.index, worker: e.worker, message: e.message });
          },
        });
        runners.add(runner);
        try {
          while (!stopped()) {
            const shard = shards[nextShard++];
            if (!shard) break;
            for (const index of shard) {
              if (stopped()) break;
              progress({ type: 'sample-start', index, worker: w });
              const res = await runner.renderIndex(index);
              if (res.ms === 0) stats.skipped++;
              else stats.rendered++;
              progress({ type: 'sample', index, worker: w, sampleMs: res.ms });
            }
          }
        } catch (err) {
          if (!(err instanceof StoppedError) && !fatal) {
            fatal = err as Error;
            stopping = true; // the others drop their current sample and stop
          }
        } finally {
          stats.renderersStarted += runner.renderersStarted;
          runners.delete(runner);
          await runner.close();
        }
      };
      try {
        await Promise.all(Array.from({ length: nWorkers }, (_, w) => worker(w)));
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
      if (fatal) throw fatal;
      if (signal?.aborted) {
        throw new BatchAbortedError(outDir, config.samples - missingSamples(config, outDir).length, config.samples);
      }
    }
    const renderMs = performance.now() - tRender;

    progress({ type: 'finalize' });
    const dataset = await finishBatch(config, { outDir, configFile: opts.configFile, configHash: prep.configHash });
    const result: BatchResult = {
      outDir,
      total: config.samples,
      rendered: stats.rendered,
      skipped: stats.skipped,
      retries: stats.retries,
      repairs: stats.repairs,
      workers: nWorkers,
      elapsedMs: performance.now() - t0,
      secondsPerSample: stats.rendered ? renderMs / 1000 / stats.rendered : 0,
      renderersStarted: stats.renderersStarted,
      dataset,
    };
    progress({ type: 'done' });
    return result;
  } finally {
    release();
  }
}

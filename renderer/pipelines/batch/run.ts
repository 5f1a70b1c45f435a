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
import path from 'node:path';
import { Renderer, type RendererOptions, type RenderedSample } from '../../engine/renderer.js';
import { rendererBroken } from './renderer-health.js';
import { OlatPoseCache, writeOlatSample } from './olat-mode.js';
import { writeLightingFolder } from '../../dataset/lighting-folder.js';
import { Rng } from '../../core/rng.js';
import { writeJsonAtomic, tempPathFor } from '../../io/fs-atomic.js';
import { resolveHead } from '../../assets/head.js';
import { checkEnvMapFile } from '../../io/envmap-io.js';
import { PROJECT_ROOT } from '../../io/paths.js';
import { BrowserLaunchError, type Backend } from '../../engine/browser.js';
import { type BatchConfig, checkBatchBounds, contentConfig, resolveWorkerCount } from './config.js';
import { planSample, sampleId, expandEnvMaps, type PlannedSample } from './plan.js';
import { cropRendered } from '../../develop/crop.js';
import { landmarksRecord } from '../../develop/landmarks.js';
import { encodeLightings } from '../../dataset/encodings.js';
import { finishBatch, missingSamples, type FinalizeResult } from './finalize.js';
import { listFiles, SAMPLES_DIR, SAMPLE_JSON } from '../../dataset/layout.js';
import { DATASET_FORMAT_VERSION, SampleRecordSchema, writeRecord, type SampleLightingEntry } from '../../dataset/records.js';
import { buildSampleRecord, cameraRecord, sampleHeadRecord } from '../../dataset/sample-record.js';
import { findInconsistentRenders } from '../../dataset/consistency.js';
import { acquireLock, checkFolderIdentity, commitSampleFolder, contentHashOf, extraSamplesWarning, missingIndices, planShards, removeSampleFolders, scanSamples, type ShardPlan } from '../../dataset/output-folder.js';

export { findInconsistentRenders, maskMismatch, type MaskCheckOptions } from '../../dataset/consistency.js';
export { acquireLock as lockBatchDir } from '../../dataset/output-folder.js';

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

const BATCH_JSON = 'batch.json';

// ---------------------------------------------------------------------------------------------
// one sample

class StoppedError extends Error {}

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
  const writes: (Promise<SampleLightingEntry> | null)[] = new Array(n).fill(null);
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
    const writeLighting = async (k: number, r: RenderedSample, info: Renderer['info']): Promise<SampleLightingEntry> => {
      const L = plan.lightings[k];
      try {
        // Camera simulation of the inputs only; the same camera for input_i and input_j (same
        // stream), independent noise per frame (the frame label re-seeds the noise).
        const sim = config.cameraSim.enabled && L.key !== 'target_k' ? { options: config.cameraSim, rng: Rng.forSample(config.seed, plan.index, 'camera-sim'), frame: L.key } : null;
        return await writeLightingFolder(path.join(tmp, L.key), r, info, {
          key: L.key,
          role: L.role,
          lighting: L.lighting,
          passes: L.passes,
          encoding: encodings.then((e) => e[k]),
          extra: { batch: { sample: plan.id, index: plan.index, lighting: L.key, role: L.role, augment: plan.augment } },
          cameraSim: sim,
        });
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
    step.key = 'sample.json';
    const sample = buildSampleRecord({
      index: plan.index,
      id: plan.id,
      seed: plan.seed,
      head: sampleHeadRecord(plan.head, r0.head, plan.headParams),
      drawnCamera: plan.camera,
      camera: cameraRecord(r0.camera),
      augment: plan.augment,
      ...(r0.landmarks ? { landmarks: landmarksRecord(r0.landmarks, r0.camera, r0.modes.depth ?? null) } : {}),
      lighting: plan.lighting,
      lightings,
      files: [...listFiles(tmp), SAMPLE_JSON].sort(),
      run: {
        worker: ctx.worker,
        attempt: ctx.attempt,
        repairs,
        timingsMs: { ...timings, total: Math.round(performance.now() - t0) },
        createdAt: new Date().toISOString(),
      },
    });
    await writeRecord(path.join(tmp, SAMPLE_JSON), sample, SampleRecordSchema); // validated; refuses NaN/Infinity
    if (!commitSampleFolder(tmp, final)) return { ms: 0, repairs };
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
   * Start a fresh browser after this many rendered samples (default 250). The page's process grows
   * ~0.5 MiB per sample outside its JS heap (cause not found; the Network domain and Blob leaks are
   * fixed, see the bench's batch section), so a worker recycles its browser (~3 s) now and then.
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
    await this.olat?.close();
    this.olat = null;
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

  private olat: OlatPoseCache | null = null;

  /** Light-stage mode: the sample's triplet relit from its pose's OLAT stack (olat-mode.ts). */
  private async renderOlat(plan: PlannedSample, step: { key: string }): Promise<{ ms: number; repairs: number }> {
    const { config } = this.o;
    if (fs.existsSync(path.join(this.o.samplesDir, plan.id))) return { ms: 0, repairs: 0 };
    const t0 = performance.now();
    const cacheRoot = this.o.renderer?.cacheRoot ?? path.join(PROJECT_ROOT, 'output', '.cache');
    this.olat ??= new OlatPoseCache(config.olat!, cacheRoot);
    const spec = plan.lightings[0].spec;
    step.key = 'olat capture';
    const pose = await this.olat.get({ head: plan.head, width: spec.width, height: spec.height, camera: { ...spec.camera } }, () => this.getRenderer(false), this.o.log);
    step.key = 'olat relight';
    await writeOlatSample(path.dirname(this.o.samplesDir), plan.index, plan.seed, plan.triplet, pose, { headRadius: config.lighting.H.headRadius, cacheRoot, headParams: plan.headParams });
    return { ms: performance.now() - t0, repairs: 0 };
  }

  /** Renders sample `index` unless it exists. ms = 0: it existed (skipped). */
  async renderIndex(index: number): Promise<{ ms: number; repairs: number }> {
    const { config } = this.o;
    const maxAttempts = this.o.maxAttempts ?? 3;
    const plan = planSample(config, index);
    const step = { key: 'launch' };
    for (let attempt = 1; ; attempt++) {
      try {
        if (config.olat) return await this.renderOlat(plan, step);
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

export interface PreparedBatch extends ShardPlan {
  outDir: string;
  samplesDir: string;
  configHash: string;
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
  // Identity: batch.json records the config; a folder of another content config or dataset format version is refused.
  const content = contentConfig(config);
  const configHash = contentHashOf(content);
  checkFolderIdentity(outDir, BATCH_JSON, configHash, content, { items: 'samples', config: 'batch config' });
  await writeJsonAtomic(path.join(outDir, BATCH_JSON), { format_version: DATASET_FORMAT_VERSION, name: config.name, configFile: opts.configFile ?? null, contentHash: configHash, content, config });
  const scan = scanSamples(samplesDir);
  return { outDir, samplesDir, configHash, ...planShards(scan.complete, config.samples, config.shardSize), removedTemps: scan.removedTemps };
}

export { finishBatch, finishedSamples, missingSamples } from './finalize.js';

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
      const n = removeSampleFolders(prep.samplesDir, prep.extra);
      log?.(`pruned ${n} sample folder(s) beyond samples = ${config.samples}`);
    } else if (prep.extra.length) {
      extraNote = extraSamplesWarning(config.samples, prep.extra);
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

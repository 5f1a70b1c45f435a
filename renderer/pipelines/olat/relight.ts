// Node-only. Image-based relighting from an OLAT stack: relit_t = sum_i weight_t[i] x OLAT_i
// (per RGB channel), for a batch of T target lightings in one pass over the stack.
//
// Routes (measured in scripts/bench/olat.ts; README "OLAT light stage and relighting"):
//   'wasm'     WebAssembly SIMD kernel (wasm-kernel.ts) on the half-float stack, converted to
//              float32 per group of 4 pixels in L1, 12 f32x4 accumulators per 4 targets. Default.
//   'js'       plain JS on a float32 copy of the stack (twice the memory, twice the bytes read).
//   'js-half'  plain JS on the half stack through a 65536-entry half->float table.
// Each runs on the calling thread (threads: 1) or splits the pixels over worker threads
// sharing one memory (threads > 1). The JS kernels are relight-kernels.ts, one module imported
// here and by the workers (relight-worker.ts).
//
// In memory the stack is re-laid out group-major (4 covered pixels x RGB = 12 values per light,
// all lights of a group contiguous), so one pass streams the stack once and keeps the
// accumulators in registers; outputs are float32 RGB of the covered pixels.
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { compileRelightModule, type RelightExports } from './wasm-kernel.js';
import { makeRunner, type KernelCall, type KernelSetup, type Layout, type ProbeCall, type RelightRoute, type WorkerInit, type WorkerReply, type WorkerRequest } from './relight-kernels.js';
import { halfToFloatTable } from '../../core/half.js';

export type { RelightRoute } from './relight-kernels.js';
export const RELIGHT_ROUTES: readonly RelightRoute[] = ['wasm', 'js', 'js-half'];

export interface RelightInput {
  /** Number of OLAT images N. */
  imageCount: number;
  /** Covered pixels P per image. */
  pixelCount: number;
  /** N x P x 3 half-float bits, light-major (stack-io's `olat` section). */
  images: Uint16Array;
}

export interface RelighterOptions {
  /** Default 'wasm' (falls back to 'js' where WebAssembly SIMD is missing). */
  route?: RelightRoute;
  /** 1 = the calling thread; k > 1 = k worker threads. Default: 1 (see README for the measurement). */
  threads?: number;
  /** Targets per pass (rounded up to a multiple of 4; default 16). Larger batches run in several passes. */
  batch?: number;
}

// ---- Workers: relight-worker.ts (the same kernels module), started through renderer/io/worker-boot.mjs -----

/** The worker module next to this one, with this module's extension (.ts under tsx, .js compiled). */
const WORKER_ENTRY = new URL(`./relight-worker${path.extname(fileURLToPath(import.meta.url))}`, import.meta.url).href;
const WORKER_BOOT = new URL('../../io/worker-boot.mjs', import.meta.url);

function startWorker(): Worker {
  return new Worker(WORKER_BOOT, { workerData: { entry: WORKER_ENTRY } });
}

function align64(n: number): number {
  return Math.ceil(n / 64) * 64;
}

let simdOk: boolean | null = null;
/** Whether this Node has WebAssembly SIMD and shared memory (the 'wasm' route). */
export function wasmSimdAvailable(): boolean {
  if (simdOk === null) {
    try {
      compileRelightModule(65536);
      new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
      simdOk = true;
    } catch {
      simdOk = false;
    }
  }
  return simdOk;
}

class WorkerPool {
  private workers: Worker[] = [];
  private constructor() {}

  static async create(n: number, init: WorkerInit): Promise<WorkerPool> {
    const pool = new WorkerPool();
    for (let i = 0; i < n; i++) {
      const w = startWorker();
      w.unref();
      pool.workers.push(w);
    }
    try {
      await Promise.all(pool.workers.map((w) => pool.send(w, init)));
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  get size(): number {
    return this.workers.length;
  }

  private send(w: Worker, msg: WorkerRequest): Promise<void> {
    return new Promise((resolve, reject) => {
      const onMsg = (r: WorkerReply) => {
        cleanup();
        if (r.ok) resolve();
        else reject(new Error(`relight worker: ${r.error}`));
      };
      const onErr = (e: Error) => {
        cleanup();
        reject(e);
      };
      const onExit = (code: number) => {
        cleanup();
        reject(new Error(`relight worker exited with code ${code}`));
      };
      const cleanup = () => {
        w.off('message', onMsg);
        w.off('error', onErr);
        w.off('exit', onExit);
      };
      w.on('message', onMsg);
      w.on('error', onErr);
      w.on('exit', onExit);
      w.postMessage(msg);
    });
  }

  /** One call per worker (calls[i] to worker i). */
  run(calls: readonly (KernelCall | ProbeCall)[]): Promise<void> {
    return Promise.all(calls.map((c, i) => this.send(this.workers[i], { call: c }))).then(() => undefined);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers = [];
  }
}

export interface PassTiming {
  targets: number;
  ms: number;
  /** Stack bytes the kernel read in this pass (once per pass, whatever the number of targets). */
  stackBytes: number;
}

export class Relighter {
  /** Timing of the last 1000 passes. */
  readonly passes: PassTiming[] = [];
  private local: ((c: KernelCall) => void) | null = null;

  private constructor(
    readonly route: RelightRoute,
    readonly threads: number,
    readonly imageCount: number,
    readonly pixelCount: number,
    private layout: Layout,
    private buffer: SharedArrayBuffer,
    private pool: WorkerPool | null,
    setup: KernelSetup,
    /** Milliseconds spent re-laying out the stack (once). */
    readonly prepareMs: number,
  ) {
    if (!pool) this.local = makeRunner(setup);
  }

  static async create(input: RelightInput, opts: RelighterOptions = {}): Promise<Relighter> {
    const t0 = performance.now();
    let route = opts.route ?? 'wasm';
    if (!RELIGHT_ROUTES.includes(route)) throw new Error(`unknown relight route "${route}" (use ${RELIGHT_ROUTES.join(', ')})`);
    if (route === 'wasm' && !wasmSimdAvailable()) route = 'js';
    const threads = Math.max(1, Math.min(opts.threads ?? 1, os.availableParallelism() * 2, 64));
    const N = input.imageCount;
    const P = input.pixelCount;
    if (!(N >= 1 && P >= 1)) throw new Error(`relight: need at least one image and one pixel (got ${N} images, ${P} pixels)`);
    if (input.images.length !== N * P * 3) throw new Error(`relight: ${input.images.length} values, expected ${N} x ${P} x 3`);
    const G = Math.ceil(P / 4);
    const maxT = Math.max(4, Math.ceil((opts.batch ?? 16) / 4) * 4);
    const valueBytes = route === 'js' ? 4 : 2;
    const scratchBytes = align64(N * 48);
    const L: Layout = { N, G, maxT, scratch: 64, scratchBytes, weights: 0, out: 0, outStride: G * 48, stack: 0, total: 0 };
    L.weights = align64(L.scratch + scratchBytes * threads);
    // wasm: per target block, per light, 4 targets x 3 lane patterns of f32x4; js: T x N x 3 floats.
    L.out = align64(L.weights + (route === 'wasm' ? (maxT / 4) * N * 192 : maxT * N * 12));
    L.stack = align64(L.out + maxT * L.outStride);
    L.total = align64(L.stack + G * N * 12 * valueBytes);
    if (L.total > 4 * 2 ** 30 - 65536) throw new Error(`relight: stack too large for one 4 GiB memory (${(L.total / 2 ** 30).toFixed(2)} GiB)`);
    let memory: WebAssembly.Memory | undefined;
    let module: WebAssembly.Module | undefined;
    let buffer: SharedArrayBuffer;
    if (route === 'wasm') {
      const pages = Math.ceil(L.total / 65536);
      memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
      module = compileRelightModule(65536);
      buffer = memory.buffer as unknown as SharedArrayBuffer;
    } else buffer = new SharedArrayBuffer(L.total);

    // Re-layout light-major [N][P][3] -> group-major [G][N][4 px x 3].
    const src = input.images;
    if (route === 'js') {
      const dst = new Float32Array(buffer, L.stack, G * N * 12);
      const lut = halfToFloatTable();
      for (let i = 0; i < N; i++) {
        const s0 = i * P * 3;
        for (let p = 0; p < P; p++) {
          const d = ((p >> 2) * N + i) * 12 + (p & 3) * 3;
          const s = s0 + p * 3;
          dst[d] = lut[src[s]];
          dst[d + 1] = lut[src[s + 1]];
          dst[d + 2] = lut[src[s + 2]];
        }
      }
    } else {
      const dst = new Uint16Array(buffer, L.stack, G * N * 12);
      for (let i = 0; i < N; i++) {
        const s0 = i * P * 3;
        for (let p = 0; p < P; p++) {
          const d = ((p >> 2) * N + i) * 12 + (p & 3) * 3;
          const s = s0 + p * 3;
          dst[d] = src[s];
          dst[d + 1] = src[s + 1];
          dst[d + 2] = src[s + 2];
        }
      }
    }
    const setup: KernelSetup = { route, buffer, memory, module, layout: L, halfTable: route === 'js-half' ? halfToFloatTable() : undefined };
    const pool = threads > 1 ? await WorkerPool.create(threads, { setup }) : null;
    return new Relighter(route, threads, N, P, L, buffer, pool, setup, performance.now() - t0);
  }

  /** Bytes of stack one pass reads. */
  get stackBytes(): number {
    return this.layout.G * this.layout.N * 12 * (this.route === 'js' ? 4 : 2);
  }

  /** Targets per pass. */
  get batch(): number {
    return this.layout.maxT;
  }

  /**
   * Relights for each weight vector (N x 3, RGB interleaved: weight of image i in channel c at
   * i*3 + c). Returns float32 RGB of the covered pixels (P x 3) per target, in stack-io `indices`
   * order. Batches of `batch` targets share one pass over the stack.
   */
  async relight(weights: readonly Float32Array[]): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (let at = 0; at < weights.length; at += this.layout.maxT) {
      out.push(...(await this.pass(weights.slice(at, at + this.layout.maxT))));
    }
    return out;
  }

  private async pass(ws: readonly Float32Array[]): Promise<Float32Array[]> {
    const L = this.layout;
    const N = L.N;
    for (const [k, w] of ws.entries()) {
      if (w.length !== N * 3) throw new Error(`relight: weights[${k}] has ${w.length} values, expected ${N} x 3`);
    }
    const nT = Math.ceil(ws.length / 4) * 4;
    const t0 = performance.now();
    if (this.route === 'wasm') {
      // Lane patterns (r g b r)(g b r g)(b r g b) per target block, light, target; zero for padding targets.
      const f = new Float32Array(this.buffer, L.weights, (nT / 4) * N * 48);
      for (let tb = 0; tb < nT / 4; tb++) {
        for (let i = 0; i < N; i++) {
          for (let t = 0; t < 4; t++) {
            const w = ws[tb * 4 + t];
            const o = ((tb * N + i) * 4 + t) * 12;
            for (let j = 0; j < 12; j++) f[o + j] = w ? w[i * 3 + (j % 3)] : 0;
          }
        }
      }
    } else {
      const f = new Float32Array(this.buffer, L.weights, nT * N * 3);
      f.fill(0);
      ws.forEach((w, t) => f.set(w, t * N * 3));
    }
    if (this.pool) {
      const k = this.pool.size;
      const calls: KernelCall[] = [];
      for (let s = 0; s < k; s++) {
        const g0 = Math.floor((L.G * s) / k);
        const g1 = Math.floor((L.G * (s + 1)) / k);
        calls.push({ g0, g1, nT, slot: s });
      }
      await this.pool.run(calls);
    } else this.local!({ g0: 0, g1: L.G, nT, slot: 0 });
    const P3 = this.pixelCount * 3;
    const res = ws.map((_, t) => new Float32Array(this.buffer, L.out + t * L.outStride, P3).slice());
    this.passes.push({ targets: ws.length, ms: performance.now() - t0, stackBytes: this.stackBytes });
    if (this.passes.length > 1000) this.passes.splice(0, this.passes.length - 1000);
    return res;
  }

  async close(): Promise<void> {
    await this.pool?.close();
    this.pool = null;
  }
}

/**
 * Memory-bandwidth probes for the bench: (a) memcpy of a large buffer (Buffer.copy, bytes read +
 * written per second), (b) a WebAssembly SIMD read-and-sum over the same bytes on `threads`
 * threads (bytes read per second). Returns GB/s (1e9 bytes).
 */
export async function measureMemoryBandwidth(bytes = 256 * 2 ** 20, threads = 1, repeats = 3): Promise<{ copyGBps: number; readGBps: number; threads: number }> {
  const a = Buffer.alloc(bytes, 1);
  const b = Buffer.alloc(bytes);
  let best = Infinity;
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    a.copy(b);
    best = Math.min(best, performance.now() - t0);
  }
  const copyGBps = (2 * bytes) / (best / 1000) / 1e9;
  let readGBps = NaN;
  if (wasmSimdAvailable()) {
    const pages = Math.ceil((bytes + 65536) / 65536);
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    new Uint8Array(memory.buffer).fill(1, 65536);
    const module = compileRelightModule(65536);
    const chunk = Math.floor(bytes / threads / 64) * 64;
    const pool = threads > 1 ? await WorkerPool.create(threads, { probe: { module, memory } }) : null;
    const local = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as RelightExports;
    try {
      let bestR = Infinity;
      for (let r = 0; r < repeats + 1; r++) {
        const t0 = performance.now();
        if (pool) await pool.run(Array.from({ length: threads }, (_, i): ProbeCall => ({ ptr: 65536 + i * chunk, bytes: chunk, out: i * 64 })));
        else local.readsum(65536, chunk, 0);
        if (r > 0) bestR = Math.min(bestR, performance.now() - t0);
      }
      readGBps = (chunk * threads) / (bestR / 1000) / 1e9;
    } finally {
      await pool?.close();
    }
  }
  return { copyGBps, readGBps, threads };
}

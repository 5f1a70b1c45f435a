// The relighting kernels and the runner that binds one to a shared memory layout. One module, used
// as is by the calling thread (threads: 1) and by each worker thread (relight-worker.ts), so what
// runs in a worker is the same checked TypeScript as what runs locally.
//
// Stack layout (see relight.ts): group-major, for group g (4 covered pixels) and light i, 12 values
// (4 px x RGB) at (g*N + i)*12. Weights: T x N x 3 float32 (RGB of light i for target t at
// (t*N + i)*3). Output: float32, target t at t*ostride, group g at +g*12 (4 px x RGB).
import type { RelightExports } from './wasm-kernel.js';

export type RelightRoute = 'wasm' | 'js' | 'js-half';

/** Byte offsets in the shared memory. */
export interface Layout {
  N: number;
  G: number;
  maxT: number;
  scratch: number;
  scratchBytes: number;
  weights: number;
  out: number;
  outStride: number;
  stack: number;
  total: number;
}

/** What a kernel needs to know, posted to each worker once. */
export interface KernelSetup {
  route: RelightRoute;
  buffer: SharedArrayBuffer;
  memory?: WebAssembly.Memory;
  module?: WebAssembly.Module;
  layout: Layout;
  /** 'js-half': core/half's half -> float table (copied to each worker with the setup). */
  halfTable?: Float32Array;
}

/** One call: groups [g0, g1), nT targets (multiple of 4), scratch slot. */
export interface KernelCall {
  g0: number;
  g1: number;
  nT: number;
  slot: number;
}

/** The bench's memory-bandwidth probe: the WebAssembly module's `readsum` on a shared memory. */
export interface ProbeSetup {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
}

/** One probe call: sum `bytes` bytes at `ptr` (a multiple of 64), 16 bytes of result at `out`. */
export interface ProbeCall {
  ptr: number;
  bytes: number;
  out: number;
}

/** Messages to a worker: one init (`setup` or `probe`), then calls of the matching kind. */
export type WorkerInit = { setup: KernelSetup } | { probe: ProbeSetup };
export type WorkerRequest = WorkerInit | { call: KernelCall | ProbeCall };
/** Every request is answered with one reply. */
export interface WorkerReply {
  ok: boolean;
  error?: string;
}

/**
 * One group of 4 pixels for T targets: 12 accumulators (4 px x RGB) over the N lights' values
 * at S[base + i*12 ..], weights Wt (T x N x 3), stored into group g of each target's output.
 */
function accumulateGroup(S: Float32Array, base: number, Wt: Float32Array, O: Float32Array, N: number, g: number, T: number, ostride: number): void {
  for (let t = 0; t < T; t++) {
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0, a8 = 0, a9 = 0, a10 = 0, a11 = 0;
    for (let i = 0, s = base, w = t * N * 3; i < N; i++, s += 12, w += 3) {
      const w0 = Wt[w], w1 = Wt[w + 1], w2 = Wt[w + 2];
      a0 += S[s] * w0; a1 += S[s + 1] * w1; a2 += S[s + 2] * w2;
      a3 += S[s + 3] * w0; a4 += S[s + 4] * w1; a5 += S[s + 5] * w2;
      a6 += S[s + 6] * w0; a7 += S[s + 7] * w1; a8 += S[s + 8] * w2;
      a9 += S[s + 9] * w0; a10 += S[s + 10] * w1; a11 += S[s + 11] * w2;
    }
    const o = t * ostride + g * 12;
    O[o] = a0; O[o + 1] = a1; O[o + 2] = a2; O[o + 3] = a3; O[o + 4] = a4; O[o + 5] = a5;
    O[o + 6] = a6; O[o + 7] = a7; O[o + 8] = a8; O[o + 9] = a9; O[o + 10] = a10; O[o + 11] = a11;
  }
}

/** Float32 stack: S (G x N x 12), weights Wt, output O (float32 indices; ostride in floats). */
export function relightF32(S: Float32Array, Wt: Float32Array, O: Float32Array, N: number, g0: number, g1: number, T: number, ostride: number): void {
  for (let g = g0; g < g1; g++) accumulateGroup(S, g * N * 12, Wt, O, N, g, T, ostride);
}

/**
 * Half-float stack H (bits) read through LUT (65536-entry half -> float table): each group is
 * converted once into `scratch` (N x 12 floats), then summed as in relightF32.
 */
export function relightHalf(H: Uint16Array, LUT: Float32Array, scratch: Float32Array, Wt: Float32Array, O: Float32Array, N: number, g0: number, g1: number, T: number, ostride: number): void {
  const n12 = N * 12;
  for (let g = g0; g < g1; g++) {
    const base = g * n12;
    for (let j = 0; j < n12; j++) scratch[j] = LUT[H[base + j]];
    accumulateGroup(scratch, 0, Wt, O, N, g, T, ostride);
  }
}

/** Builds a runner for a setup: views on the shared memory made once, one kernel call per `run`. */
export function makeRunner(setup: KernelSetup): (c: KernelCall) => void {
  const L = setup.layout;
  if (setup.route === 'wasm') {
    const inst = new WebAssembly.Instance(setup.module!, { env: { memory: setup.memory! } });
    const k = inst.exports as unknown as RelightExports;
    return (c) => k.relight(L.stack, L.weights, L.out, L.scratch + c.slot * L.scratchBytes, L.N, c.g0, c.g1, c.nT / 4, L.outStride);
  }
  const buf = setup.buffer;
  const W = new Float32Array(buf, L.weights, L.maxT * L.N * 3);
  const O = new Float32Array(buf, L.out, (L.maxT * L.outStride) / 4);
  if (setup.route === 'js') {
    const S = new Float32Array(buf, L.stack, L.G * L.N * 12);
    return (c) => relightF32(S, W, O, L.N, c.g0, c.g1, c.nT, L.outStride / 4);
  }
  const H = new Uint16Array(buf, L.stack, L.G * L.N * 12);
  const LUT = setup.halfTable!;
  return (c) => relightHalf(H, LUT, new Float32Array(buf, L.scratch + c.slot * L.scratchBytes, L.N * 12), W, O, L.N, c.g0, c.g1, c.nT, L.outStride / 4);
}

/** Builds the bandwidth probe's runner. */
export function makeProbeRunner(setup: ProbeSetup): (c: ProbeCall) => void {
  const k = new WebAssembly.Instance(setup.module, { env: { memory: setup.memory } }).exports as unknown as RelightExports;
  return (c) => k.readsum(c.ptr, c.bytes, c.out);
}

// Node-only. Precomputed per-vertex visibility of the environment for a head (issue 11, "environment
// light has no visibility"): the smooth residual of an environment map (what is left after its
// brightest regions become shadow-mapped directional lights) is shaded through this.
//
// What is computed, per vertex with position p and unit normal n (world/canonical frame, metres):
//   V(w)        1 if a ray from p + bias*n in direction w leaves the mesh (the environment is at
//               infinity, or beyond `maxDistance`), 0 if it hits any triangle (either side).
//   ao          = ∫ V(w) max(0, n·w)/π dw, in [0, 1]: the cosine-weighted unoccluded fraction.
//   bent        = normalize(∫ V(w) w max(0, n·w) dw): the mean unoccluded direction (unit; n where
//               every ray is blocked).
//   transfer_k  = ∫ V(w) max(0, n·w)/π Y_k(w) dw, k = 0..8, on the real SH basis of
//               renderer/core/sh9.ts (same order and normalisation, our world axes). It is
//               dimensionless: for radiance SH coefficients L_k (projectEnvSH9, W/(m² sr) or
//               whatever unit the map has) Σ_k transfer_k L_k is the shadowed irradiance / π in the
//               same unit, i.e. the diffuse shading that multiplies albedo. Unoccluded, it equals
//               irradianceSH9(L, n)/π exactly: transfer_k = A_l/π · Y_k(n).
//
// Estimator: `rays` cosine-weighted directions per vertex (pdf max(0, n·w)/π), from a Hammersley
// point set (stratified: one point per 1/rays slab in u, van der Corput in the azimuth) mapped
// through r = sqrt(u1), φ = 2π u2, with a per-vertex Cranley-Patterson rotation drawn from
// renderer/core/rng.ts (seeded; never Math.random). Then ao = visible/rays, and transfer uses the
// unoccluded closed form as a control variate: transfer_k = A_l/π Y_k(n) − (1/rays) Σ_blocked Y_k(w),
// so a fully visible vertex gets the exact unshadowed transfer and noise comes only from the
// blocked directions. Each vertex depends only on (input, options, seed, its own index), so the
// output bytes do not depend on the number of threads.
//
// How the shader is meant to use it (vertex attributes, interpolated):
//   - residual diffuse: E_res/π = Σ_k transfer_k L_res,k. To keep normal-map detail, apply it as a
//     ratio to the unshadowed irradiance of the geometric normal:
//       shading = irradianceSH(L_res, n_mapped)/π · (Σ transfer_k L_res,k) / (irradianceSH(L_res, n_geom)/π)
//     (guard the division: fall back to ao where the denominator is tiny).
//   - specular occlusion of the environment reflection from ao and the bent normal, e.g.
//     Lagarde & de Rousiers 2014, "Moving Frostbite to PBR": so = clamp((NdotV + ao)^exp2(-16 r - 1)
//     - 1 + ao, 0, 1), or the cone-cone intersection of the bent-normal visibility cone
//     (half angle acos(sqrt(1 - ao))) with the specular lobe.
//   - the bent normal can replace n for looking up the (unshadowed) diffuse SH when transfer is off.
//
// Ray casting: three-mesh-bvh (SAH BVH, `raycastFirst`, both sides) on three.js geometry; it runs
// in Node without a DOM. The BVH is built once here and shared with worker_threads (serialized,
// SharedArrayBuffer roots). The kernel is visibility-kernel.ts, run here or in visibility-worker.ts
// threads started through renderer/io/worker-boot.mjs (tsx's loader for TypeScript workers), so
// they work under tsx, mocha and plain Node alike; three and three-mesh-bvh are required by
// resolved path on both sides. Workers only return hit records; the SH projection and the bounce
// matrix are made here with sh9.ts's own shBasis.
//
// Cache (visibility-cache.ts): cachedVisibility() keys a file by sha256 of a version string, the resolved options and the
// three buffers, and writes it atomically (renderer/io/fs-atomic.ts). The file carries the key and
// a sha256 of its payload; a file that does not match is recomputed and rewritten, never trusted.
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { makeVisibilityKernel, type Kernel, type KernelData } from './visibility-kernel.js';
import type { MeshBVH as MeshBVHType } from 'three-mesh-bvh';
import { Rng } from '../core/rng.js';
import { SH_A, SH_BAND, shBasis } from '../core/sh9.js';

// three and three-mesh-bvh are loaded through require() from resolved paths, here and in the
// workers alike, so both run the very same files whatever loader imported this module (tsx's ESM,
// mocha's CommonJS transform, plain Node); import.meta.resolve is not available under all of them.
const requireHere = createRequire(import.meta.url);
const THREE_PATH = requireHere.resolve('three');
export const BVH_PATH = requireHere.resolve('three-mesh-bvh');
const THREE = requireHere(THREE_PATH) as typeof import('three');
const { MeshBVH, SAH } = requireHere(BVH_PATH) as typeof import('three-mesh-bvh');
type MeshBVH = MeshBVHType;

/** Bumped whenever the estimator or the file format changes (part of the cache key). */
export const VISIBILITY_VERSION = 'vls-visibility-2';

export interface VisibilityInput {
  /** xyz per vertex, world/canonical frame, metres; one or more meshes concatenated. */
  positions: Float32Array;
  /** xyz per vertex (normalised here; must be non-zero). */
  normals: Float32Array;
  /** Triangle list into the concatenated vertices. */
  indices: Uint32Array;
}

export interface VisibilityResult {
  vertexCount: number;
  /** 1 per vertex: cosine-weighted unoccluded fraction in [0, 1]. */
  ao: Float32Array;
  /** 3 per vertex: unit bent normal (mean unoccluded direction). */
  bent: Float32Array;
  /** 9 per vertex (vertex-major, k inner): SH9 of V(w) max(0, n·w)/π on sh9.ts's basis. */
  transfer: Float32Array;
  /** One-bounce interreflection: indirect shading_i = Σ weight · outgoing radiance of vertex index (CSR rows). */
  bounce: BounceMatrix;
}

/** Sparse rows (CSR): row i is index/weight[offsets[i] .. offsets[i+1]). */
export interface BounceMatrix {
  offsets: Uint32Array;
  index: Uint32Array;
  weight: Float32Array;
}

export interface VisibilityOptions {
  /** Rays per vertex (default 128). */
  rays?: number;
  /** Seed of the per-vertex sample rotations (default 0). */
  seed?: number;
  /** Hits farther than this (metres) do not occlude (default Infinity). */
  maxDistance?: number;
  /** Ray origin offset along the normal, metres (default 1e-4 x the bounding-box diagonal). */
  bias?: number;
  /** Worker threads (default os.availableParallelism()); 0 = run on the calling thread. Never changes the result. */
  threads?: number;
}

export interface CachedVisibilityResult extends VisibilityResult {
  /** The cache file this result was read from or written to. */
  cacheFile: string;
  /** Whether it was read from the cache (false: computed now and written). */
  fromCache: boolean;
}

export interface Resolved {
  rays: number;
  seed: number;
  maxDistance: number;
  bias: number;
  threads: number;
}

// ---------------------------------------------------------------------------------------------
// The kernel (visibility-kernel.ts) runs on this thread or in visibility-worker.ts threads,
// started through renderer/io/worker-boot.mjs.

const WORKER_ENTRY = new URL(`./visibility-worker${path.extname(fileURLToPath(import.meta.url))}`, import.meta.url).href;
const WORKER_BOOT = new URL('../io/worker-boot.mjs', import.meta.url);

// ---------------------------------------------------------------------------------------------
// Input and options

export function checkInput(input: VisibilityInput): number {
  const { positions, normals, indices } = input;
  if (!(positions instanceof Float32Array) || !(normals instanceof Float32Array) || !(indices instanceof Uint32Array)) {
    throw new TypeError('visibility: positions and normals must be Float32Array, indices Uint32Array');
  }
  if (positions.length % 3 !== 0) throw new Error(`visibility: positions has ${positions.length} floats, not a multiple of 3`);
  const n = positions.length / 3;
  if (normals.length !== positions.length) throw new Error(`visibility: normals has ${normals.length} floats for ${n} vertices (need ${positions.length})`);
  if (indices.length % 3 !== 0) throw new Error(`visibility: indices has ${indices.length} entries, not a multiple of 3 (triangles)`);
  for (let i = 0; i < positions.length; i++) {
    if (!Number.isFinite(positions[i])) throw new Error(`visibility: vertex ${Math.floor(i / 3)} position is not finite (${positions[i]})`);
  }
  for (let v = 0; v < n; v++) {
    const x = normals[v * 3];
    const y = normals[v * 3 + 1];
    const z = normals[v * 3 + 2];
    const l = Math.hypot(x, y, z);
    if (!Number.isFinite(l) || !(l > 1e-12)) throw new Error(`visibility: vertex ${v} normal (${x}, ${y}, ${z}) is zero or not finite`);
  }
  for (let i = 0; i < indices.length; i++) {
    if (indices[i] >= n) throw new Error(`visibility: index ${i} is ${indices[i]}, out of range for ${n} vertices`);
  }
  return n;
}

function bboxDiagonal(p: Float32Array): number {
  if (p.length === 0) return 0;
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < p.length; i++) {
    const c = i % 3;
    if (p[i] < lo[c]) lo[c] = p[i];
    if (p[i] > hi[c]) hi[c] = p[i];
  }
  return Math.hypot(hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]);
}

export function resolveOptions(input: VisibilityInput, opts: VisibilityOptions): Resolved {
  const rays = opts.rays ?? 128;
  if (!Number.isInteger(rays) || rays < 1 || rays > 65536) throw new Error(`visibility: rays must be an integer in [1, 65536], got ${rays}`);
  const seed = opts.seed ?? 0;
  if (!Number.isFinite(seed)) throw new Error(`visibility: seed must be finite, got ${seed}`);
  const maxDistance = opts.maxDistance ?? Infinity;
  if (!(maxDistance > 0)) throw new Error(`visibility: maxDistance must be > 0, got ${maxDistance}`);
  const bias = opts.bias ?? 1e-4 * bboxDiagonal(input.positions);
  if (!Number.isFinite(bias) || bias < 0) throw new Error(`visibility: bias must be finite and >= 0, got ${bias}`);
  const threads = opts.threads ?? Math.max(1, os.availableParallelism());
  if (!Number.isInteger(threads) || threads < 0) throw new Error(`visibility: threads must be an integer >= 0, got ${threads}`);
  return { rays, seed, maxDistance, bias, threads };
}

function radicalInverse2(i: number): number {
  let bits = i >>> 0;
  bits = ((bits << 16) | (bits >>> 16)) >>> 0;
  bits = (((bits & 0x55555555) << 1) | ((bits & 0xaaaaaaaa) >>> 1)) >>> 0;
  bits = (((bits & 0x33333333) << 2) | ((bits & 0xcccccccc) >>> 2)) >>> 0;
  bits = (((bits & 0x0f0f0f0f) << 4) | ((bits & 0xf0f0f0f0) >>> 4)) >>> 0;
  bits = (((bits & 0x00ff00ff) << 8) | ((bits & 0xff00ff00) >>> 8)) >>> 0;
  return bits / 4294967296;
}

function kernelData(input: VisibilityInput, n: number, r: Resolved): KernelData {
  const hx = new Float64Array(r.rays);
  const hy = new Float64Array(r.rays);
  for (let j = 0; j < r.rays; j++) {
    hx[j] = j / r.rays;
    hy[j] = radicalInverse2(j);
  }
  // Per-vertex Cranley-Patterson rotation: one stream, drawn in vertex order here (not in workers).
  const rng = Rng.forSample(r.seed, 0, 'visibility-rotation');
  const cp = new Float64Array(2 * n);
  for (let i = 0; i < 2 * n; i++) cp[i] = rng.next();
  return { positions: input.positions, normals: input.normals, cp, hx, hy, rays: r.rays, bias: r.bias, maxDistance: r.maxDistance };
}

// ---------------------------------------------------------------------------------------------
// Tracing on workers

async function traceOnWorkers(bvh: MeshBVH | null, d: KernelData, n: number, threads: number): Promise<Int32Array> {
  const hitsBuf = new SharedArrayBuffer(n * d.rays * 4);
  const hits = new Int32Array(hitsBuf);
  if (n === 0) return hits;
  // About 16 chunks per thread for balance (eyes and nostrils cost more than the cheek).
  const chunk = Math.max(32, Math.ceil(n / (threads * 16)));
  const jobs: [number, number][] = [];
  for (let v = 0; v < n; v += chunk) jobs.push([v, Math.min(n, v + chunk)]);
  const count = Math.min(threads, jobs.length);
  const workerData = {
    threePath: THREE_PATH,
    bvhPath: BVH_PATH,
    bvh: bvh ? MeshBVH.serialize(bvh, { cloneBuffers: false }) : null,
    kernel: d,
    hits: hitsBuf,
  };
  const workers = Array.from({ length: count }, () => new Worker(WORKER_BOOT, { workerData: { ...workerData, entry: WORKER_ENTRY } }));
  let next = 0;
  try {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            const send = () => {
              if (next >= jobs.length) return resolve();
              const id = next++;
              w.postMessage({ id, v0: jobs[id][0], v1: jobs[id][1] });
            };
            w.on('message', (m: { ok: boolean; error?: string }) => {
              if (!m.ok) reject(new Error(`visibility worker: ${m.error}`));
              else send();
            });
            w.on('error', reject);
            w.on('exit', (code) => {
              if (next < jobs.length || code !== 0) reject(new Error(`visibility worker exited with code ${code}`));
            });
            send();
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return hits;
}

// ---------------------------------------------------------------------------------------------
// Public API

/** Per-vertex AO, bent normal and SH9 diffuse transfer of `input` (see the file comment). */
export async function computeVisibility(input: VisibilityInput, opts: VisibilityOptions = {}): Promise<VisibilityResult> {
  const n = checkInput(input);
  const r = resolveOptions(input, opts);
  const d = kernelData(input, n, r);
  let bvh: MeshBVH | null = null;
  if (input.indices.length > 0) {
    const geom = new THREE.BufferGeometry();
    geom.setAttribute('position', new THREE.BufferAttribute(input.positions, 3));
    geom.setIndex(new THREE.BufferAttribute(input.indices.slice(), 1)); // the BVH reorders its index in place
    bvh = new MeshBVH(geom, { strategy: SAH, targetLeafSize: 4, useSharedArrayBuffer: true });
  }
  const local = makeVisibilityKernel(THREE, bvh, d);
  let hits: Int32Array;
  if (r.threads === 0 || n === 0) {
    hits = new Int32Array(n * r.rays);
    local.trace(0, n, hits, 0);
  } else {
    hits = await traceOnWorkers(bvh, d, n, r.threads);
  }
  return project(input.normals, n, r.rays, hits, local);
}

/** Hit records -> ao, bent normal, transfer (on this thread, with sh9.ts's own basis) and the bounce matrix. */
function project(normals: Float32Array, n: number, R: number, hits: Int32Array, kernel: Kernel): VisibilityResult {
  const ao = new Float32Array(n);
  const bent = new Float32Array(3 * n);
  const transfer = new Float32Array(9 * n);
  const dir = new Float64Array(3 * R);
  const Y = new Float64Array(9);
  const S = new Float64Array(9);
  for (let v = 0; v < n; v++) {
    kernel.directions(v, dir);
    S.fill(0);
    let blocked = 0;
    let bx = 0;
    let by = 0;
    let bz = 0;
    for (let j = 0; j < R; j++) {
      const x = dir[j * 3];
      const y = dir[j * 3 + 1];
      const z = dir[j * 3 + 2];
      if (hits[v * R + j]) {
        blocked++;
        shBasis(x, y, z, Y);
        for (let k = 0; k < 9; k++) S[k] += Y[k];
      } else {
        bx += x;
        by += y;
        bz += z;
      }
    }
    let nx = normals[v * 3];
    let ny = normals[v * 3 + 1];
    let nz = normals[v * 3 + 2];
    const nl = Math.hypot(nx, ny, nz);
    nx /= nl;
    ny /= nl;
    nz /= nl;
    ao[v] = (R - blocked) / R;
    const bl = Math.hypot(bx, by, bz);
    if (blocked < R && bl > 1e-12) {
      bent[v * 3] = bx / bl;
      bent[v * 3 + 1] = by / bl;
      bent[v * 3 + 2] = bz / bl;
    } else {
      bent[v * 3] = nx;
      bent[v * 3 + 1] = ny;
      bent[v * 3 + 2] = nz;
    }
    shBasis(nx, ny, nz, Y);
    for (let k = 0; k < 9; k++) transfer[v * 9 + k] = (SH_A[SH_BAND[k]] / Math.PI) * Y[k] - S[k] / R;
  }
  return { vertexCount: n, ao, bent, transfer, bounce: bounceMatrix(n, R, hits) };
}

/**
 * One diffuse bounce: cosine-weighted rays estimate irradiance / pi as the mean radiance they see,
 * so a ray of vertex i that lands on the front of the surface near vertex j carries 1/R of j's
 * outgoing radiance (albedo_j x shading_j for a Lambertian surface): row i of the sparse matrix
 * holds (j, count / R). Back-face hits carry nothing.
 */
function bounceMatrix(n: number, R: number, hits: Int32Array): BounceMatrix {
  const offsets = new Uint32Array(n + 1);
  const index: number[] = [];
  const weight: number[] = [];
  const row = new Map<number, number>();
  for (let v = 0; v < n; v++) {
    row.clear();
    for (let j = 0; j < R; j++) {
      const h = hits[v * R + j];
      if (h > 0) row.set(h - 1, (row.get(h - 1) ?? 0) + 1);
    }
    for (const k of [...row.keys()].sort((a, b) => a - b)) {
      index.push(k);
      weight.push(row.get(k)! / R);
    }
    offsets[v + 1] = index.length;
  }
  return { offsets, index: Uint32Array.from(index), weight: Float32Array.from(weight) };
}

// ---------------------------------------------------------------------------------------------
// Shadow rays at render time (renderer/assets/bounce.ts)

/** Whether a ray from `o` along unit `d` hits the mesh within `maxDistance` (a BVH built once). */
export type Occluder = (ox: number, oy: number, oz: number, dx: number, dy: number, dz: number, maxDistance: number) => boolean;

export function createOccluder(input: VisibilityInput): Occluder {
  checkInput(input);
  if (input.indices.length === 0) return () => false;
  const geom = new THREE.BufferGeometry();
  geom.setAttribute('position', new THREE.BufferAttribute(input.positions, 3));
  geom.setIndex(new THREE.BufferAttribute(input.indices.slice(), 1));
  const bvh = new MeshBVH(geom, { strategy: SAH, targetLeafSize: 4 });
  const ray = new THREE.Ray();
  return (ox, oy, oz, dx, dy, dz, maxDistance) => {
    ray.origin.set(ox, oy, oz);
    ray.direction.set(dx, dy, dz);
    return bvh.raycastFirst(ray, THREE.DoubleSide, 0, maxDistance) !== null;
  };
}

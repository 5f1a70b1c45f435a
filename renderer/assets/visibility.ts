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
// SharedArrayBuffer roots). Workers are started from an eval'd plain-JS source (as
// renderer/pipelines/olat/relight.ts does), so they work under tsx, mocha and plain Node alike:
// the only code they run is KERNEL_SOURCE below and the two packages, required by resolved path.
// Workers only return hit flags; the SH projection happens here with sh9.ts's own shBasis.
//
// Cache: cachedVisibility() keys a file by sha256 of a version string, the resolved options and the
// three buffers, and writes it atomically (renderer/io/fs-atomic.ts). The file carries the key and
// a sha256 of its payload; a file that does not match is recomputed and rewritten, never trusted.
import crypto from 'node:crypto';
import { promises as fsp } from 'node:fs';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { MeshBVH as MeshBVHType } from 'three-mesh-bvh';
import { Rng } from '../core/rng.js';
import { SH_A, SH_BAND, shBasis } from '../core/sh9.js';
import { writeFileAtomic } from '../io/fs-atomic.js';

// three and three-mesh-bvh are loaded through require() from resolved paths, here and in the
// workers alike, so both run the very same files whatever loader imported this module (tsx's ESM,
// mocha's CommonJS transform, plain Node); import.meta.resolve is not available under all of them.
const requireHere = createRequire(import.meta.url);
const THREE_PATH = requireHere.resolve('three');
const BVH_PATH = requireHere.resolve('three-mesh-bvh');
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

interface Resolved {
  rays: number;
  seed: number;
  maxDistance: number;
  bias: number;
  threads: number;
}

// ---------------------------------------------------------------------------------------------
// The kernel: plain JS, shared verbatim by this thread (new Function) and the workers (eval).

const KERNEL_SOURCE = String.raw`
function makeVisibilityKernel(THREE, bvh, d) {
  // d: { positions, normals (Float32Array), cp (Float64Array, 2 per vertex), hx, hy (Float64Array,
  //      rays each), rays, bias, maxDistance }
  const P = d.positions, Nrm = d.normals, cp = d.cp, hx = d.hx, hy = d.hy, R = d.rays;
  const TWO_PI = 2 * Math.PI;
  // Cosine-weighted directions of vertex v around its unit normal into out (3 * rays).
  function directions(v, out) {
    let nx = Nrm[v * 3], ny = Nrm[v * 3 + 1], nz = Nrm[v * 3 + 2];
    const len = Math.sqrt(nx * nx + ny * ny + nz * nz);
    nx /= len; ny /= len; nz /= len;
    // Orthonormal basis (Duff et al. 2017, branchless ONB).
    const s = nz >= 0 ? 1 : -1;
    const a = -1 / (s + nz);
    const b = nx * ny * a;
    const tx = 1 + s * nx * nx * a, ty = s * b, tz = -s * nx;
    const bx = b, by = s + ny * ny * a, bz = -ny;
    const ox = cp[v * 2], oy = cp[v * 2 + 1];
    for (let j = 0; j < R; j++) {
      let u1 = hx[j] + ox; if (u1 >= 1) u1 -= 1;
      let u2 = hy[j] + oy; if (u2 >= 1) u2 -= 1;
      const r = Math.sqrt(u1);
      const phi = TWO_PI * u2;
      const lx = r * Math.cos(phi), ly = r * Math.sin(phi), lz = Math.sqrt(Math.max(0, 1 - u1));
      out[j * 3] = tx * lx + bx * ly + nx * lz;
      out[j * 3 + 1] = ty * lx + by * ly + ny * lz;
      out[j * 3 + 2] = tz * lx + bz * ly + nz * lz;
    }
  }
  const ray = new THREE.Ray();
  const dir = new Float64Array(3 * R);
  // hits[(v - base) * rays + j] for ray j of vertex v, v in [v0, v1): 0 = leaves the mesh;
  // k + 1 = hits the front of the surface near vertex k (the hit triangle's nearest corner);
  // -1 = hits a back face (the inside of the surface: no light comes from there).
  function trace(v0, v1, hits, base) {
    for (let v = v0; v < v1; v++) {
      const row = (v - base) * R;
      if (!bvh) { for (let j = 0; j < R; j++) hits[row + j] = 0; continue; }
      directions(v, dir);
      let nx = Nrm[v * 3], ny = Nrm[v * 3 + 1], nz = Nrm[v * 3 + 2];
      const len = Math.sqrt(nx * nx + ny * ny + nz * nz);
      const k = d.bias / len;
      const px = P[v * 3] + nx * k, py = P[v * 3 + 1] + ny * k, pz = P[v * 3 + 2] + nz * k;
      for (let j = 0; j < R; j++) {
        ray.origin.set(px, py, pz);
        ray.direction.set(dir[j * 3], dir[j * 3 + 1], dir[j * 3 + 2]);
        const hit = bvh.raycastFirst(ray, THREE.DoubleSide, 0, d.maxDistance);
        if (!hit) { hits[row + j] = 0; continue; }
        const f = hit.face, q = hit.point;
        let best = f.a, bestD = Infinity;
        for (const c of [f.a, f.b, f.c]) {
          const ex = P[c * 3] - q.x, ey = P[c * 3 + 1] - q.y, ez = P[c * 3 + 2] - q.z;
          const dd = ex * ex + ey * ey + ez * ez;
          if (dd < bestD) { bestD = dd; best = c; }
        }
        // Front or back: the ray against the corner's vertex normal (robust to winding).
        const facing = Nrm[best * 3] * dir[j * 3] + Nrm[best * 3 + 1] * dir[j * 3 + 1] + Nrm[best * 3 + 2] * dir[j * 3 + 2];
        hits[row + j] = facing < 0 ? best + 1 : -1;
      }
    }
  }
  return { directions, trace };
}`;

// The worker: imports three and three-mesh-bvh by URL, rebuilds the geometry around the
// deserialized BVH, then traces vertex ranges on request into a shared hit-flag buffer.
const WORKER_SOURCE = String.raw`
const { parentPort, workerData: w } = require('node:worker_threads');
${KERNEL_SOURCE}
const ready = (async () => {
  const THREE = require(w.threePath);
  const { MeshBVH } = require(w.bvhPath);
  let bvh = null;
  if (w.bvh) {
    const geom = new THREE.BufferGeometry();
    geom.setAttribute('position', new THREE.BufferAttribute(w.kernel.positions, 3));
    bvh = MeshBVH.deserialize(w.bvh, geom, { setIndex: true });
  }
  return makeVisibilityKernel(THREE, bvh, w.kernel);
})();
const hits = new Int32Array(w.hits);
parentPort.on('message', (m) => {
  ready.then((k) => {
    k.trace(m.v0, m.v1, hits, 0);
    parentPort.postMessage({ ok: true, id: m.id });
  }).catch((e) => parentPort.postMessage({ ok: false, id: m.id, error: String(e && e.stack || e) }));
});
`;

type Kernel = {
  directions(v: number, out: Float64Array): void;
  trace(v0: number, v1: number, hits: Int32Array, base: number): void;
};
type KernelData = {
  positions: Float32Array;
  normals: Float32Array;
  cp: Float64Array;
  hx: Float64Array;
  hy: Float64Array;
  rays: number;
  bias: number;
  maxDistance: number;
};

const makeKernel = new Function(`${KERNEL_SOURCE}\nreturn makeVisibilityKernel;`)() as (three: typeof THREE, bvh: MeshBVH | null, d: KernelData) => Kernel;

// ---------------------------------------------------------------------------------------------
// Input and options

function checkInput(input: VisibilityInput): number {
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

function resolveOptions(input: VisibilityInput, opts: VisibilityOptions): Resolved {
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
  // execArgv: [] — the workers run plain JS, no TypeScript loader needed (starts faster under tsx).
  const workers = Array.from({ length: count }, () => new Worker(WORKER_SOURCE, { eval: true, workerData, execArgv: [] }));
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
  const local = makeKernel(THREE, bvh, d);
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
// Disk cache

const MAGIC = Buffer.from('VLSVIS\u0000\u0002', 'latin1'); // 8 bytes
const HEADER_BYTES = 8 + 4 + 4 + 32 + 32; // magic, vertexCount, floats per vertex, key, payload sha256
const FLOATS_PER_VERTEX = 1 + 3 + 9;

let bvhVersion: string | undefined;
function threeMeshBvhVersion(): string {
  if (bvhVersion === undefined) {
    try {
      // build/index.umd.cjs -> package root
      const root = path.resolve(path.dirname(BVH_PATH), '..');
      bvhVersion = String(JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version);
    } catch {
      bvhVersion = 'unknown';
    }
  }
  return bvhVersion;
}

/** sha256 of the version, the resolved options (threads excluded: they never change the result) and the buffers. */
export function visibilityCacheKey(input: VisibilityInput, opts: VisibilityOptions = {}): string {
  checkInput(input);
  const r = resolveOptions(input, opts);
  const h = crypto.createHash('sha256');
  h.update(JSON.stringify({ v: VISIBILITY_VERSION, bvh: threeMeshBvhVersion(), rays: r.rays, seed: r.seed, maxDistance: String(r.maxDistance), bias: r.bias }));
  for (const a of [input.positions, input.normals, input.indices]) {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(a.byteLength));
    h.update(len);
    h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  }
  return h.digest('hex');
}

function encode(res: VisibilityResult, key: string): Buffer {
  const n = res.vertexCount;
  const nnz = res.bounce.index.length;
  const payload = Buffer.alloc(n * FLOATS_PER_VERTEX * 4 + 4 + (n + 1) * 4 + nnz * 8);
  let o = 0;
  for (const arr of [res.ao, res.bent, res.transfer]) {
    for (let i = 0; i < arr.length; i++, o += 4) payload.writeFloatLE(arr[i], o);
  }
  payload.writeUInt32LE(nnz, o);
  o += 4;
  for (let i = 0; i <= n; i++, o += 4) payload.writeUInt32LE(res.bounce.offsets[i], o);
  for (let i = 0; i < nnz; i++, o += 4) payload.writeUInt32LE(res.bounce.index[i], o);
  for (let i = 0; i < nnz; i++, o += 4) payload.writeFloatLE(res.bounce.weight[i], o);
  const head = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(head, 0);
  head.writeUInt32LE(n, 8);
  head.writeUInt32LE(FLOATS_PER_VERTEX, 12);
  Buffer.from(key, 'hex').copy(head, 16);
  crypto.createHash('sha256').update(payload).digest().copy(head, 48);
  return Buffer.concat([head, payload]);
}

/** The decoded result, or a sentence saying why the file is not a valid entry for `key`. */
function decode(buf: Buffer, key: string, n: number): VisibilityResult | string {
  if (buf.length < HEADER_BYTES || !buf.subarray(0, 8).equals(MAGIC)) return 'not a visibility cache file (bad magic)';
  if (buf.readUInt32LE(8) !== n || buf.readUInt32LE(12) !== FLOATS_PER_VERTEX) return `header says ${buf.readUInt32LE(8)} vertices x ${buf.readUInt32LE(12)} floats, expected ${n} x ${FLOATS_PER_VERTEX}`;
  if (!buf.subarray(16, 48).equals(Buffer.from(key, 'hex'))) return 'key mismatch';
  const payload = buf.subarray(HEADER_BYTES);
  const fixed = n * FLOATS_PER_VERTEX * 4;
  if (payload.length < fixed + 4) return `payload is ${payload.length} bytes, expected at least ${fixed + 4}`;
  const nnz = payload.readUInt32LE(fixed);
  const expected = fixed + 4 + (n + 1) * 4 + nnz * 8;
  if (payload.length !== expected) return `payload is ${payload.length} bytes, expected ${expected}`;
  if (!crypto.createHash('sha256').update(payload).digest().equals(buf.subarray(48, 80))) return 'payload checksum mismatch';
  const read = (off: number, len: number): Float32Array => {
    const a = new Float32Array(len);
    for (let i = 0; i < len; i++) a[i] = payload.readFloatLE((off + i) * 4);
    return a;
  };
  const u32 = (off: number, len: number): Uint32Array => {
    const a = new Uint32Array(len);
    for (let i = 0; i < len; i++) a[i] = payload.readUInt32LE(off + i * 4);
    return a;
  };
  const base = fixed + 4;
  const offsets = u32(base, n + 1);
  const index = u32(base + (n + 1) * 4, nnz);
  const weight = new Float32Array(nnz);
  for (let i = 0; i < nnz; i++) weight[i] = payload.readFloatLE(base + (n + 1) * 4 + nnz * 4 + i * 4);
  return { vertexCount: n, ao: read(0, n), bent: read(n, 3 * n), transfer: read(4 * n, 9 * n), bounce: { offsets, index, weight } };
}

const inFlight = new Map<string, Promise<CachedVisibilityResult>>();

/**
 * computeVisibility through a disk cache in `cacheDir` (created if missing): file
 * `visibility-<key>.bin`, key = visibilityCacheKey(input, opts). A missing, truncated, corrupted
 * or mismatched file is recomputed and atomically rewritten. Concurrent calls for the same key in
 * this process share one computation.
 */
export function cachedVisibility(input: VisibilityInput, cacheDir: string, opts: VisibilityOptions = {}): Promise<CachedVisibilityResult> {
  const key = visibilityCacheKey(input, opts);
  const file = path.join(cacheDir, `visibility-${key}.bin`);
  const pending = inFlight.get(file);
  if (pending) return pending;
  const p = (async (): Promise<CachedVisibilityResult> => {
    const n = input.positions.length / 3;
    let buf: Buffer | null = null;
    try {
      buf = await fsp.readFile(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`${file}: cannot read visibility cache: ${(e as Error).message}`, { cause: e });
    }
    if (buf) {
      const got = decode(buf, key, n);
      if (typeof got !== 'string') return { ...got, cacheFile: file, fromCache: true };
    }
    const res = await computeVisibility(input, opts);
    await fsp.mkdir(cacheDir, { recursive: true });
    await writeFileAtomic(file, encode(res, key));
    return { ...res, cacheFile: file, fromCache: false };
  })();
  inFlight.set(file, p);
  const clear = () => {
    if (inFlight.get(file) === p) inFlight.delete(file);
  };
  p.then(clear, clear);
  return p;
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

// Node-only. The disk cache of renderer/assets/visibility.ts: cachedVisibility() keys a file by
// sha256 of a version string, the resolved options and the three buffers, and writes it
// atomically (renderer/io/fs-atomic.ts). The file carries the key and a sha256 of its payload
// (ao, bent normal, transfer, then the bounce matrix); a file that does not match is recomputed
// and rewritten, never trusted.
import crypto from 'node:crypto';
import { promises as fsp } from 'node:fs';
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../io/fs-atomic.js';
import {
  BVH_PATH,
  VISIBILITY_VERSION,
  checkInput,
  computeVisibility,
  resolveOptions,
  type CachedVisibilityResult,
  type VisibilityInput,
  type VisibilityOptions,
  type VisibilityResult,
} from './visibility.js';

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

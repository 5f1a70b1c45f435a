// Node-only. Dataset browsing routes for the dashboard. Every id in a URL is validated (dataset
// names [A-Za-z0-9._-]+, sample ids \d{6,}, lighting keys from the sample's own sample.json, pass
// names from a fixed list) and every file is opened through resolveUnderRoot (server/files.ts), so
// an unknown id or a traversal path is a 404 JSON answer, never a file outside the output root.
//
//   GET /api/datasets                                   datasets under the output root
//   GET /api/datasets/:ds                               counts, facets (heads, env maps, passes), lighting keys, config summary
//   GET /api/datasets/:ds/samples?offset&limit&head&env&pass
//                                                       one page of the (filtered) sample index, sorted by index
//   GET /api/datasets/:ds/samples/:id                   sample.json + per-lighting meta + pass list + provenance; prev/next (same filters)
//   GET /api/datasets/:ds/samples/:id/thumb?key&pass&size
//                                                       WebP thumbnail, cached on disk under <output>/.cache/thumbs/<ds>/<id>/
//   GET /api/datasets/:ds/samples/:id/:key/<pass>.f16   the pass as half floats (interleaved; X-Image-Width/Height/Channels/Kind headers),
//                                                       tonemapped in the browser (the exposure slider needs no request)
//   GET /api/datasets/:ds/samples/:id/:key/<pass>.png?exposure
//                                                       the same tonemapped on the server (links, downloads); preview.png / mask.png as stored
//   GET /api/datasets/:ds/samples/:id/:key/env.f16?width
//                                                       the lighting's environment layers summed into one lat-long map (256x128 default), half floats
//   GET /api/datasets/:ds/samples/:id/:key/env16.f32    the 16x16x3 float32 encoding as stored
//
// The sample index is built from manifest.jsonl when the dataset is finished (one line per sample)
// and from the sample folders otherwise (each sample.json read once: folders are immutable once
// renamed into place), cached in memory and refreshed when the mtime of manifest.jsonl or of the
// samples folder changes. The index of a large finished dataset is also kept in
// <output>/.cache/index/<ds>.json (keyed by the manifest's mtime and size), so a restarted server
// does not parse a 100,000-line manifest again.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import sharp from 'sharp';
import type express from 'express';
import type { Request, Response, NextFunction } from 'express';
import type { AppContext } from './context.js';
import { resolveUnderRoot } from './files.js';
import { readExr } from '../renderer/io/exr.js';
import { readPng } from '../renderer/io/image-io.js';
import { writeFileAtomic } from '../renderer/io/fs-atomic.js';
import { loadEnvMap } from '../renderer/assets/environment.js';
import { PROJECT_ROOT } from '../renderer/io/paths.js';
import { floatsToHalf } from '../renderer/core/half.js';
import { rotateEnv, type EnvImage } from '../renderer/core/latlong.js';
import { fitEnv } from '../renderer/core/lighting.js';
import { PASS_FILES, passNameOfFile, displayRgba, rgbaToRgb, type DisplayKind, type HalfImage } from '../renderer/core/display.js';

export const DATASET_RE = /^[A-Za-z0-9._-]+$/;
export const SAMPLE_RE = /^\d{6,}$/;
const KEY_RE = /^[A-Za-z0-9_-]{1,64}$/;
const THUMB_SIZES = [64, 96, 128, 192, 256];
const MAX_LIMIT = 500;

export function validDatasetName(s: unknown): s is string {
  return typeof s === 'string' && s.length <= 200 && DATASET_RE.test(s) && !s.startsWith('.');
}

function notFound(res: Response, what = 'not found'): void {
  res.status(404).json({ error: what });
}

// ---------------------------------------------------------------------------------------------
// small utilities

/** Inside `root` (lexically), without following links. */
function inside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** At most `n` tasks at once (EXR decodes, sharp encodes: the machine renders too). */
class Limiter {
  private active = 0;
  private waiting: (() => void)[] = [];
  constructor(private readonly n: number) {}
  async run<T>(f: () => Promise<T>): Promise<T> {
    if (this.active >= this.n) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    try {
      return await f();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

/** LRU by total size. */
class Lru<V> {
  private map = new Map<string, { v: V; size: number }>();
  private total = 0;
  constructor(
    private readonly maxSize: number,
    private readonly sizeOf: (v: V) => number,
  ) {}
  get(k: string): V | undefined {
    const e = this.map.get(k);
    if (!e) return undefined;
    this.map.delete(k);
    this.map.set(k, e);
    return e.v;
  }
  set(k: string, v: V): void {
    const old = this.map.get(k);
    if (old) {
      this.total -= old.size;
      this.map.delete(k);
    }
    const size = this.sizeOf(v);
    this.map.set(k, { v, size });
    this.total += size;
    for (const [key, e] of this.map) {
      if (this.total <= this.maxSize || this.map.size <= 1) break;
      this.map.delete(key);
      this.total -= e.size;
    }
  }
}

class Interner {
  readonly list: string[] = [];
  private map = new Map<string, number>();
  id(s: string): number {
    let i = this.map.get(s);
    if (i === undefined) {
      i = this.list.length;
      this.list.push(s);
      this.map.set(s, i);
    }
    return i;
  }
  find(s: string): number | undefined {
    return this.map.get(s);
  }
}

// ---------------------------------------------------------------------------------------------
// the sample index

interface SampleRec {
  id: string;
  index: number;
  head: number;
  envs: number[];
  /** bit set over DatasetIndex.passes */
  passes: number;
  /** index into DatasetIndex.keySets */
  keys: number;
}

interface Stamp {
  samplesMtime: number;
  manifestMtime: number;
  manifestSize: number;
}

interface DatasetIndex {
  name: string;
  dir: string;
  heads: Interner;
  envs: Interner;
  passes: Interner;
  keySets: Interner;
  recs: Map<string, SampleRec>;
  sorted: SampleRec[];
  stamp: Stamp;
  /** bumps on every change (filter caches key on it) */
  version: number;
  source: 'manifest' | 'folders' | 'manifest+folders' | 'empty';
  buildMs: number;
  filterCache: Map<string, SampleRec[]>;
}

/** What a sample.json (or a manifest line) tells the index. */
interface SampleLike {
  id?: unknown;
  index?: unknown;
  head?: { ref?: unknown; id?: unknown };
  lightings?: { key?: unknown; passes?: unknown; lighting?: { environment?: { map?: unknown }[] } }[];
}

interface PersistedIndex {
  version: 1;
  dir: string;
  manifestMtime: number;
  manifestSize: number;
  heads: string[];
  envs: string[];
  passes: string[];
  keySets: string[];
  recs: [string, number, number, number[], number, number][];
}

function recordOf(idx: DatasetIndex, s: SampleLike, folderId?: string): SampleRec | null {
  const id = folderId ?? (typeof s.id === 'string' ? s.id : typeof s.index === 'number' ? String(s.index).padStart(6, '0') : null);
  if (!id || !SAMPLE_RE.test(id)) return null;
  const index = typeof s.index === 'number' ? s.index : Number(id);
  const headName = typeof s.head?.ref === 'string' ? s.head.ref : typeof s.head?.id === 'string' ? s.head.id : '(unknown)';
  const envs = new Set<number>();
  let passes = 0;
  const keys: string[] = [];
  for (const l of Array.isArray(s.lightings) ? s.lightings : []) {
    if (typeof l?.key === 'string') keys.push(l.key);
    for (const e of Array.isArray(l?.lighting?.environment) ? l.lighting.environment : []) if (typeof e?.map === 'string') envs.add(idx.envs.id(e.map));
    for (const p of Array.isArray(l?.passes) ? l.passes : []) if (typeof p === 'string') passes |= 1 << Math.min(30, idx.passes.id(p));
  }
  return { id, index, head: idx.heads.id(headName), envs: [...envs].sort((a, b) => a - b), passes, keys: idx.keySets.id(keys.join(',')) };
}

function emptyIndex(name: string, dir: string): DatasetIndex {
  return {
    name,
    dir,
    heads: new Interner(),
    envs: new Interner(),
    passes: new Interner(),
    keySets: new Interner(),
    recs: new Map(),
    sorted: [],
    stamp: { samplesMtime: -1, manifestMtime: -1, manifestSize: -1 },
    version: 0,
    source: 'empty',
    buildMs: 0,
    filterCache: new Map(),
  };
}

async function statOrNull(p: string): Promise<fs.Stats | null> {
  try {
    return await fsp.stat(p);
  } catch {
    return null;
  }
}

async function readManifest(idx: DatasetIndex, file: string): Promise<void> {
  const rl = readline.createInterface({ input: fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 }), crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line) continue;
    let s: SampleLike;
    try {
      s = JSON.parse(line) as SampleLike;
    } catch {
      continue; // a torn line: the folders pass below picks the sample up
    }
    const r = recordOf(idx, s);
    if (r) idx.recs.set(r.id, r);
  }
}

async function mapLimit<T>(items: T[], n: number, f: (t: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (i < items.length) await f(items[i++]);
    }),
  );
}

export class DatasetIndexes {
  private cache = new Map<string, DatasetIndex>();
  private pending = new Map<string, Promise<DatasetIndex>>();
  constructor(private readonly outputRoot: string) {}

  /** The dataset folder's real path, or null (bad name, not a dataset, outside the root). */
  datasetDir(name: unknown): string | null {
    if (!validDatasetName(name)) return null;
    for (const marker of ['batch.json', 'manifest.jsonl', 'dataset.json']) {
      const f = fs.existsSync(this.outputRoot) ? resolveUnderRoot(this.outputRoot, `${name}/${marker}`) : null;
      if (f) return path.dirname(f);
    }
    return null;
  }

  /** The cached index as it is (no refresh), if any. */
  peek(name: string): DatasetIndex | undefined {
    return this.cache.get(name);
  }

  /** The index, refreshed if manifest.jsonl or the samples folder changed. Null = no such dataset. */
  async get(name: unknown): Promise<DatasetIndex | null> {
    const dir = this.datasetDir(name);
    if (!dir) return null;
    const key = name as string;
    let p = this.pending.get(key);
    if (!p) {
      p = this.refresh(key, dir).finally(() => this.pending.delete(key));
      this.pending.set(key, p);
    }
    return p;
  }

  /** Where the index of a finished dataset is kept between server runs (keyed by the manifest's mtime and size). */
  private persistedFile(name: string): string {
    return path.join(this.outputRoot, '.cache', 'index', `${name}.json`);
  }

  private async loadPersisted(name: string, dir: string, stamp: Stamp): Promise<DatasetIndex | null> {
    try {
      const j = JSON.parse(await fsp.readFile(this.persistedFile(name), 'utf8')) as PersistedIndex;
      if (j.version !== 1 || j.dir !== dir || j.manifestMtime !== stamp.manifestMtime || j.manifestSize !== stamp.manifestSize) return null;
      const idx = emptyIndex(name, dir);
      for (const h of j.heads) idx.heads.id(h);
      for (const e of j.envs) idx.envs.id(e);
      for (const p of j.passes) idx.passes.id(p);
      for (const k of j.keySets) idx.keySets.id(k);
      for (const [id, index, head, envs, passes, keys] of j.recs) idx.recs.set(id, { id, index, head, envs, passes, keys });
      return idx;
    } catch {
      return null;
    }
  }

  private async persist(idx: DatasetIndex, stamp: Stamp): Promise<void> {
    if (idx.recs.size < 1000) return; // small datasets index faster than they load
    const j: PersistedIndex = {
      version: 1,
      dir: idx.dir,
      manifestMtime: stamp.manifestMtime,
      manifestSize: stamp.manifestSize,
      heads: idx.heads.list,
      envs: idx.envs.list,
      passes: idx.passes.list,
      keySets: idx.keySets.list,
      recs: [...idx.recs.values()].map((r) => [r.id, r.index, r.head, r.envs, r.passes, r.keys]),
    };
    try {
      const file = this.persistedFile(idx.name);
      await fsp.mkdir(path.dirname(file), { recursive: true });
      await writeFileAtomic(file, JSON.stringify(j), { fsync: false });
    } catch {
      /* a read-only output root: the index stays in memory only */
    }
  }

  private async refresh(name: string, dir: string): Promise<DatasetIndex> {
    const t0 = performance.now();
    const samplesDir = path.join(dir, 'samples');
    const manifest = path.join(dir, 'manifest.jsonl');
    // Stat before reading: a change after this point leaves a newer mtime for the next refresh.
    const [ss, ms] = await Promise.all([statOrNull(samplesDir), statOrNull(manifest)]);
    const stamp: Stamp = { samplesMtime: ss?.mtimeMs ?? -1, manifestMtime: ms?.mtimeMs ?? -1, manifestSize: ms?.size ?? -1 };
    let idx = this.cache.get(name);
    if (idx && idx.dir === dir && idx.stamp.samplesMtime === stamp.samplesMtime && idx.stamp.manifestMtime === stamp.manifestMtime && idx.stamp.manifestSize === stamp.manifestSize) return idx;

    let changed = false;
    const manifestChanged = !idx || idx.dir !== dir || idx.stamp.manifestMtime !== stamp.manifestMtime || idx.stamp.manifestSize !== stamp.manifestSize;
    if (ms && manifestChanged) {
      const fresh = (await this.loadPersisted(name, dir, stamp)) ?? emptyIndex(name, dir);
      if (fresh.recs.size === 0) {
        await readManifest(fresh, manifest);
        await this.persist(fresh, stamp);
      }
      fresh.source = 'manifest';
      idx = fresh;
      changed = true;
    } else if (!idx || idx.dir !== dir || (!ms && idx.source.startsWith('manifest'))) {
      idx = emptyIndex(name, dir);
      changed = true;
    }
    // The folders are the truth while the dataset is being written (no manifest yet, or samples
    // added after it). A finished dataset's manifest is newer than its samples folder.
    if (ss && (!ms || stamp.samplesMtime > stamp.manifestMtime) && (changed || idx.stamp.samplesMtime !== stamp.samplesMtime || idx.source === 'manifest')) {
      const names = (await fsp.readdir(samplesDir)).filter((n) => SAMPLE_RE.test(n));
      const present = new Set(names);
      for (const id of idx.recs.keys()) {
        if (!present.has(id)) {
          idx.recs.delete(id);
          changed = true;
        }
      }
      const todo = names.filter((n) => !idx!.recs.has(n));
      const target = idx;
      await mapLimit(todo, 16, async (id) => {
        const f = resolveUnderRoot(this.outputRoot, `${name}/samples/${id}/sample.json`);
        if (!f) return;
        try {
          const r = recordOf(target, JSON.parse(await fsp.readFile(f, 'utf8')) as SampleLike, id);
          if (r) target.recs.set(id, r);
        } catch {
          /* unreadable sample.json: not listed */
        }
      });
      if (todo.length) changed = true;
      idx.source = ms ? 'manifest+folders' : 'folders';
    }
    if (changed) {
      idx.sorted = [...idx.recs.values()].sort((a, b) => a.index - b.index || (a.id < b.id ? -1 : 1));
      idx.version++;
      idx.filterCache.clear();
      idx.buildMs = performance.now() - t0;
    }
    idx.stamp = stamp;
    this.cache.set(name, idx);
    return idx;
  }
}

interface Filter {
  head?: string;
  env?: string;
  pass?: string;
}

function filterOf(q: Request['query']): Filter {
  const s = (v: unknown) => (typeof v === 'string' && v !== '' && v.length < 1000 ? v : undefined);
  return { head: s(q.head), env: s(q.env), pass: s(q.pass) };
}

function applyFilter(idx: DatasetIndex, f: Filter): SampleRec[] {
  if (!f.head && !f.env && !f.pass) return idx.sorted;
  const key = JSON.stringify([f.head, f.env, f.pass]);
  const hit = idx.filterCache.get(key);
  if (hit) return hit;
  const head = f.head !== undefined ? idx.heads.find(f.head) : undefined;
  const env = f.env !== undefined ? idx.envs.find(f.env) : undefined;
  const passId = f.pass !== undefined ? idx.passes.find(passNameOfFile(f.pass)) : undefined;
  let out: SampleRec[];
  if ((f.head && head === undefined) || (f.env && env === undefined) || (f.pass && passId === undefined)) out = [];
  else {
    const bit = passId !== undefined ? 1 << Math.min(30, passId) : 0;
    out = idx.sorted.filter((r) => (head === undefined || r.head === head) && (env === undefined || r.envs.includes(env)) && (bit === 0 || (r.passes & bit) !== 0));
  }
  if (idx.filterCache.size > 32) idx.filterCache.clear();
  idx.filterCache.set(key, out);
  return out;
}

function facets(idx: DatasetIndex) {
  const heads = new Array<number>(idx.heads.list.length).fill(0);
  const envs = new Array<number>(idx.envs.list.length).fill(0);
  const passes = new Array<number>(idx.passes.list.length).fill(0);
  const keys = new Set<string>();
  const keySetSeen = new Set<number>();
  for (const r of idx.sorted) {
    heads[r.head]++;
    for (const e of r.envs) envs[e]++;
    for (let p = 0; p < passes.length; p++) if (r.passes & (1 << Math.min(30, p))) passes[p]++;
    if (!keySetSeen.has(r.keys)) {
      keySetSeen.add(r.keys);
      for (const k of idx.keySets.list[r.keys].split(',')) if (k) keys.add(k);
    }
  }
  const list = (names: string[], counts: number[]) => names.map((value, i) => ({ value, count: counts[i] })).filter((x) => x.count > 0).sort((a, b) => (a.value < b.value ? -1 : 1));
  return { heads: list(idx.heads.list, heads), envs: list(idx.envs.list, envs), passes: list(idx.passes.list, passes), lightingKeys: [...keys] };
}

function recJson(idx: DatasetIndex, r: SampleRec) {
  return { id: r.id, index: r.index, head: idx.heads.list[r.head], envs: r.envs.map((e) => idx.envs.list[e]), keys: idx.keySets.list[r.keys].split(',').filter(Boolean) };
}

// ---------------------------------------------------------------------------------------------
// sample files

interface SampleJson {
  id: string;
  index: number;
  seed?: number;
  head?: Record<string, unknown>;
  camera?: Record<string, unknown>;
  augment?: Record<string, unknown>;
  lighting?: Record<string, unknown>;
  lightings?: { key: string; folder?: string; role?: string; lighting?: { environment?: { map: string; rotationDeg: number; intensity: number; weight: number }[]; pointLights?: unknown[] }; passes?: string[]; encodings?: Record<string, unknown> }[];
  files?: string[];
  run?: Record<string, unknown>;
  [k: string]: unknown;
}

/** One pass image decoded to half floats (interleaved), cached by file and mtime. */
const imageCache = new Lru<HalfImage>(256 << 20, (v) => v.data.byteLength + 64);
const work = new Limiter(3);

async function loadPassImage(file: string, pass: string): Promise<HalfImage> {
  const st = await fsp.stat(file);
  const key = `${file}\0${st.mtimeMs}\0${st.size}`;
  const hit = imageCache.get(key);
  if (hit) return hit;
  const img = await work.run(async () => {
    if (pass === 'mask') {
      const png = await readPng(file);
      const ch = png.channels;
      const n = png.width * png.height;
      const f = new Float32Array(n);
      const max = png.bitDepth === 16 ? 65535 : 255;
      for (let i = 0; i < n; i++) f[i] = png.data[i * ch] / max;
      return { width: png.width, height: png.height, channels: 1, data: floatsToHalf(f) };
    }
    const exr = await readExr(file);
    const chans = exr.channels;
    const byName = (n: string) => chans.find((c) => c.name === n);
    const order = ['R', 'G', 'B', 'A'].map(byName).filter((c): c is NonNullable<typeof c> => !!c);
    const planes = order.length ? order : [byName('Z') ?? byName('Y') ?? chans[0]];
    const c = planes.length;
    const n = exr.width * exr.height;
    const f = new Float32Array(n * c);
    for (let k = 0; k < c; k++) {
      const src = planes[k].data;
      for (let i = 0; i < n; i++) f[i * c + k] = src[i];
    }
    return { width: exr.width, height: exr.height, channels: c, data: floatsToHalf(f) };
  });
  imageCache.set(key, img);
  return img;
}

async function encodeDisplayPng(img: HalfImage, kind: DisplayKind, exposure: number): Promise<Buffer> {
  const rgb = rgbaToRgb(displayRgba(img, kind, exposure));
  return sharp(rgb, { raw: { width: img.width, height: img.height, channels: 3 } }).png({ compressionLevel: 3 }).toBuffer();
}

function sendHalf(res: Response, img: HalfImage, kind: DisplayKind): void {
  res.set({
    'Content-Type': 'application/octet-stream',
    'X-Image-Width': String(img.width),
    'X-Image-Height': String(img.height),
    'X-Image-Channels': String(img.channels),
    'X-Image-Kind': kind,
    'Cache-Control': 'no-cache',
    'X-Content-Type-Options': 'nosniff',
  });
  res.send(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength));
}

function parseExposure(v: unknown): number {
  const n = typeof v === 'string' ? Number(v) : 0;
  return Number.isFinite(n) ? Math.max(-20, Math.min(20, n)) : 0;
}

// ---------------------------------------------------------------------------------------------
// environment previews

const envCache = new Lru<HalfImage>(64 << 20, (v) => v.data.byteLength + 64);

/** A map reference of a dataset, if the server may read it: builtin, or a file inside an asset root or the output root. */
function allowedEnvMap(ref: string, ctx: AppContext): string | null {
  if (ref.startsWith('builtin:')) return /^builtin:[A-Za-z0-9_-]+$/.test(ref) ? ref : null;
  if (ref.includes('\0')) return null;
  const roots = [ctx.outputRoot, ...ctx.assetRoots.map((r) => r.dir)].filter((r) => fs.existsSync(r)).map((r) => fs.realpathSync(r));
  const candidates = path.isAbsolute(ref) ? [ref] : [path.resolve(ref), path.resolve(PROJECT_ROOT, ref)];
  for (const c of candidates) {
    let real: string;
    try {
      real = fs.realpathSync(c);
    } catch {
      continue;
    }
    if (fs.statSync(real).isFile() && roots.some((r) => inside(r, real))) return real;
  }
  return null;
}

async function envPreview(layers: { map: string; rotationDeg: number; intensity: number; weight: number }[], width: number, ctx: AppContext): Promise<HalfImage | null> {
  const height = width / 2;
  const key = JSON.stringify([layers, width]);
  const hit = envCache.get(key);
  if (hit) return hit;
  const acc = new Float64Array(width * height * 3);
  let any = false;
  for (const l of layers) {
    const k = (l.weight ?? 1) * (l.intensity ?? 1);
    if (!(k > 0)) continue;
    const ref = allowedEnvMap(l.map, ctx);
    if (!ref) continue;
    const env: EnvImage = await work.run(async () => fitEnv(rotateEnv(await loadEnvMap(ref), l.rotationDeg ?? 0), width, height));
    for (let i = 0; i < acc.length; i++) acc[i] += k * env.data[i];
    any = true;
  }
  if (!any) return null;
  const img = { width, height, channels: 3, data: floatsToHalf(Float32Array.from(acc)) };
  envCache.set(key, img);
  return img;
}

// ---------------------------------------------------------------------------------------------
// thumbnails

const thumbPending = new Map<string, Promise<string>>();

/** The thumbnail file (generated if missing or older than its source), atomically written. */
async function thumbnail(ctx: AppContext, ds: string, id: string, key: string, pass: string, size: number, src: string): Promise<string> {
  const dir = path.join(ctx.outputRoot, '.cache', 'thumbs', ds, id);
  const file = path.join(dir, `${key}.${pass}.${size}.webp`);
  const p0 = thumbPending.get(file);
  if (p0) return p0;
  const p = (async () => {
    const [ts, ss] = await Promise.all([statOrNull(file), fsp.stat(src)]);
    if (ts && ts.mtimeMs >= ss.mtimeMs) return file;
    // (loadPassImage takes its own slot of the limiter: never nest them.)
    const img = pass === 'preview' ? null : await loadPassImage(src, pass);
    const buf = await work.run(async () => {
      if (!img) return sharp(src).resize(size, size, { fit: 'inside', kernel: 'lanczos3' }).webp({ quality: 82 }).toBuffer();
      const rgb = rgbaToRgb(displayRgba(img, PASS_FILES[pass].kind, 0));
      return sharp(rgb, { raw: { width: img.width, height: img.height, channels: 3 } }).resize(size, size, { fit: 'inside', kernel: 'lanczos3' }).webp({ quality: 82 }).toBuffer();
    });
    await fsp.mkdir(dir, { recursive: true });
    await writeFileAtomic(file, buf, { fsync: false });
    return file;
  })().finally(() => thumbPending.delete(file));
  thumbPending.set(file, p);
  return p;
}

// ---------------------------------------------------------------------------------------------
// routes

function readJsonOrNull<T>(file: string | null): T | null {
  if (!file) return null;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

type Handler = (req: Request, res: Response) => Promise<void> | void;
const wrap = (h: Handler) => (req: Request, res: Response, next: NextFunction) => {
  Promise.resolve(h(req, res)).catch(next);
};

export function mountDatasetRoutes(app: express.Express, ctx: AppContext): void {
  const root = ctx.outputRoot;
  const indexes = new DatasetIndexes(root);
  const under = (rel: string) => (fs.existsSync(root) ? resolveUnderRoot(root, rel) : null);

  /** sample.json of a validated (dataset, sample id), or null. */
  const loadSample = (ds: unknown, id: unknown): { file: string; sample: SampleJson } | null => {
    if (!validDatasetName(ds) || typeof id !== 'string' || !SAMPLE_RE.test(id)) return null;
    const file = under(`${ds}/samples/${id}/sample.json`);
    const sample = readJsonOrNull<SampleJson>(file);
    if (!file || !sample || !Array.isArray(sample.lightings)) return null;
    return { file, sample };
  };
  /** A lighting key named by the sample itself. */
  const lightingOf = (s: SampleJson, key: unknown) => (typeof key === 'string' && KEY_RE.test(key) ? s.lightings?.find((l) => l.key === key) : undefined);
  /** The first lighting (it holds the lighting-independent passes), if its key is a valid one. */
  const firstLighting = (s: SampleJson) => {
    const l = s.lightings?.[0];
    return l && typeof l.key === 'string' && KEY_RE.test(l.key) ? l : undefined;
  };
  /** Folder of a lighting whose key was validated (KEY_RE): its own folder name if that is valid too. */
  const folderOf = (l: { key: string; folder?: string }) => (typeof l.folder === 'string' && KEY_RE.test(l.folder) ? l.folder : l.key);

  app.get(
    '/api/datasets',
    wrap(async (_req, res) => {
      const out: { name: string; samples: number; complete: boolean; width: number | null; height: number | null; description: string | null; lightingKeys: string[] }[] = [];
      if (fs.existsSync(root)) {
        for (const e of fs.readdirSync(root, { withFileTypes: true })) {
          if (!e.isDirectory() || !validDatasetName(e.name)) continue;
          const dir = indexes.datasetDir(e.name);
          if (!dir || !fs.existsSync(path.join(dir, 'batch.json'))) continue;
          const batch = readJsonOrNull<{ config?: { samples?: number; width?: number; height?: number; description?: string; lighting?: { mode?: string } } }>(path.join(dir, 'batch.json'));
          // The list stays cheap (no sample.json read): a finished dataset's count from its index or
          // dataset.json, an unfinished one's sample folders counted.
          const complete = fs.existsSync(path.join(dir, 'manifest.jsonl'));
          let samples: number | undefined;
          if (complete) samples = indexes.peek(e.name)?.sorted.length ?? readJsonOrNull<{ samples?: number }>(path.join(dir, 'dataset.json'))?.samples;
          if (samples === undefined) {
            try {
              samples = (await fsp.readdir(path.join(dir, 'samples'))).filter((n) => SAMPLE_RE.test(n)).length;
            } catch {
              samples = 0;
            }
          }
          const cfg = batch?.config;
          out.push({
            name: e.name,
            samples,
            complete,
            width: cfg?.width ?? null,
            height: cfg?.height ?? null,
            description: cfg?.description ?? null,
            lightingKeys: cfg?.lighting?.mode === 'single' ? ['single'] : ['input_i', 'input_j', 'target_k'],
          });
        }
      }
      res.json({ datasets: out.sort((a, b) => a.name.localeCompare(b.name)) });
    }),
  );

  app.get(
    '/api/datasets/:ds',
    wrap(async (req, res) => {
      const idx = await indexes.get(req.params.ds);
      if (!idx) return notFound(res, `no dataset ${String(req.params.ds).slice(0, 100)}`);
      const batch = readJsonOrNull<{ config?: Record<string, unknown>; contentHash?: string }>(under(`${idx.name}/batch.json`));
      const dataset = readJsonOrNull<Record<string, unknown>>(under(`${idx.name}/dataset.json`));
      const cfg = (batch?.config ?? {}) as Record<string, unknown>;
      res.json({
        name: idx.name,
        total: idx.sorted.length,
        planned: typeof cfg.samples === 'number' ? cfg.samples : null,
        complete: !!under(`${idx.name}/manifest.jsonl`),
        index: { source: idx.source, buildMs: Math.round(idx.buildMs * 10) / 10 },
        facets: facets(idx),
        passFiles: Object.keys(PASS_FILES),
        config: { width: cfg.width ?? null, height: cfg.height ?? null, description: cfg.description ?? null, seed: cfg.seed ?? null, heads: cfg.heads ?? [], envMaps: cfg.envMaps ?? [] },
        provenance: {
          configContentHash: batch?.contentHash ?? dataset?.configContentHash ?? null,
          generator: dataset?.generator ?? null,
          manifestSha256: dataset?.manifestSha256 ?? null,
          versions: dataset?.versions ?? null,
        },
      });
    }),
  );

  app.get(
    '/api/datasets/:ds/samples',
    wrap(async (req, res) => {
      const idx = await indexes.get(req.params.ds);
      if (!idx) return notFound(res, 'no such dataset');
      const list = applyFilter(idx, filterOf(req.query));
      const offset = Math.max(0, Math.min(list.length, Math.floor(Number(req.query.offset ?? 0)) || 0));
      const limit = Math.max(1, Math.min(MAX_LIMIT, Math.floor(Number(req.query.limit ?? 100)) || 100));
      res.json({ dataset: idx.name, total: list.length, datasetTotal: idx.sorted.length, offset, limit, items: list.slice(offset, offset + limit).map((r) => recJson(idx, r)) });
    }),
  );

  app.get(
    '/api/datasets/:ds/samples/:id',
    wrap(async (req, res) => {
      const { ds, id } = req.params;
      const s = loadSample(ds, id);
      if (!s) return notFound(res, 'no such sample');
      const { sample } = s;
      const lightings = (sample.lightings ?? []).filter((l) => typeof l.key === 'string' && KEY_RE.test(l.key)).map((l) => {
        const folder = folderOf(l);
        const meta = readJsonOrNull<Record<string, unknown>>(under(`${ds}/samples/${id}/${folder}/meta.json`));
        const spec = (meta?.spec ?? {}) as Record<string, unknown>;
        const passes = Object.entries(PASS_FILES)
          .filter(([, p]) => !!under(`${ds}/samples/${id}/${folder}/${p.file}`))
          .map(([name, p]) => ({ name, label: p.label, kind: p.kind, file: `${folder}/${p.file}` }));
        return {
          key: l.key,
          role: l.role ?? null,
          lighting: l.lighting ?? null,
          passes,
          hasPreview: !!under(`${ds}/samples/${id}/${folder}/preview.png`),
          hasEnv16: !!under(`${ds}/samples/${id}/${folder}/env_latlong16.f32`),
          sh9: (l.encodings as { sh9?: number[] } | undefined)?.sh9 ?? null,
          meta: meta ? { renderer: meta.renderer ?? null, timings: meta.timings ?? null, createdAt: meta.createdAt ?? null, render: spec.render ?? null, output: spec.output ?? null, background: spec.background ?? null } : null,
        };
      });
      const dataset = readJsonOrNull<Record<string, unknown>>(under(`${ds}/dataset.json`));
      const batch = readJsonOrNull<{ contentHash?: string; configFile?: string | null }>(under(`${ds}/batch.json`));
      // prev / next in the (filtered) index order
      let prev: string | null = null;
      let next: string | null = null;
      let position: number | null = null;
      let total: number | null = null;
      const idx = await indexes.get(ds);
      if (idx) {
        const list = applyFilter(idx, filterOf(req.query));
        let lo = 0;
        let hi = list.length;
        const at = sample.index;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (list[mid].index < at) lo = mid + 1;
          else hi = mid;
        }
        if (lo < list.length && list[lo].id === id) {
          position = lo;
          prev = lo > 0 ? list[lo - 1].id : null;
          next = lo + 1 < list.length ? list[lo + 1].id : null;
        } else {
          prev = lo > 0 ? list[lo - 1].id : null;
          next = lo < list.length ? list[lo].id : null;
        }
        total = list.length;
      }
      res.json({
        dataset: ds,
        id,
        index: sample.index,
        seed: sample.seed ?? null,
        head: sample.head ?? null,
        camera: sample.camera ?? null,
        augment: sample.augment ?? null,
        draws: sample.lighting ?? null,
        lightings,
        run: sample.run ?? null,
        files: sample.files ?? [],
        provenance: {
          sampleVersion: sample.sampleVersion ?? null,
          configContentHash: batch?.contentHash ?? dataset?.configContentHash ?? null,
          configFile: batch?.configFile ?? dataset?.configFile ?? null,
          generator: dataset?.generator ?? null,
          datasetSeed: dataset?.seed ?? null,
        },
        nav: { prev, next, position, total },
      });
    }),
  );

  app.get(
    '/api/datasets/:ds/samples/:id/thumb',
    wrap(async (req, res) => {
      const { ds, id } = req.params;
      const s = loadSample(ds, id);
      if (!s) return notFound(res, 'no such sample');
      const l = req.query.key !== undefined ? lightingOf(s.sample, req.query.key) : firstLighting(s.sample);
      if (!l) return notFound(res, 'no such lighting');
      const pass = typeof req.query.pass === 'string' && req.query.pass !== '' ? req.query.pass : 'preview';
      if (pass !== 'preview' && !Object.hasOwn(PASS_FILES, pass)) return notFound(res, 'no such pass');
      const size = Number(req.query.size ?? 128);
      if (!THUMB_SIZES.includes(size)) return notFound(res, `size must be one of ${THUMB_SIZES.join(', ')}`);
      const folder = folderOf(l);
      let src = under(`${ds}/samples/${id}/${folder}/${pass === 'preview' ? 'preview.png' : PASS_FILES[pass].file}`);
      let usedKey = l.key;
      // Lighting-independent passes live in the first lighting folder only.
      if (!src && pass !== 'preview') {
        const first = firstLighting(s.sample);
        if (first && first !== l) {
          src = under(`${ds}/samples/${id}/${folderOf(first)}/${PASS_FILES[pass].file}`);
          usedKey = first.key;
        }
      }
      if (!src) return notFound(res, 'no such pass in this sample');
      const file = await thumbnail(ctx, ds as string, id as string, usedKey, pass, size, src);
      res.set({ 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' });
      res.type('image/webp');
      res.sendFile(file, { dotfiles: 'allow' });
    }),
  );

  app.get(
    '/api/datasets/:ds/samples/:id/:key/:file',
    wrap(async (req, res) => {
      const { ds, id, key, file } = req.params;
      const s = loadSample(ds, id);
      if (!s) return notFound(res, 'no such sample');
      const l = lightingOf(s.sample, key);
      if (!l) return notFound(res, 'no such lighting');
      const base = `${ds}/samples/${id}/${folderOf(l)}`;
      const m = /^([a-z0-9_]+)\.(f16|png|f32)$/.exec(String(file));
      if (!m) return notFound(res);
      const [, name, ext] = m;
      if (name === 'env16' && ext === 'f32') {
        const f = under(`${base}/env_latlong16.f32`);
        if (!f) return notFound(res);
        res.set({ 'Content-Type': 'application/octet-stream', 'Cache-Control': 'no-cache', 'X-Image-Width': '16', 'X-Image-Height': '16', 'X-Image-Channels': '3' });
        return void res.sendFile(f, { dotfiles: 'allow' });
      }
      if (name === 'env' && ext === 'f16') {
        const width = Number(req.query.width ?? 256);
        if (![64, 128, 256, 512].includes(width)) return notFound(res, 'width must be 64, 128, 256 or 512');
        const img = await envPreview(l.lighting?.environment ?? [], width, ctx);
        if (!img) return notFound(res, 'environment map not available on this server');
        return sendHalf(res, img, 'radiance');
      }
      if (name === 'preview' && ext === 'png') {
        const f = under(`${base}/preview.png`);
        if (!f) return notFound(res);
        res.set('Cache-Control', 'no-cache');
        return void res.type('image/png').sendFile(f, { dotfiles: 'allow' });
      }
      if (!Object.hasOwn(PASS_FILES, name) || ext === 'f32') return notFound(res, 'no such pass');
      const meta = PASS_FILES[name];
      const f = under(`${base}/${meta.file}`);
      if (!f) return notFound(res, 'no such pass in this lighting');
      if (ext === 'png' && name === 'mask') {
        res.set('Cache-Control', 'no-cache');
        return void res.type('image/png').sendFile(f, { dotfiles: 'allow' });
      }
      const img = await loadPassImage(f, name);
      if (ext === 'f16') return sendHalf(res, img, meta.kind);
      const png = await encodeDisplayPng(img, meta.kind, parseExposure(req.query.exposure));
      res.set({ 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' });
      res.type('image/png').send(png);
    }),
  );

  // Anything else under a dataset: 404 JSON (the app's fallback would say the same, explicitly here).
  app.all('/api/datasets/*rest', (_req, res) => notFound(res));
}

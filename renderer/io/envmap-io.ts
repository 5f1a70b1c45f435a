/**
 * Equirectangular (lat-long) environment map loading for Node.
 *
 * Output shape is the project's EnvImage: RGB interleaved float32, 3 values per pixel,
 * row 0 = top (zenith), width = 2 * height.
 *
 * Formats: Radiance .hdr (RGBE; decoded with three's HDRLoader after our own structural
 * validation, because HDRLoader silently zero-fills truncated RLE data; values rescaled
 * by 255/256 to match the reference rgbe.c / OpenImageIO decoding) and OpenEXR .exr
 * (via ./exr.ts: three's EXRLoader for RGB/Y files, alpha dropped, Y replicated).
 * Built-in maps: the 18 CC0 Poly Haven maps embedded (base64 EXR) in @pmndrs/assets,
 * addressed as 'builtin:NAME' (e.g. 'builtin:studio').
 *
 * References: the one resolver (envMapPathCandidates / locateEnvMapFile / resolveEnvMap) and the
 * one cache (decoded maps keyed by absolute path + mtime + size, capped at 1 GiB, LRU) serve every
 * caller: the batch, sequence and OLAT pipelines, the page's environments and the server.
 *
 * Every error message starts with the file path (or builtin id) and says what is wrong.
 */
import { createHash } from 'node:crypto';
import fs, { promises as fsp } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import type { EnvImage } from '../core/latlong.js';
import { decodeExr } from './exr-read.js';
import { checkRgbeData, decodeHdr, parseRgbeHeader } from './rgbe.js';
import { parseExrHeader } from './exr-header.js';
import { PROJECT_ROOT } from './paths.js';
import { resolveAssetPath } from './asset-roots.js';

export type { EnvImage };

export const ENVMAP_EXTENSIONS = ['.hdr', '.exr'] as const;

/**
 * Largest map accepted (2:1). Decoding needs several float copies of the image: a 16384x8192
 * HDR peaked at 6.4 GB in Node; at 8192x4096 a quarter of that. Larger maps are refused before
 * decoding, naming the file and this limit (resize them first, e.g. with oiiotool --resize).
 */
export const MAX_ENV_WIDTH = 8192;
export const MAX_ENV_HEIGHT = 4096;
const BUILTIN_PREFIX = 'builtin:';

export interface ReadEnvMapOptions {
  /** Use / fill the in-process cache keyed by absolute path + mtime + size (default true). */
  cache?: boolean;
  /** Skip the 2:1 aspect check (default false). */
  allowAnyAspect?: boolean;
  /**
   * Clamp negative pixel values to 0 instead of rejecting the map. Default false for
   * files, true for the built-in maps: their lossy DWAB compression leaves ringing
   * around bright lights (e.g. builtin:studio has values down to -149, confirmed with
   * OpenImageIO), which is an encoding artefact, not data.
   */
  clampNegative?: boolean;
  /**
   * Return the cached image itself instead of a copy (default false). The caller must not
   * modify it (loadEnvMap's maps are shared this way by every layer and lighting that uses them).
   */
  shared?: boolean;
}

/** sha256 hex digest of a buffer (e.g. to key caches / record provenance of a map). */
export function contentHash(buf: Uint8Array | string): string {
  return createHash('sha256').update(buf).digest('hex');
}

// ------------------------------------------------------------------------------------
// validation

/** Throws (message prefixed with `label`) unless the map is 2:1, finite and non-negative. */
export function validateEnvImage(
  img: EnvImage,
  label: string,
  opts: { allowAnyAspect?: boolean; clampNegative?: boolean } = {},
): void {
  const { width, height, data } = img;
  if (!(width > 0 && height > 0)) throw new Error(`${label}: invalid environment map: empty image (${width}x${height})`);
  if (data.length !== width * height * 3) {
    throw new Error(`${label}: invalid environment map: pixel buffer has ${data.length} values, expected ${width}x${height}x3`);
  }
  if (!opts.allowAnyAspect && width !== 2 * height) {
    throw new Error(`${label}: invalid environment map: wrong aspect ${width}x${height} (${(width / height).toFixed(3)}:1); an equirectangular map must be 2:1`);
  }
  let nonFinite = 0;
  let negative = 0;
  let firstNonFinite = -1;
  let firstNegative = -1;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v >= 0 && v !== Infinity) continue; // fast path: finite, non-negative
    if (v !== v || v === Infinity || v === -Infinity) {
      if (nonFinite++ === 0) firstNonFinite = i;
    } else if (v < 0) {
      if (opts.clampNegative) data[i] = 0;
      else if (negative++ === 0) firstNegative = i;
    }
  }
  const where = (i: number): string => {
    const p = Math.floor(i / 3);
    return `(x=${p % width}, y=${Math.floor(p / width)}, channel ${'RGB'[i % 3]}) = ${data[i]}`;
  };
  const problems: string[] = [];
  if (nonFinite) problems.push(`${nonFinite} non-finite (NaN/Inf) value(s), first at ${where(firstNonFinite)}`);
  if (negative) problems.push(`${negative} negative value(s), first at ${where(firstNegative)} (pass clampNegative to clamp them to 0)`);
  if (problems.length) throw new Error(`${label}: invalid environment map: bad pixels: ${problems.join('; ')}`);
}

// ------------------------------------------------------------------------------------
// OpenEXR

function decodeExrEnv(buf: Buffer, label: string): EnvImage {
  if (buf.length === 0) throw new Error('empty file (0 bytes)');
  if (buf.length < 4 || buf.readUInt32BE(0) !== 0x762f3101) {
    const got = buf.length >= 4 ? `0x${buf.readUInt32BE(0).toString(16).padStart(8, '0')}` : `${buf.length} byte(s)`;
    throw new Error(`not an OpenEXR file: bad header/magic ${got} (expected 0x762f3101)`);
  }
  let img;
  try {
    img = decodeExr(buf, {}, label);
  } catch (err) {
    // decodeExr already prefixed the label; strip it so the caller adds it once.
    const msg = (err as Error).message;
    throw new Error(msg.startsWith(`${label}: `) ? msg.slice(label.length + 2) : msg, { cause: err });
  }
  const byName = new Map(img.channels.map((c) => [c.name, c.data]));
  const r = byName.get('R') ?? byName.get('Y');
  const g = byName.get('G') ?? byName.get('Y');
  const b = byName.get('B') ?? byName.get('Y');
  if (!r || !g || !b) {
    throw new Error(`no colour channels: file has [${img.channels.map((c) => c.name).join(', ')}], need R,G,B or Y`);
  }
  const n = img.width * img.height;
  const out = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    out[i * 3] = r[i];
    out[i * 3 + 1] = g[i];
    out[i * 3 + 2] = b[i];
  }
  return { width: img.width, height: img.height, data: out };
}

// ------------------------------------------------------------------------------------
// public API

function formatOf(buf: Buffer, label: string): 'hdr' | 'exr' {
  const ext = path.extname(label).toLowerCase();
  if (ext === '.hdr' || ext === '.rgbe' || ext === '.pic') return 'hdr';
  if (ext === '.exr') return 'exr';
  if (buf.length >= 4 && buf.readUInt32BE(0) === 0x762f3101) return 'exr';
  if (buf.length >= 2 && buf[0] === 0x23 && buf[1] === 0x3f) return 'hdr';
  throw new Error(`unrecognised format (extension '${ext}'; expected .hdr or .exr)`);
}

/** Width x height from the header alone (no pixel decode); throws on a bad header. */
function headerSize(buf: Buffer, fmt: 'hdr' | 'exr'): { width: number; height: number } {
  if (fmt === 'hdr') return parseRgbeHeader(buf);
  if (buf.length === 0) throw new Error('empty file (0 bytes)');
  const dw = parseExrHeader(buf).dataWindow;
  return { width: dw.xMax - dw.xMin + 1, height: dw.yMax - dw.yMin + 1 };
}

function checkSizeLimit(width: number, height: number): void {
  if (width > MAX_ENV_WIDTH || height > MAX_ENV_HEIGHT) {
    throw new Error(`map is ${width}x${height}, larger than the limit ${MAX_ENV_WIDTH}x${MAX_ENV_HEIGHT} (decoding would need ~${((width * height * 48) / 2 ** 30).toFixed(1)} GiB); resize it first, e.g. oiiotool in.hdr --resize ${MAX_ENV_WIDTH}x${MAX_ENV_HEIGHT} -o out.hdr`);
  }
}

/**
 * Checks a map without decoding its pixels: readable, format header, dimensions within the
 * limit, 2:1 aspect and (Radiance) complete scanline data. Used up front for every map of a
 * batch (checkBatchAssets); full pixel validation happens when a map is loaded.
 */
export async function checkEnvMapFile(file: string, opts: { allowAnyAspect?: boolean } = {}): Promise<{ width: number; height: number }> {
  let buf: Buffer;
  try {
    buf = await fsp.readFile(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new Error(`${file}: cannot load environment map: ${e.code === 'ENOENT' ? 'file not found' : e.code === 'EISDIR' ? 'not a regular file' : e.message}`, { cause: err });
  }
  try {
    const fmt = formatOf(buf, file);
    const size = headerSize(buf, fmt);
    if (!(size.width > 0 && size.height > 0)) throw new Error(`bad resolution ${size.width}x${size.height}`);
    checkSizeLimit(size.width, size.height);
    if (!opts.allowAnyAspect && size.width !== 2 * size.height) {
      throw new Error(`wrong aspect ${size.width}x${size.height} (${(size.width / size.height).toFixed(3)}:1); an equirectangular map must be 2:1`);
    }
    if (fmt === 'hdr') checkRgbeData(buf, parseRgbeHeader(buf));
    return size;
  } catch (err) {
    throw new Error(`${file}: cannot load environment map: ${(err as Error).message}`, { cause: err });
  }
}

/** Decode an env map from bytes; `label` names the source in errors and picks the format by extension. */
export function decodeEnvMap(buf: Buffer, label: string, opts: ReadEnvMapOptions = {}): EnvImage {
  let img: EnvImage;
  try {
    const fmt = formatOf(buf, label);
    // Refuse oversized maps from the header, before the decoder allocates gigabytes.
    // (A bad header is left to the decoder, whose messages say more.)
    let size: { width: number; height: number } | null = null;
    try {
      size = headerSize(buf, fmt);
    } catch {
      /* reported by the decoder below */
    }
    if (size) checkSizeLimit(size.width, size.height);
    img = fmt === 'hdr' ? decodeHdr(buf) : decodeExrEnv(buf, label);
  } catch (err) {
    const msg = (err as Error)?.message ?? String(err);
    throw new Error(`${label}: cannot load environment map: ${msg}`, { cause: err });
  }
  validateEnvImage(img, label, opts);
  return img;
}

interface CacheEntry {
  key: string;
  img: EnvImage;
  bytes: number;
}
const cache = new Map<string, CacheEntry>(); // abs path -> entry (Map keeps LRU order)
const CACHE_MAX_BYTES = 1 << 30;
let cacheBytes = 0;

function cloneImg(img: EnvImage): EnvImage {
  return { width: img.width, height: img.height, data: new Float32Array(img.data) };
}

function cachePut(abs: string, key: string, img: EnvImage): void {
  const old = cache.get(abs);
  if (old) {
    cacheBytes -= old.bytes;
    cache.delete(abs);
  }
  const bytes = img.data.byteLength;
  if (bytes > CACHE_MAX_BYTES) return;
  cache.set(abs, { key, img, bytes });
  cacheBytes += bytes;
  for (const [k, e] of cache) {
    if (cacheBytes <= CACHE_MAX_BYTES) break;
    cache.delete(k);
    cacheBytes -= e.bytes;
  }
}

function cacheGet(abs: string, key: string): EnvImage | undefined {
  const e = cache.get(abs);
  if (!e || e.key !== key) return undefined;
  cache.delete(abs); // refresh LRU position
  cache.set(abs, e);
  return e.img;
}

/**
 * Read a .hdr or .exr equirectangular map from disk. Validates format, completeness,
 * 2:1 aspect and pixel values. Returns a fresh copy (safe to mutate) even on cache hits.
 */
export async function readEnvMap(file: string, opts: ReadEnvMapOptions = {}): Promise<EnvImage> {
  const abs = path.resolve(file);
  let st;
  try {
    st = await fsp.stat(abs);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new Error(`${file}: cannot load environment map: ${e.code === 'ENOENT' ? 'file not found' : e.message}`, { cause: err });
  }
  if (!st.isFile()) throw new Error(`${file}: cannot load environment map: not a regular file`);
  const key = `${st.mtimeMs}:${st.size}:${opts.allowAnyAspect ? 1 : 0}:${opts.clampNegative ? 1 : 0}`;
  const useCache = opts.cache ?? true;
  if (useCache) {
    const hit = cacheGet(abs, key);
    if (hit) return opts.shared ? hit : cloneImg(hit);
  }
  const buf = await fsp.readFile(abs).catch((err: NodeJS.ErrnoException) => {
    throw new Error(`${file}: cannot load environment map: ${err.message}`, { cause: err });
  });
  const img = decodeEnvMap(buf, file, opts);
  if (useCache) {
    cachePut(abs, key, img);
    return opts.shared ? img : cloneImg(img);
  }
  return img;
}

let builtinDirMemo: string | null = null;
function builtinDir(): string {
  if (builtinDirMemo) return builtinDirMemo;
  const req = createRequire(import.meta.url);
  builtinDirMemo = path.dirname(req.resolve('@pmndrs/assets/hdri/studio.exr.js'));
  return builtinDirMemo;
}

let builtinListMemo: string[] | null = null;
/** Ids of the built-in maps, e.g. ['builtin:apartment', ..., 'builtin:workshop'] (sorted). */
export function listBuiltinEnvMapsSync(): string[] {
  builtinListMemo ??= fs
    .readdirSync(builtinDir())
    .filter((f) => f.endsWith('.exr.js'))
    .map((f) => BUILTIN_PREFIX + f.slice(0, -'.exr.js'.length))
    .sort();
  return [...builtinListMemo];
}

/** Ids of the built-in maps, e.g. ['builtin:apartment', ..., 'builtin:workshop'] (sorted). */
export async function listBuiltinEnvMaps(): Promise<string[]> {
  return listBuiltinEnvMapsSync();
}

/** Raw EXR bytes of a built-in map ('builtin:studio' or 'studio'). */
export async function readBuiltinEnvMapBytes(id: string): Promise<Buffer> {
  const name = id.startsWith(BUILTIN_PREFIX) ? id.slice(BUILTIN_PREFIX.length) : id;
  if (!/^[a-z0-9_-]+$/i.test(name)) throw new Error(`${id}: bad builtin environment map name`);
  const file = path.join(builtinDir(), `${name}.exr.js`);
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    const available = (await listBuiltinEnvMaps().catch(() => [] as string[])).join(', ');
    throw new Error(`${id}: unknown builtin environment map (available: ${available})`, { cause: err });
  }
  const m = /data:application\/exr;base64,([A-Za-z0-9+/=]+)/.exec(text);
  if (!m) throw new Error(`${id}: ${file} does not contain a base64 EXR data URL`);
  return Buffer.from(m[1], 'base64');
}

/**
 * Decode a built-in map ('builtin:studio'). Negative values (DWAB ringing) are clamped
 * to 0 unless `clampNegative: false`. Cached; returns a fresh copy.
 */
export async function readBuiltinEnvMap(id: string, opts: ReadEnvMapOptions = {}): Promise<EnvImage> {
  const full = id.startsWith(BUILTIN_PREFIX) ? id : BUILTIN_PREFIX + id;
  const useCache = opts.cache ?? true;
  opts = { ...opts, clampNegative: opts.clampNegative ?? true };
  const key = `builtin:${opts.allowAnyAspect ? 1 : 0}:${opts.clampNegative ? 1 : 0}`;
  if (useCache) {
    const hit = cacheGet(full, key);
    if (hit) return opts.shared ? hit : cloneImg(hit);
  }
  const buf = await readBuiltinEnvMapBytes(full);
  const img = decodeEnvMap(buf, `${full}.exr`, opts);
  if (useCache) {
    cachePut(full, key, img);
    return opts.shared ? img : cloneImg(img);
  }
  return img;
}

export interface ResolveEnvMapOptions {
  /** Directories searched (in order, after the working directory) for a relative path / bare name that does not exist as given. */
  searchDirs?: string[];
  /** The working directory relative references start from (default process.cwd()). */
  cwd?: string;
}

export interface ResolvedEnvMap {
  kind: 'builtin' | 'file';
  /** 'builtin:NAME' or an absolute file path. */
  ref: string;
  /** Short id: NAME for builtins, file name without extension otherwise. */
  name: string;
}

function isEnvFile(f: string): boolean {
  return (ENVMAP_EXTENSIONS as readonly string[]).includes(path.extname(f).toLowerCase());
}

function statOrNull(p: string): fs.Stats | null {
  try {
    return fs.statSync(p);
  } catch {
    return null;
  }
}

/**
 * Where a map path is looked for, in order: an absolute path as given; a relative one under the
 * working directory, then each of `searchDirs`, then the project root. A path under one asset
 * root (../shared/assets, the fetch-assets cache) is also looked for under the other
 * (asset-roots.ts resolveAssetPath). The one rule every loader, expander and server route uses.
 */
export function envMapPathCandidates(ref: string, opts: ResolveEnvMapOptions = {}): string[] {
  const cwd = opts.cwd ?? process.cwd();
  const base = path.isAbsolute(ref) ? [path.resolve(ref)] : [path.resolve(cwd, ref), ...(opts.searchDirs ?? []).map((d) => path.resolve(d, ref)), path.resolve(PROJECT_ROOT, ref)];
  const out: string[] = [];
  for (const c of base) {
    out.push(c);
    const alt = resolveAssetPath(c);
    if (alt !== c) out.push(alt);
  }
  return [...new Set(out)];
}

/** The first existing candidate (envMapPathCandidates) of a map path, file or folder; null if none exists. */
export function locateEnvMapPath(ref: string, opts: ResolveEnvMapOptions = {}): string | null {
  return envMapPathCandidates(ref, opts).find((c) => statOrNull(c) !== null) ?? null;
}

/**
 * Resolve an env-map reference to a list of concrete maps (synchronous; see resolveEnvMap):
 *  - 'builtin:NAME' -> that builtin ('builtin:*' -> all builtins);
 *  - a .hdr/.exr file path (envMapPathCandidates; a bare name without extension also tries
 *    NAME.hdr / NAME.exr at each candidate);
 *  - a folder -> every .hdr/.exr file in it (sorted, non-recursive).
 * Throws (naming the reference and the places looked at) when nothing matches.
 */
export function resolveEnvMapSync(ref: string, opts: ResolveEnvMapOptions = {}): ResolvedEnvMap[] {
  if (ref.startsWith(BUILTIN_PREFIX)) {
    const all = listBuiltinEnvMapsSync();
    if (ref === 'builtin:*') return all.map((r) => ({ kind: 'builtin' as const, ref: r, name: r.slice(BUILTIN_PREFIX.length) }));
    if (!all.includes(ref)) throw new Error(`${ref}: unknown builtin environment map (available: ${all.join(', ')})`);
    return [{ kind: 'builtin', ref, name: ref.slice(BUILTIN_PREFIX.length) }];
  }
  const candidates = envMapPathCandidates(ref, opts);
  const withExt = candidates.flatMap((c) => (isEnvFile(c) ? [c] : [c, ...ENVMAP_EXTENSIONS.map((e) => c + e)]));
  for (const c of withExt) {
    const st = statOrNull(c);
    if (!st) continue;
    if (st.isDirectory()) {
      const files = fs.readdirSync(c).filter(isEnvFile).sort();
      if (files.length === 0) throw new Error(`${c}: folder contains no .hdr/.exr environment maps`);
      return files.map((f) => {
        const abs = path.join(c, f);
        return { kind: 'file' as const, ref: abs, name: path.basename(f, path.extname(f)) };
      });
    }
    if (st.isFile()) {
      if (!isEnvFile(c)) throw new Error(`${c}: not an environment map (expected .hdr or .exr)`);
      return [{ kind: 'file', ref: c, name: path.basename(c, path.extname(c)) }];
    }
  }
  throw new Error(`${ref}: environment map not found (looked at: ${[...new Set(withExt)].join(', ')})`);
}

/** resolveEnvMapSync, as a promise. */
export async function resolveEnvMap(ref: string, opts: ResolveEnvMapOptions = {}): Promise<ResolvedEnvMap[]> {
  return resolveEnvMapSync(ref, opts);
}

const fileHashes = new Map<string, { key: string; sha256: string }>();

/** sha256 of a map file's bytes, remembered per absolute path + mtime + size. */
export function envMapFileHash(file: string): string {
  const abs = path.resolve(file);
  const st = fs.statSync(abs);
  const key = `${st.mtimeMs}:${st.size}`;
  const hit = fileHashes.get(abs);
  if (hit?.key === key) return hit.sha256;
  const sha256 = contentHash(fs.readFileSync(abs));
  fileHashes.set(abs, { key, sha256 });
  return sha256;
}

const loading = new Map<string, Promise<EnvImage>>();

/**
 * Loads a map reference, 'builtin:NAME' or a .hdr/.exr path (located by envMapPathCandidates),
 * through the one cache (readEnvMap / readBuiltinEnvMap: keyed by path + mtime + size, capped).
 * The image is SHARED: every caller gets the cached instance, which must not be modified
 * (rotateEnv, fitEnv, scaleEnv ... return new maps). Concurrent loads of one map decode it once.
 */
export function loadEnvMap(ref: string, opts: { cwd?: string } = {}): Promise<EnvImage> {
  let key: string;
  let load: () => Promise<EnvImage>;
  if (ref.startsWith(BUILTIN_PREFIX)) {
    key = ref;
    load = () => readBuiltinEnvMap(ref, { shared: true });
  } else {
    const file = locateEnvMapPath(ref, opts);
    if (!file) return Promise.reject(new Error(`${ref}: cannot load environment map: file not found (looked at: ${envMapPathCandidates(ref, opts).join(', ')})`));
    key = file;
    load = () => readEnvMap(file, { shared: true });
  }
  let p = loading.get(key);
  if (!p) {
    p = load().finally(() => loading.delete(key));
    loading.set(key, p);
  }
  return p;
}

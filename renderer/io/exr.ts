/**
 * Minimal OpenEXR support for the renderer's outputs.
 *
 * WRITER (our own): single-part scanline files, HALF or FLOAT channels (per file, or
 * overridden per channel), compression NONE (1 scanline per chunk) or ZIP (16 scanlines
 * per chunk: bytes split into even/odd halves, delta predictor, zlib deflate; a chunk is
 * stored uncompressed when deflate does not make it smaller, as the spec allows).
 * Channels are written sorted by name (byte-wise, as OpenEXR requires), dataWindow =
 * displayWindow = (0,0)-(w-1,h-1), lineOrder INCREASING_Y, row 0 = top of the image.
 *
 * READER: `readExr` decodes with three.js' EXRLoader (all common compressions, incl. the
 * DWAB maps shipped by @pmndrs/assets) when the channel set is one it understands
 * (R,G,B[,A] or a lone Y, one pixel type); otherwise (e.g. a lone 'Z' depth channel,
 * custom channel names, mixed pixel types) it uses a small built-in decoder that handles
 * scanline NONE / ZIPS / ZIP files. Rows are returned top-first in both cases.
 */
import { promises as fsp } from 'node:fs';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import * as THREE from 'three';
import { EXRLoader } from 'three/examples/jsm/loaders/EXRLoader.js';
import { floatsToHalf, halfsToFloat } from '../core/half.js';
import { writeFileAtomic } from './fs-atomic.js';

export type ExrPixelType = 'half' | 'float';
export type ExrCompression = 'none' | 'zip';

export interface ExrChannelInput {
  /** Channel name, e.g. 'R', 'G', 'B', 'A', 'Y', 'Z', 'N.X'. */
  name: string;
  /** Planar data, one value per pixel, row 0 = top. Uint16Array = already half bits. */
  data: Float32Array | Uint16Array;
  /** Per-channel override of {@link ExrWriteOptions.pixelType}. */
  pixelType?: ExrPixelType;
}

export interface ExrImageInput {
  width: number;
  height: number;
  channels: ExrChannelInput[];
}

export interface ExrWriteOptions {
  /** Default 'half'. Float32 input is rounded to nearest-even half. */
  pixelType?: ExrPixelType;
  /** Default 'zip'. */
  compression?: ExrCompression;
  /** zlib level 1..9 for 'zip' (default 4: nearly level-6 size, noticeably faster). */
  zipLevel?: number;
  /** Extra header attributes written with type 'string' (e.g. { 'vls:pass': 'albedo' }). */
  attributes?: Record<string, string>;
}

export interface ExrChannelInfo {
  name: string;
  pixelType: 'uint' | 'half' | 'float';
  pLinear: number;
  xSampling: number;
  ySampling: number;
}

export interface ExrBox2i {
  xMin: number;
  yMin: number;
  xMax: number;
  yMax: number;
}

export interface ExrHeader {
  version: number;
  flags: { tiled: boolean; longNames: boolean; deep: boolean; multiPart: boolean };
  channels: ExrChannelInfo[];
  compression: string;
  dataWindow: ExrBox2i;
  displayWindow: ExrBox2i;
  lineOrder: 'INCREASING_Y' | 'DECREASING_Y' | 'RANDOM_Y';
  /** Every attribute, decoded where the type is known (string, int, float, double, v2f, box2i, ...). */
  attributes: Record<string, { type: string; value: unknown }>;
  /** Byte offset of the first byte after the header (start of the offset table). */
  headerSize: number;
}

export interface ExrReadResult {
  width: number;
  height: number;
  /** In the file's (sorted) channel order; Float32 data, planar, row 0 = top. */
  channels: { name: string; pixelType: 'uint' | 'half' | 'float'; data: Float32Array }[];
  header: ExrHeader;
  decoder: 'three' | 'builtin';
}

export interface ExrReadOptions {
  /** 'auto' (default): three.js when it can, else built-in. */
  decoder?: 'auto' | 'three' | 'builtin';
}

// ------------------------------------------------------------------------------------
// constants

const MAGIC = 20000630; // 0x01312f76 little-endian: bytes 76 2f 31 01
const COMPRESSION_NAMES = ['none', 'rle', 'zips', 'zip', 'piz', 'pxr24', 'b44', 'b44a', 'dwaa', 'dwab', 'htj2k256', 'htj2k32'];
const COMPRESSION_CODE: Record<ExrCompression, number> = { none: 0, zip: 3 };
const LINES_PER_BLOCK: Record<ExrCompression, number> = { none: 1, zip: 16 };
const PIXEL_TYPE_CODE = { uint: 0, half: 1, float: 2 } as const;
const PIXEL_TYPE_NAME = ['uint', 'half', 'float'] as const;
const RESERVED_ATTRS = new Set([
  'channels', 'compression', 'dataWindow', 'displayWindow', 'lineOrder', 'pixelAspectRatio',
  'screenWindowCenter', 'screenWindowWidth', 'tiles', 'type', 'name', 'version', 'chunkCount',
]);

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const deflateAsync = promisify(zlib.deflate);

// ------------------------------------------------------------------------------------
// writer

/** Header bytes builder (little-endian). */
class ByteWriter {
  private buf: Buffer = Buffer.alloc(1024);
  length = 0;
  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const nb = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(nb, 0, 0, this.length);
    this.buf = nb;
  }
  u8(v: number): void { this.ensure(1); this.buf.writeUInt8(v, this.length); this.length += 1; }
  i32(v: number): void { this.ensure(4); this.buf.writeInt32LE(v, this.length); this.length += 4; }
  f32(v: number): void { this.ensure(4); this.buf.writeFloatLE(v, this.length); this.length += 4; }
  bytes(b: Uint8Array): void { this.ensure(b.length); this.buf.set(b, this.length); this.length += b.length; }
  cstr(s: string): void { this.bytes(Buffer.from(s, 'utf8')); this.u8(0); }
  result(): Buffer { return this.buf.subarray(0, this.length); }
}

interface PreparedChannel {
  name: string;
  nameBytes: Buffer;
  pixelType: ExrPixelType;
  bytesPerSample: number;
  /** Whole channel as little-endian bytes, row-major, row 0 = top. */
  bytes: Uint8Array;
}

interface PreparedImage {
  width: number;
  height: number;
  channels: PreparedChannel[];
  compression: ExrCompression;
  level: number;
  header: Buffer;
  blockCount: number;
  linesPerBlock: number;
  bytesPerLine: number;
}

function prepare(image: ExrImageInput, opts: ExrWriteOptions): PreparedImage {
  if (!LITTLE_ENDIAN) throw new Error('writeExr: big-endian hosts are not supported');
  const { width, height } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`writeExr: bad size ${width}x${height}`);
  }
  if (!Array.isArray(image.channels) || image.channels.length === 0) {
    throw new RangeError('writeExr: image has no channels');
  }
  const compression = opts.compression ?? 'zip';
  if (!(compression in COMPRESSION_CODE)) throw new RangeError(`writeExr: unsupported compression '${String(compression)}'`);
  const defaultType = opts.pixelType ?? 'half';
  const level = opts.zipLevel ?? 4;
  if (!Number.isInteger(level) || level < 1 || level > 9) throw new RangeError(`writeExr: zipLevel must be 1..9, got ${level}`);
  const npix = width * height;
  const seen = new Set<string>();
  const chans: PreparedChannel[] = image.channels.map((c) => {
    if (typeof c.name !== 'string' || c.name.length === 0) throw new RangeError('writeExr: channel with empty name');
    if (seen.has(c.name)) throw new RangeError(`writeExr: duplicate channel '${c.name}'`);
    seen.add(c.name);
    const nameBytes = Buffer.from(c.name, 'utf8');
    if (nameBytes.length > 255 || nameBytes.includes(0)) throw new RangeError(`writeExr: bad channel name '${c.name}'`);
    const pixelType = c.pixelType ?? defaultType;
    if (pixelType !== 'half' && pixelType !== 'float') throw new RangeError(`writeExr: bad pixelType '${String(pixelType)}'`);
    if (!(c.data instanceof Float32Array) && !(c.data instanceof Uint16Array)) {
      throw new TypeError(`writeExr: channel '${c.name}' data must be Float32Array or Uint16Array`);
    }
    if (c.data.length !== npix) {
      throw new RangeError(`writeExr: channel '${c.name}' has ${c.data.length} values, expected ${width}*${height}=${npix}`);
    }
    let typed: Uint16Array | Float32Array;
    if (pixelType === 'half') typed = c.data instanceof Uint16Array ? c.data : floatsToHalf(c.data);
    else typed = c.data instanceof Float32Array ? c.data : halfsToFloat(c.data);
    return {
      name: c.name,
      nameBytes,
      pixelType,
      bytesPerSample: pixelType === 'half' ? 2 : 4,
      bytes: new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength),
    };
  });
  chans.sort((a, b) => Buffer.compare(a.nameBytes, b.nameBytes));

  const attrs = opts.attributes ?? {};
  for (const [k, v] of Object.entries(attrs)) {
    if (RESERVED_ATTRS.has(k)) throw new RangeError(`writeExr: attribute '${k}' is reserved`);
    if (k.length === 0 || Buffer.byteLength(k) > 255 || k.includes('\0')) throw new RangeError(`writeExr: bad attribute name '${k}'`);
    if (typeof v !== 'string') throw new TypeError(`writeExr: attribute '${k}' must be a string`);
  }
  const longNames =
    chans.some((c) => c.nameBytes.length > 31) || Object.keys(attrs).some((k) => Buffer.byteLength(k) > 31);

  const linesPerBlock = LINES_PER_BLOCK[compression];
  const blockCount = Math.ceil(height / linesPerBlock);
  const bytesPerLine = chans.reduce((s, c) => s + c.bytesPerSample * width, 0);

  // Header: attributes sorted by name (OpenEXR writes them in std::map order).
  type Attr = { name: string; type: string; body: (w: ByteWriter) => void };
  const box = (w: ByteWriter): void => { w.i32(0); w.i32(0); w.i32(width - 1); w.i32(height - 1); };
  const list: Attr[] = [
    {
      name: 'channels',
      type: 'chlist',
      body: (w) => {
        for (const c of chans) {
          w.bytes(c.nameBytes); w.u8(0);
          w.i32(PIXEL_TYPE_CODE[c.pixelType]);
          w.u8(0); w.u8(0); w.u8(0); w.u8(0); // pLinear + 3 reserved
          w.i32(1); w.i32(1); // x/y sampling
        }
        w.u8(0);
      },
    },
    { name: 'compression', type: 'compression', body: (w) => w.u8(COMPRESSION_CODE[compression]) },
    { name: 'dataWindow', type: 'box2i', body: box },
    { name: 'displayWindow', type: 'box2i', body: box },
    { name: 'lineOrder', type: 'lineOrder', body: (w) => w.u8(0) },
    { name: 'pixelAspectRatio', type: 'float', body: (w) => w.f32(1) },
    { name: 'screenWindowCenter', type: 'v2f', body: (w) => { w.f32(0); w.f32(0); } },
    { name: 'screenWindowWidth', type: 'float', body: (w) => w.f32(1) },
  ];
  for (const [k, v] of Object.entries(attrs)) {
    list.push({ name: k, type: 'string', body: (w) => w.bytes(Buffer.from(v, 'utf8')) });
  }
  list.sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));

  const hw = new ByteWriter();
  hw.i32(MAGIC);
  hw.i32(2 | (longNames ? 0x400 : 0)); // version 2, single-part scanline
  for (const a of list) {
    hw.cstr(a.name);
    hw.cstr(a.type);
    const bw = new ByteWriter();
    a.body(bw);
    const body = bw.result();
    hw.i32(body.length);
    hw.bytes(body);
  }
  hw.u8(0); // end of header

  return {
    width, height, channels: chans, compression, level,
    header: Buffer.from(hw.result()), blockCount, linesPerBlock, bytesPerLine,
  };
}

/** Gather the uncompressed bytes of block `b` (scanline-interleaved channel rows). */
function gatherBlock(p: PreparedImage, b: number): Uint8Array {
  const y0 = b * p.linesPerBlock;
  const lines = Math.min(p.linesPerBlock, p.height - y0);
  const out = new Uint8Array(lines * p.bytesPerLine);
  let off = 0;
  for (let y = y0; y < y0 + lines; y++) {
    for (const c of p.channels) {
      const rowBytes = c.bytesPerSample * p.width;
      const start = y * rowBytes;
      out.set(c.bytes.subarray(start, start + rowBytes), off);
      off += rowBytes;
    }
  }
  return out;
}

/** OpenEXR ZIP pre-pass: split even/odd bytes into two halves, then delta-encode. */
function zipPrepass(raw: Uint8Array): Uint8Array {
  const n = raw.length;
  const out = new Uint8Array(n);
  const half = (n + 1) >> 1;
  let t1 = 0;
  let t2 = half;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    out[t1++] = raw[i];
    out[t2++] = raw[i + 1];
  }
  if (i < n) out[t1] = raw[i];
  let prev = out[0];
  for (let t = 1; t < n; t++) {
    const cur = out[t];
    out[t] = (cur - prev + 384) & 0xff;
    prev = cur;
  }
  return out;
}

/** Inverse of {@link zipPrepass}. */
function zipPostpass(pre: Uint8Array): Uint8Array {
  const n = pre.length;
  for (let t = 1; t < n; t++) pre[t] = (pre[t - 1] + pre[t] - 128) & 0xff;
  const out = new Uint8Array(n);
  const half = (n + 1) >> 1;
  let t1 = 0;
  let t2 = half;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    out[i] = pre[t1++];
    out[i + 1] = pre[t2++];
  }
  if (i < n) out[i] = pre[t1];
  return out;
}

function assemble(p: PreparedImage, chunks: Uint8Array[]): Buffer {
  const tableSize = 8 * p.blockCount;
  let total = p.header.length + tableSize;
  for (const c of chunks) total += 8 + c.length;
  const out = Buffer.allocUnsafe(total);
  p.header.copy(out, 0);
  let pos = p.header.length + tableSize;
  for (let b = 0; b < p.blockCount; b++) {
    out.writeBigUInt64LE(BigInt(pos), p.header.length + 8 * b);
    out.writeInt32LE(b * p.linesPerBlock, pos);
    out.writeInt32LE(chunks[b].length, pos + 4);
    out.set(chunks[b], pos + 8);
    pos += 8 + chunks[b].length;
  }
  return out;
}

/** Encode an image as an OpenEXR file in memory (synchronous zlib). */
export function encodeExr(image: ExrImageInput, opts: ExrWriteOptions = {}): Buffer {
  const p = prepare(image, opts);
  const chunks: Uint8Array[] = [];
  for (let b = 0; b < p.blockCount; b++) {
    const raw = gatherBlock(p, b);
    if (p.compression === 'none') {
      chunks.push(raw);
    } else {
      const z = zlib.deflateSync(zipPrepass(raw), { level: p.level });
      chunks.push(z.length < raw.length ? z : raw);
    }
  }
  return assemble(p, chunks);
}

/**
 * Same output as {@link encodeExr}, but deflates the blocks concurrently on libuv's
 * thread pool (faster for large images, does not block the event loop during zlib).
 */
export async function encodeExrAsync(image: ExrImageInput, opts: ExrWriteOptions = {}): Promise<Buffer> {
  const p = prepare(image, opts);
  const jobs: Promise<Uint8Array>[] = [];
  for (let b = 0; b < p.blockCount; b++) {
    const raw = gatherBlock(p, b);
    if (p.compression === 'none') jobs.push(Promise.resolve(raw));
    else {
      jobs.push(deflateAsync(zipPrepass(raw), { level: p.level }).then((z) => (z.length < raw.length ? z : raw)));
    }
  }
  return assemble(p, await Promise.all(jobs));
}

/**
 * Write an OpenEXR file atomically (temp file in the same directory + rename).
 * Rejects with an error naming `path` on failure; no partial or temp file is left.
 */
export async function writeExr(path: string, image: ExrImageInput, opts: ExrWriteOptions = {}): Promise<void> {
  let buf: Buffer;
  try {
    buf = await encodeExrAsync(image, opts);
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`, { cause: err });
  }
  await writeFileAtomic(path, buf);
}

// ------------------------------------------------------------------------------------
// header parsing

class ByteReader {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  need(n: number, what: string): void {
    if (this.pos + n > this.buf.length) {
      throw new Error(`truncated file: need ${n} byte(s) for ${what} at offset ${this.pos}, file has ${this.buf.length}`);
    }
  }
  u8(): number { this.need(1, 'uint8'); return this.buf.readUInt8(this.pos++); }
  i32(): number { this.need(4, 'int32'); const v = this.buf.readInt32LE(this.pos); this.pos += 4; return v; }
  u32(): number { this.need(4, 'uint32'); const v = this.buf.readUInt32LE(this.pos); this.pos += 4; return v; }
  f32(): number { this.need(4, 'float'); const v = this.buf.readFloatLE(this.pos); this.pos += 4; return v; }
  f64(): number { this.need(8, 'double'); const v = this.buf.readDoubleLE(this.pos); this.pos += 8; return v; }
  u64(): number {
    this.need(8, 'uint64');
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
  }
  cstr(max: number, what: string): string {
    const end = this.buf.indexOf(0, this.pos);
    if (end < 0) throw new Error(`truncated file: unterminated ${what} at offset ${this.pos}`);
    if (end - this.pos > max) throw new Error(`corrupt header: ${what} longer than ${max} bytes at offset ${this.pos}`);
    const s = this.buf.toString('utf8', this.pos, end);
    this.pos = end + 1;
    return s;
  }
}

function readBox(r: ByteReader): ExrBox2i {
  return { xMin: r.i32(), yMin: r.i32(), xMax: r.i32(), yMax: r.i32() };
}

/** Parse an OpenEXR header (single-part). Throws on bad magic / truncation. */
export function parseExrHeader(buf: Buffer): ExrHeader {
  if (buf.length < 8) throw new Error(`not an OpenEXR file: only ${buf.length} byte(s)`);
  if (buf.readUInt32LE(0) !== MAGIC) {
    throw new Error(`not an OpenEXR file: bad magic number 0x${buf.readUInt32BE(0).toString(16).padStart(8, '0')} (expected 0x762f3101)`);
  }
  const vf = buf.readUInt32LE(4);
  const version = vf & 0xff;
  const flags = { tiled: !!(vf & 0x200), longNames: !!(vf & 0x400), deep: !!(vf & 0x800), multiPart: !!(vf & 0x1000) };
  const r = new ByteReader(buf);
  r.pos = 8;
  const maxName = flags.longNames ? 255 : 31;
  const attributes: ExrHeader['attributes'] = {};
  for (;;) {
    const name = r.cstr(255, 'attribute name');
    if (name === '') break;
    if (Buffer.byteLength(name) > maxName) throw new Error(`corrupt header: attribute name '${name}' too long without the long-names flag`);
    const type = r.cstr(255, `type of attribute '${name}'`);
    const size = r.i32();
    if (size < 0) throw new Error(`corrupt header: attribute '${name}' has negative size`);
    r.need(size, `attribute '${name}'`);
    const end = r.pos + size;
    let value: unknown;
    const sub = new ByteReader(buf.subarray(0, end));
    sub.pos = r.pos;
    switch (type) {
      case 'string': value = buf.toString('utf8', r.pos, end); break;
      case 'int': value = sub.i32(); break;
      case 'float': value = sub.f32(); break;
      case 'double': value = sub.f64(); break;
      case 'v2f': value = [sub.f32(), sub.f32()]; break;
      case 'v2i': value = [sub.i32(), sub.i32()]; break;
      case 'v3f': value = [sub.f32(), sub.f32(), sub.f32()]; break;
      case 'box2i': value = readBox(sub); break;
      case 'compression': value = COMPRESSION_NAMES[sub.u8()] ?? 'unknown'; break;
      case 'lineOrder': value = (['INCREASING_Y', 'DECREASING_Y', 'RANDOM_Y'] as const)[sub.u8()] ?? 'INCREASING_Y'; break;
      case 'chlist': {
        const list: ExrChannelInfo[] = [];
        for (;;) {
          const cname = sub.cstr(255, 'channel name');
          if (cname === '') break;
          const pt = sub.i32();
          const pLinear = sub.u8();
          sub.pos += 3;
          const xSampling = sub.i32();
          const ySampling = sub.i32();
          const pixelType = PIXEL_TYPE_NAME[pt];
          if (!pixelType) throw new Error(`corrupt header: channel '${cname}' has unknown pixel type ${pt}`);
          list.push({ name: cname, pixelType, pLinear, xSampling, ySampling });
        }
        value = list;
        break;
      }
      default: value = buf.subarray(r.pos, end);
    }
    attributes[name] = { type, value };
    r.pos = end;
  }
  const get = <T>(n: string): T => {
    const a = attributes[n];
    if (!a) throw new Error(`corrupt header: required attribute '${n}' missing`);
    return a.value as T;
  };
  return {
    version,
    flags,
    channels: get<ExrChannelInfo[]>('channels'),
    compression: get<string>('compression'),
    dataWindow: get<ExrBox2i>('dataWindow'),
    displayWindow: attributes.displayWindow ? get<ExrBox2i>('displayWindow') : get<ExrBox2i>('dataWindow'),
    lineOrder: attributes.lineOrder ? get<ExrHeader['lineOrder']>('lineOrder') : 'INCREASING_Y',
    attributes,
    headerSize: r.pos,
  };
}

// ------------------------------------------------------------------------------------
// readers

function threeSupports(h: ExrHeader): boolean {
  if (h.flags.deep || h.flags.multiPart) return false;
  const names = new Set(h.channels.map((c) => c.name));
  const types = new Set(h.channels.map((c) => c.pixelType));
  if (types.size !== 1 || types.has('uint')) return false;
  if (h.channels.some((c) => c.xSampling !== 1 || c.ySampling !== 1)) return false;
  const rgb = names.has('R') && names.has('G') && names.has('B') && [...names].every((n) => 'RGBA'.includes(n) && n.length === 1);
  const y = names.size === 1 && names.has('Y');
  return rgb || y;
}

function builtinSupports(h: ExrHeader): boolean {
  return (
    !h.flags.tiled && !h.flags.deep && !h.flags.multiPart &&
    (h.compression === 'none' || h.compression === 'zips' || h.compression === 'zip') &&
    h.channels.every((c) => c.xSampling === 1 && c.ySampling === 1)
  );
}

function decodeWithThree(buf: Buffer, h: ExrHeader): ExrReadResult {
  const loader = new EXRLoader();
  loader.setDataType(THREE.FloatType);
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
  const tex = loader.parse(ab) as unknown as { width: number; height: number; data: Float32Array };
  const { width, height, data } = tex;
  const npix = width * height;
  if (data.length !== npix * 4 || !(data instanceof Float32Array)) {
    throw new Error(`three.js EXRLoader returned ${data.length} values for ${width}x${height}`);
  }
  const names = h.channels.map((c) => c.name);
  const isY = names.length === 1 && names[0] === 'Y';
  const channels: ExrReadResult['channels'] = [];
  for (const c of h.channels) {
    const comp = isY ? 0 : 'RGBA'.indexOf(c.name);
    const out = new Float32Array(npix);
    // three returns bottom row first; flip to top-first.
    for (let y = 0; y < height; y++) {
      const srcRow = (height - 1 - y) * width * 4 + comp;
      const dstRow = y * width;
      for (let x = 0; x < width; x++) out[dstRow + x] = data[srcRow + x * 4];
    }
    channels.push({ name: c.name, pixelType: c.pixelType, data: out });
  }
  return { width, height, channels, header: h, decoder: 'three' };
}

function decodeBuiltin(buf: Buffer, h: ExrHeader): ExrReadResult {
  if (!builtinSupports(h)) {
    throw new Error(`built-in decoder supports only scanline none/zips/zip files (this one: compression '${h.compression}'${h.flags.tiled ? ', tiled' : ''})`);
  }
  const dw = h.dataWindow;
  const width = dw.xMax - dw.xMin + 1;
  const height = dw.yMax - dw.yMin + 1;
  if (width < 1 || height < 1) throw new Error(`corrupt header: empty dataWindow`);
  const npix = width * height;
  const lpb = h.compression === 'zip' ? 16 : 1;
  const blockCount = Math.ceil(height / lpb);
  const bps = h.channels.map((c) => (c.pixelType === 'half' ? 2 : 4));
  const bytesPerLine = bps.reduce((s, b) => s + b * width, 0);
  const outs = h.channels.map(() => new Float32Array(npix));
  const r = new ByteReader(buf);
  r.pos = h.headerSize;
  const offsets: number[] = [];
  for (let b = 0; b < blockCount; b++) offsets.push(r.u64());
  const done = new Uint8Array(blockCount);
  for (let b = 0; b < blockCount; b++) {
    const off = offsets[b];
    if (off < r.pos || off + 8 > buf.length) throw new Error(`truncated file: chunk ${b} offset ${off} outside file of ${buf.length} bytes`);
    const y = buf.readInt32LE(off) - dw.yMin;
    const size = buf.readInt32LE(off + 4);
    if (y < 0 || y >= height || y % lpb !== 0) throw new Error(`corrupt chunk ${b}: scanline ${y + dw.yMin} out of range`);
    const lines = Math.min(lpb, height - y);
    const expected = lines * bytesPerLine;
    if (size < 0 || off + 8 + size > buf.length) throw new Error(`truncated file: chunk at scanline ${y + dw.yMin} needs ${size} bytes at offset ${off + 8}, file has ${buf.length}`);
    let raw: Uint8Array = buf.subarray(off + 8, off + 8 + size);
    if (size < expected) {
      if (h.compression === 'none') throw new Error(`corrupt chunk at scanline ${y + dw.yMin}: ${size} bytes, expected ${expected}`);
      raw = zipPostpass(new Uint8Array(zlib.inflateSync(raw)));
      if (raw.length !== expected) throw new Error(`corrupt chunk at scanline ${y + dw.yMin}: inflated to ${raw.length} bytes, expected ${expected}`);
    } else if (size > expected) {
      throw new Error(`corrupt chunk at scanline ${y + dw.yMin}: ${size} bytes, expected at most ${expected}`);
    }
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    let p = 0;
    for (let l = 0; l < lines; l++) {
      const row = (y + l) * width;
      for (let c = 0; c < h.channels.length; c++) {
        const out = outs[c];
        const pt = h.channels[c].pixelType;
        if (pt === 'half') {
          const u16 = new Uint16Array(width);
          for (let x = 0; x < width; x++, p += 2) u16[x] = dv.getUint16(p, true);
          halfsToFloat(u16, out.subarray(row, row + width));
        } else if (pt === 'float') {
          for (let x = 0; x < width; x++, p += 4) out[row + x] = dv.getFloat32(p, true);
        } else {
          for (let x = 0; x < width; x++, p += 4) out[row + x] = dv.getUint32(p, true);
        }
      }
    }
    done[y / lpb] = 1;
  }
  const missing = done.indexOf(0);
  if (missing >= 0) throw new Error(`corrupt file: no chunk for scanline ${missing * lpb + dw.yMin}`);
  return {
    width,
    height,
    channels: h.channels.map((c, i) => ({ name: c.name, pixelType: c.pixelType, data: outs[i] })),
    header: h,
    decoder: 'builtin',
  };
}

/** Decode an in-memory EXR. `label` (file name) prefixes error messages. */
export function decodeExr(buf: Buffer, opts: ExrReadOptions = {}, label = '<buffer>'): ExrReadResult {
  try {
    const h = parseExrHeader(buf);
    if (h.flags.multiPart || h.flags.deep) throw new Error('multi-part / deep OpenEXR files are not supported');
    const mode = opts.decoder ?? 'auto';
    if (mode === 'three' || (mode === 'auto' && threeSupports(h))) {
      if (!threeSupports(h)) {
        throw new Error(`three.js EXRLoader cannot decode channels [${h.channels.map((c) => `${c.name}:${c.pixelType}`).join(', ')}]`);
      }
      return decodeWithThree(buf, h);
    }
    return decodeBuiltin(buf, h);
  } catch (err) {
    const msg = (err as Error)?.message ?? String(err);
    const reason = err instanceof RangeError && /bounds|offset/i.test(msg) ? `truncated or corrupt file (${msg})` : msg;
    throw new Error(`${label}: cannot read OpenEXR: ${reason}`, { cause: err });
  }
}

/** Read an OpenEXR file (or buffer). Errors name the file. */
export async function readExr(src: string | Uint8Array, opts: ExrReadOptions = {}): Promise<ExrReadResult> {
  if (typeof src === 'string') {
    let buf: Buffer;
    try {
      buf = await fsp.readFile(src);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new Error(`${src}: cannot read OpenEXR: ${e.code === 'ENOENT' ? 'file not found' : e.message}`, { cause: err });
    }
    return decodeExr(buf, opts, src);
  }
  const buf = Buffer.isBuffer(src) ? src : Buffer.from(src.buffer, src.byteOffset, src.byteLength);
  return decodeExr(buf, opts);
}

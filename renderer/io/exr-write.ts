/** OpenEXR writer (see exr-format.ts for what it writes). */
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { floatsToHalf, halfsToFloat } from '../core/half.js';
import { writeFileAtomic } from './fs-atomic.js';
import {
  COMPRESSION_CODE, LINES_PER_BLOCK, LITTLE_ENDIAN, MAGIC, PIXEL_TYPE_CODE, RESERVED_ATTRS, zipPrepass,
  type ExrCompression, type ExrImageInput, type ExrPixelType, type ExrWriteOptions,
} from './exr-format.js';

const deflateAsync = promisify(zlib.deflate);

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

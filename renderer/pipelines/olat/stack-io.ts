// Node-only. The OLAT stack file: one head, one camera pose, every light of a rig.
//
// Layout (little-endian):
//   bytes 0-7    magic "VLSOLAT1"
//   bytes 8-11   uint32 length of the JSON header in bytes
//   bytes 12-15  uint32 0 (reserved)
//   JSON header (UTF-8), then zero padding to a multiple of 64
//   data sections, each starting at a multiple of 64, at header.sections[k].offset (from the
//   start of the file), in the order listed:
//     indices  uint32  [P]          covered pixels (pixel centre on the head), y*width + x, row 0 = top
//     olat     float16 [N, P, 3]    linear RGB radiance of light (shot) i at covered pixel k
//     albedo   float16 [H, W, 3]    linear base colour (0 off the head)
//     normal   float16 [H, W, 3]    world-space unit normal (0 off the head)
//     depth    float32 [H, W]       distance from the camera centre, metres (0 off the head)
//     mask     float16 [H, W]       anti-aliased coverage (4x MSAA)
// Every pixel outside `indices` is exactly 0 in every OLAT image (the capture checks it), so
// storing covered pixels only loses nothing. numpy:
//   hdr = json.loads(f[16:16+n]); s = hdr['sections']; o = s['olat']
//   olat = np.frombuffer(f, '<f2', count=prod(o['shape']), offset=o['offset']).reshape(o['shape'])
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { floatsToHalf, halfsToFloat } from '../../core/half.js';
import { validateRig, type Rig } from '../../core/rig.js';

export const STACK_MAGIC = 'VLSOLAT1';
export const STACK_VERSION = 1;
const ALIGN = 64;

export type SectionName = 'indices' | 'olat' | 'albedo' | 'normal' | 'depth' | 'mask';
type Dtype = 'uint32' | 'float16' | 'float32';

export interface StackSection {
  dtype: Dtype;
  shape: number[];
  offset: number;
  bytes: number;
}

export interface StackHeader {
  format: 'vls-olat-stack';
  version: number;
  width: number;
  height: number;
  /** Number of covered pixels P. */
  pixelCount: number;
  /** Number of OLAT images N (= rig lights, or shots when several lights were on together). */
  imageCount: number;
  /** Light indices on in each image (one per image for an OLAT stack). */
  shots: number[][];
  rig: Rig;
  head: { ref: string; id: string; name: string; contentHash: string; license: string | null; attribution: string | null; canonicalBounds: { min: number[]; max: number[] } };
  /** The pose: orbit parameters as given, and the resolved camera (same fields as meta.json). */
  camera: Record<string, unknown>;
  render: { shadowMapSize: number; maskMsaa: number; olatMsaa: 1; subsurface: boolean; lightModel: string };
  renderer: Record<string, unknown>;
  units: string;
  sections: Record<SectionName, StackSection>;
  /** Bytes of the file, of the OLAT images, per image, and of the intrinsics. */
  bytes: { file: number; olat: number; perImage: number; intrinsics: number; header: number };
  /** sha256 of the data sections (everything after the header padding). */
  dataSha256: string;
  capture: Record<string, unknown>;
  createdAt: string;
}

/** A stack in memory. `images` keeps the file's half-float bits (light-major). */
export interface OlatStack {
  header: StackHeader;
  indices: Uint32Array;
  images: Uint16Array;
  albedo: Float32Array;
  normal: Float32Array;
  depth: Float32Array;
  mask: Float32Array;
}

function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function alignUp(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}

/** Builds the data sections and the header fields that describe them (offsets relative to the data start). */
function dataParts(s: Omit<OlatStack, 'header'>, width: number, height: number, imageCount: number) {
  const P = s.indices.length;
  const parts: [SectionName, Dtype, number[], Uint8Array][] = [
    ['indices', 'uint32', [P], bytesOf(s.indices)],
    ['olat', 'float16', [imageCount, P, 3], bytesOf(s.images)],
    ['albedo', 'float16', [height, width, 3], bytesOf(floatsToHalf(s.albedo))],
    ['normal', 'float16', [height, width, 3], bytesOf(floatsToHalf(s.normal))],
    ['depth', 'float32', [height, width], bytesOf(s.depth)],
    ['mask', 'float16', [height, width], bytesOf(floatsToHalf(s.mask))],
  ];
  for (const [name, dtype, shape, b] of parts) {
    const size = { uint32: 4, float16: 2, float32: 4 }[dtype];
    if (b.byteLength !== shape.reduce((a, x) => a * x, size)) throw new Error(`stack section ${name}: ${b.byteLength} bytes, shape ${shape.join('x')} ${dtype}`);
  }
  return parts;
}

/** Writes the stack atomically (temp file + rename). Fills header.sections/bytes/dataSha256 and returns the header. */
export function writeStack(file: string, stack: OlatStack): StackHeader {
  const h = stack.header;
  const parts = dataParts(stack, h.width, h.height, h.imageCount);
  const hash = crypto.createHash('sha256');
  const sections = {} as Record<SectionName, StackSection>;
  let rel = 0;
  for (const [name, dtype, shape, b] of parts) {
    sections[name] = { dtype, shape, offset: rel, bytes: b.byteLength };
    rel = alignUp(rel + b.byteLength);
  }
  const dataBytes = rel;
  // Two passes: the header's size depends on the offsets, which depend on the header's size.
  let header: StackHeader = { ...h };
  let headerBytes = 0;
  let converged = false;
  for (let pass = 0; pass < 10 && !converged; pass++) {
    const start = alignUp(16 + headerBytes);
    const abs = Object.fromEntries(Object.entries(sections).map(([k, v]) => [k, { ...v, offset: v.offset + start }])) as Record<SectionName, StackSection>;
    const olatBytes = sections.olat.bytes;
    header = {
      ...h,
      sections: abs,
      bytes: {
        file: start + dataBytes,
        olat: olatBytes,
        perImage: h.imageCount ? olatBytes / h.imageCount : 0,
        intrinsics: sections.albedo.bytes + sections.normal.bytes + sections.depth.bytes + sections.mask.bytes + sections.indices.bytes,
        header: start,
      },
      dataSha256: '0'.repeat(64),
    };
    const len = Buffer.byteLength(JSON.stringify(header));
    converged = len === headerBytes;
    headerBytes = len;
  }
  if (!converged) throw new Error('stack header size did not converge (bug)');
  // Hash of the data as laid out (padding included).
  const pad = new Uint8Array(ALIGN);
  for (const [name, , , b] of parts) {
    hash.update(b);
    const end = sections[name].offset + b.byteLength;
    const fill = alignUp(end) - end;
    if (fill) hash.update(pad.subarray(0, fill));
  }
  header.dataSha256 = hash.digest('hex');
  const json = Buffer.from(JSON.stringify(header));
  if (json.byteLength !== headerBytes) throw new Error('stack header size changed while writing (bug)');
  const start = alignUp(16 + json.byteLength);
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${Date.now().toString(36)}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    const head = Buffer.alloc(start);
    head.write(STACK_MAGIC, 0, 'latin1');
    head.writeUInt32LE(json.byteLength, 8);
    head.writeUInt32LE(0, 12);
    json.copy(head, 16);
    fs.writeSync(fd, head);
    let pos = start;
    for (const [name, , , b] of parts) {
      const at = header.sections[name].offset;
      if (at > pos) fs.writeSync(fd, new Uint8Array(at - pos));
      fs.writeSync(fd, b);
      pos = at + b.byteLength;
    }
    const end = header.bytes.file;
    if (end > pos) fs.writeSync(fd, new Uint8Array(end - pos));
    fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
  stack.header = header;
  return header;
}

/** Reads only the header (cheap: the first bytes of the file). */
export function readStackHeader(file: string): StackHeader {
  const fd = fs.openSync(file, 'r');
  try {
    const pre = Buffer.alloc(16);
    if (fs.readSync(fd, pre, 0, 16, 0) !== 16 || pre.toString('latin1', 0, 8) !== STACK_MAGIC) {
      throw new Error(`${file}: not an OLAT stack (magic ${JSON.stringify(pre.toString('latin1', 0, 8))}, expected "${STACK_MAGIC}")`);
    }
    const len = pre.readUInt32LE(8);
    const size = fs.fstatSync(fd).size;
    if (16 + len > size) throw new Error(`${file}: truncated header (${len} bytes announced, file has ${size})`);
    const json = Buffer.alloc(len);
    fs.readSync(fd, json, 0, len, 16);
    let header: StackHeader;
    try {
      header = JSON.parse(json.toString('utf8')) as StackHeader;
    } catch (err) {
      throw new Error(`${file}: corrupt header JSON: ${(err as Error).message}`);
    }
    if (header.format !== 'vls-olat-stack' || header.version !== STACK_VERSION) throw new Error(`${file}: unsupported stack format ${header.format} v${header.version}`);
    if (header.bytes.file !== size) throw new Error(`${file}: file has ${size} bytes, header says ${header.bytes.file} (truncated?)`);
    validateRig(header.rig, `${file}: rig`);
    return header;
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads a whole stack. `verify` re-hashes the data against header.dataSha256. */
export function readStack(file: string, opts: { verify?: boolean } = {}): OlatStack {
  const header = readStackHeader(file);
  const buf = fs.readFileSync(file);
  if (opts.verify) {
    const got = crypto.createHash('sha256').update(buf.subarray(header.bytes.header)).digest('hex');
    if (got !== header.dataSha256) throw new Error(`${file}: data hash mismatch (corrupt file)`);
  }
  const sec = (name: SectionName, dtype: Dtype) => {
    const s = header.sections[name];
    if (!s || s.dtype !== dtype) throw new Error(`${file}: missing or mistyped section ${name}`);
    if (s.offset % 4 || s.offset + s.bytes > buf.byteLength) throw new Error(`${file}: section ${name} out of bounds`);
    // Copy into its own aligned buffer (readFileSync's buffer may be pooled/offset).
    const out = new Uint8Array(s.bytes);
    out.set(buf.subarray(s.offset, s.offset + s.bytes));
    return out.buffer;
  };
  const half = (name: SectionName) => halfsToFloat(new Uint16Array(sec(name, 'float16')));
  const stack: OlatStack = {
    header,
    indices: new Uint32Array(sec('indices', 'uint32')),
    images: new Uint16Array(sec('olat', 'float16')),
    albedo: half('albedo'),
    normal: half('normal'),
    depth: new Float32Array(sec('depth', 'float32')),
    mask: half('mask'),
  };
  const P = header.pixelCount;
  if (stack.indices.length !== P || stack.images.length !== header.imageCount * P * 3) throw new Error(`${file}: section sizes disagree with the header`);
  return stack;
}

/** One OLAT image (image i) as float32 RGB of the covered pixels. */
export function stackImage(stack: OlatStack, i: number): Float32Array {
  const P = stack.header.pixelCount;
  if (!(i >= 0 && i < stack.header.imageCount)) throw new RangeError(`image ${i} out of range 0..${stack.header.imageCount - 1}`);
  return halfsToFloat(stack.images.subarray(i * P * 3, (i + 1) * P * 3));
}

/** Covered-pixel RGB (P x 3) -> full frame RGB (H x W x 3), 0 elsewhere. */
export function expandCovered(stack: Pick<OlatStack, 'indices' | 'header'>, covered: Float32Array): Float32Array {
  const { width, height } = stack.header;
  const out = new Float32Array(width * height * 3);
  const idx = stack.indices;
  for (let k = 0; k < idx.length; k++) {
    const o = idx[k] * 3;
    out[o] = covered[k * 3];
    out[o + 1] = covered[k * 3 + 1];
    out[o + 2] = covered[k * 3 + 2];
  }
  return out;
}

/** OpenEXR reader: three.js' EXRLoader where it can, else the built-in decoder (see exr-format.ts). */
import { promises as fsp } from 'node:fs';
import * as zlib from 'node:zlib';
import * as THREE from 'three';
import { EXRLoader } from 'three/examples/jsm/loaders/EXRLoader.js';
import { halfsToFloat } from '../core/half.js';
import { zipPostpass, type ExrHeader, type ExrReadOptions, type ExrReadResult } from './exr-format.js';
import { ByteReader, parseExrHeader } from './exr-header.js';

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

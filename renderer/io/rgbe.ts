// Node-only. Radiance .hdr (RGBE) decoding for envmap-io.ts: our own structural check of the
// header and the RLE scanlines first (three's HDRLoader silently zero-fills truncated data), then
// HDRLoader, rescaled by 255/256 to match the reference rgbe.c / OpenImageIO decoding.
import * as THREE from 'three';
import { HDRLoader } from 'three/examples/jsm/loaders/HDRLoader.js';
import type { EnvImage } from '../core/latlong.js';

export interface RgbeHeader {
  width: number;
  height: number;
  dataStart: number;
}

/** Parse and check the Radiance header; returns the resolution and where pixel data starts. */
export function parseRgbeHeader(buf: Buffer): RgbeHeader {
  if (buf.length === 0) throw new Error('empty file (0 bytes)');
  const head = buf.toString('latin1', 0, Math.min(buf.length, 16));
  if (!head.startsWith('#?RADIANCE') && !head.startsWith('#?RGBE')) {
    throw new Error(`not a Radiance HDR file: bad header/magic ${JSON.stringify(head.slice(0, 10))} (expected "#?RADIANCE" or "#?RGBE")`);
  }
  let pos = 0;
  let format = '';
  const readLine = (): string | null => {
    const nl = buf.indexOf(0x0a, pos);
    if (nl < 0 || nl - pos > 4096) return null;
    const line = buf.toString('latin1', pos, nl);
    pos = nl + 1;
    return line;
  };
  readLine(); // magic
  for (;;) {
    const line = readLine();
    if (line === null) throw new Error('truncated header (no blank line before the resolution line)');
    if (line.trim() === '') break;
    const m = /^FORMAT=(\S+)/.exec(line);
    if (m) format = m[1];
  }
  if (format && format !== '32-bit_rle_rgbe') {
    throw new Error(`unsupported pixel format '${format}' (only 32-bit_rle_rgbe)`);
  }
  const res = readLine();
  if (res === null) throw new Error('truncated header (missing resolution line)');
  const m = /^\s*-Y\s+(\d+)\s+\+X\s+(\d+)\s*$/.exec(res);
  if (!m) throw new Error(`unsupported resolution line ${JSON.stringify(res.slice(0, 40))} (only "-Y H +X W" orientation)`);
  const height = parseInt(m[1], 10);
  const width = parseInt(m[2], 10);
  if (!(width > 0 && height > 0)) throw new Error(`bad resolution ${width}x${height}`);
  return { width, height, dataStart: pos };
}

/**
 * Walk the scanline data without decoding it, to detect truncation / corruption that
 * HDRLoader would silently turn into black rows. Mirrors HDRLoader's decision between
 * flat and new-style RLE data.
 */
export function checkRgbeData(buf: Buffer, h: RgbeHeader): void {
  const { width, height } = h;
  let pos = h.dataStart;
  const rle =
    width >= 8 && width <= 0x7fff &&
    buf[pos] === 2 && buf[pos + 1] === 2 && (buf[pos + 2] & 0x80) === 0;
  if (!rle) {
    const need = width * height * 4;
    const have = buf.length - pos;
    if (have < need) throw new Error(`truncated pixel data: ${have} of ${need} bytes present (flat RGBE, ${width}x${height})`);
    return;
  }
  for (let y = 0; y < height; y++) {
    if (pos + 4 > buf.length) {
      throw new Error(`truncated pixel data: only ${y} of ${height} scanlines present (file has ${buf.length} bytes)`);
    }
    if (buf[pos] !== 2 || buf[pos + 1] !== 2 || ((buf[pos + 2] << 8) | buf[pos + 3]) !== width) {
      throw new Error(`corrupt pixel data: bad RLE scanline header at scanline ${y} (byte offset ${pos})`);
    }
    pos += 4;
    // Like HDRLoader, treat the four component planes as one run of 4*width bytes.
    const end = 4 * width;
    let x = 0;
    while (x < end) {
      if (pos >= buf.length) {
        throw new Error(`truncated pixel data: file ends inside scanline ${y} of ${height} (file has ${buf.length} bytes)`);
      }
      let count = buf[pos++];
      if (count > 128) {
        count -= 128;
        pos += 1;
      } else {
        pos += count;
      }
      if (count === 0 || x + count > end) {
        throw new Error(`corrupt pixel data: bad run length in scanline ${y} (byte offset ${pos})`);
      }
      x += count;
    }
    if (pos > buf.length) {
      throw new Error(`truncated pixel data: file ends inside scanline ${y} of ${height} (file has ${buf.length} bytes)`);
    }
  }
}

/** Decodes a Radiance .hdr file (checked first), top row first, RGB float32. */
export function decodeHdr(buf: Buffer): EnvImage {
  const h = parseRgbeHeader(buf);
  checkRgbeData(buf, h);
  const loader = new HDRLoader();
  loader.setDataType(THREE.FloatType);
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
  const tex = loader.parse(ab) as unknown as { width: number; height: number; data: Float32Array };
  if (tex.width !== h.width || tex.height !== h.height) {
    throw new Error(`decoder disagreement: header says ${h.width}x${h.height}, HDRLoader returned ${tex.width}x${tex.height}`);
  }
  const n = h.width * h.height;
  if (!(tex.data instanceof Float32Array) || tex.data.length < n * 4) {
    throw new Error(`truncated pixel data: decoded ${Math.floor((tex.data?.length ?? 0) / 4)} of ${n} pixels`);
  }
  // HDRLoader keeps file order: for "-Y H +X W" that is top row first. Drop alpha.
  // HDRLoader decodes mantissa m as m/255 * 2^(e-128); the reference rgbe.c (and
  // OpenImageIO, Radiance up to its +0.5 offset) use m/256 * 2^(e-128), so HDRLoader
  // reads 0.39% too bright. Rescale by 255/256 to match the reference decoders.
  const k = 255 / 256;
  const out = new Float32Array(n * 3);
  const src = tex.data;
  for (let i = 0, j = 0; i < n; i++, j += 4) {
    out[i * 3] = src[j] * k;
    out[i * 3 + 1] = src[j + 1] * k;
    out[i * 3 + 2] = src[j + 2] * k;
  }
  return { width: h.width, height: h.height, data: out };
}

/**
 * PNG IO via sharp (libvips/libpng). 8- and 16-bit, 1 (grey), 3 (RGB) or 4 (RGBA)
 * channels, interleaved, row 0 = top. Writes are atomic (temp file + rename).
 *
 * 16-bit: raw input is passed as a Uint16Array (sharp then treats it as 'ushort') and
 * the pipeline is forced to 'rgb16' / 'grey16', so libpng writes bit depth 16 (checked
 * in the IHDR chunk after encoding). 8-bit grey is forced to 'b-w' so it is written as
 * a 1-channel PNG rather than expanded to RGB.
 */
import { promises as fsp } from 'node:fs';
import sharp from 'sharp';
import { writeFileAtomic } from './fs-atomic.js';

export { linearToSrgb8, linearToSrgb8Array, tonemapToSrgb8, srgbEncode, srgbDecode, acesFilmic } from '../core/color.js';

export type PngChannels = 1 | 3 | 4;
export type PngBitDepth = 8 | 16;

export interface PngWriteOptions {
  width: number;
  height: number;
  channels: PngChannels;
  bitDepth: PngBitDepth;
  /** zlib level 0..9 (default 6). */
  compressionLevel?: number;
}

export interface PngImage {
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
  bitDepth: PngBitDepth;
  /** Interleaved; Uint8Array for 8-bit, Uint16Array for 16-bit. */
  data: Uint8Array | Uint16Array;
}

/** Encode interleaved pixels as PNG bytes. */
export async function encodePng(data: Uint8Array | Uint8ClampedArray | Uint16Array, opts: PngWriteOptions): Promise<Buffer> {
  const { width, height, channels, bitDepth } = opts;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`bad size ${width}x${height}`);
  }
  if (channels !== 1 && channels !== 3 && channels !== 4) throw new RangeError(`channels must be 1, 3 or 4, got ${channels}`);
  if (bitDepth !== 8 && bitDepth !== 16) throw new RangeError(`bitDepth must be 8 or 16, got ${bitDepth}`);
  const expected = width * height * channels;
  if (bitDepth === 16 && !(data instanceof Uint16Array)) throw new TypeError('16-bit PNG data must be a Uint16Array');
  if (bitDepth === 8 && !(data instanceof Uint8Array || data instanceof Uint8ClampedArray)) {
    throw new TypeError('8-bit PNG data must be a Uint8Array');
  }
  if (data.length !== expected) {
    throw new RangeError(`data has ${data.length} values, expected ${width}*${height}*${channels}=${expected}`);
  }
  const space = bitDepth === 16 ? (channels === 1 ? 'grey16' : 'rgb16') : channels === 1 ? 'b-w' : 'srgb';
  const buf = await sharp(data, { raw: { width, height, channels } })
    .toColourspace(space)
    .png({ compressionLevel: opts.compressionLevel ?? 6, adaptiveFiltering: false })
    .toBuffer();
  // IHDR: bytes 24 = bit depth, 25 = colour type (0 grey, 2 RGB, 4 grey+alpha, 6 RGBA).
  const wantType = channels === 1 ? 0 : channels === 3 ? 2 : 6;
  if (buf[24] !== bitDepth || buf[25] !== wantType) {
    throw new Error(`sharp produced PNG with bit depth ${buf[24]} / colour type ${buf[25]}, expected ${bitDepth} / ${wantType}`);
  }
  return buf;
}

/** Write a PNG atomically. Errors name `path`. */
export async function writePng(
  path: string,
  data: Uint8Array | Uint8ClampedArray | Uint16Array,
  opts: PngWriteOptions,
): Promise<void> {
  let buf: Buffer;
  try {
    buf = await encodePng(data, opts);
  } catch (err) {
    throw new Error(`${path}: cannot encode PNG: ${(err as Error).message}`, { cause: err });
  }
  await writeFileAtomic(path, buf);
}

/** Decode PNG bytes (any PNG: palette expanded, bit depths < 8 promoted to 8). */
export async function decodePng(buf: Buffer, label = '<buffer>'): Promise<PngImage> {
  try {
    if (buf.length < 8 || buf.readUInt32BE(0) !== 0x89504e47 || buf.readUInt32BE(4) !== 0x0d0a1a0a) {
      throw new Error('not a PNG file (bad signature)');
    }
    const meta = await sharp(buf).metadata();
    const is16 = meta.depth === 'ushort';
    const ch = meta.channels ?? 3;
    const grey = ch <= 2;
    const space = is16 ? (grey ? 'grey16' : 'rgb16') : grey ? 'b-w' : 'srgb';
    const { data, info } = await sharp(buf)
      .toColourspace(space)
      .raw({ depth: is16 ? 'ushort' : 'uchar' })
      .toBuffer({ resolveWithObject: true });
    const out: Uint8Array | Uint16Array = is16
      ? new Uint16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength))
      : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const channels = info.channels as 1 | 2 | 3 | 4;
    if (out.length !== info.width * info.height * channels) {
      throw new Error(`decoder returned ${out.length} values for ${info.width}x${info.height}x${channels}`);
    }
    return { width: info.width, height: info.height, channels, bitDepth: is16 ? 16 : 8, data: out };
  } catch (err) {
    throw new Error(`${label}: cannot read PNG: ${(err as Error).message}`, { cause: err });
  }
}

/** Read a PNG file. Reads the bytes first (avoids libvips' file cache seeing stale data). */
export async function readPng(path: string): Promise<PngImage> {
  let buf: Buffer;
  try {
    buf = await fsp.readFile(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new Error(`${path}: cannot read PNG: ${e.code === 'ENOENT' ? 'file not found' : e.message}`, { cause: err });
  }
  return decodePng(buf, path);
}

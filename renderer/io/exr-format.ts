/**
 * OpenEXR format shared by the writer (exr-write.ts), the header parser (exr-header.ts) and
 * the reader (exr-read.ts): public types, format constants and the ZIP predictor.
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

export const MAGIC = 20000630; // 0x01312f76 little-endian: bytes 76 2f 31 01
export const COMPRESSION_NAMES = ['none', 'rle', 'zips', 'zip', 'piz', 'pxr24', 'b44', 'b44a', 'dwaa', 'dwab', 'htj2k256', 'htj2k32'];
export const COMPRESSION_CODE: Record<ExrCompression, number> = { none: 0, zip: 3 };
export const LINES_PER_BLOCK: Record<ExrCompression, number> = { none: 1, zip: 16 };
export const PIXEL_TYPE_CODE = { uint: 0, half: 1, float: 2 } as const;
export const PIXEL_TYPE_NAME = ['uint', 'half', 'float'] as const;
export const RESERVED_ATTRS = new Set([
  'channels', 'compression', 'dataWindow', 'displayWindow', 'lineOrder', 'pixelAspectRatio',
  'screenWindowCenter', 'screenWindowWidth', 'tiles', 'type', 'name', 'version', 'chunkCount',
]);

export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// ------------------------------------------------------------------------------------
// ZIP predictor (shared by the writer and the built-in decoder)

/** OpenEXR ZIP pre-pass: split even/odd bytes into two halves, then delta-encode. */
export function zipPrepass(raw: Uint8Array): Uint8Array {
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
export function zipPostpass(pre: Uint8Array): Uint8Array {
  const n = pre.length;
  for (let t = 1; t < n; t++) pre[t] = (pre[t - 1] + pre[t] - 128) & 0xff;
  // Interleave again: the first half holds the even bytes, the second the odd ones.
  const out = new Uint8Array(n);
  const half = (n + 1) >> 1;
  for (let j = 0; j < half; j++) out[2 * j] = pre[j];
  for (let j = half; j < n; j++) out[2 * (j - half) + 1] = pre[j];
  return out;
}

/**
 * Display transforms of the dashboard. Isomorphic (no Node, no DOM): the browser tonemaps pass
 * images in a canvas with it, the server uses it for thumbnails and PNG previews, so both show the
 * same pixels.
 *
 * Images travel as half-float bits (Uint16Array, interleaved channels). Every transform is a
 * 65536-entry lookup table from half bits to an 8-bit display value, so changing the exposure
 * costs one table (65536 evaluations) plus one lookup per pixel value, whatever the image count.
 *
 * Kinds:
 *   radiance  beauty, diffuse, specular, OLAT / relit images, env maps: x 2^exposure, ACES filmic
 *             (Narkowicz fit, renderer/core/color.ts), sRGB encode. Same curve as preview.png.
 *   albedo    linear reflectance: sRGB encode only (no exposure, no curve).
 *   normal    unit vectors: (n + 1) / 2, linear (no sRGB), black where all three are 0 (off the head).
 *   depth     metres: near = bright, linear between the min and max over the covered pixels, 0 = black.
 *   mask      coverage 0..1, linear grey.
 */
import { acesFilmic, linearToSrgb8 } from './color.js';
import { fromHalf } from './half.js';

export type DisplayKind = 'radiance' | 'albedo' | 'normal' | 'depth' | 'mask';

/** Pass images a sample folder can hold, by file (the names the routes accept). */
export const PASS_FILES: Record<string, { file: string; kind: DisplayKind; label: string }> = {
  beauty: { file: 'beauty.exr', kind: 'radiance', label: 'Beauty' },
  albedo: { file: 'albedo.exr', kind: 'albedo', label: 'Albedo' },
  normal_world: { file: 'normal_world.exr', kind: 'normal', label: 'Normal (world)' },
  normal_camera: { file: 'normal_camera.exr', kind: 'normal', label: 'Normal (camera)' },
  diffuse: { file: 'diffuse.exr', kind: 'radiance', label: 'Diffuse shading' },
  specular: { file: 'specular.exr', kind: 'radiance', label: 'Specular' },
  depth: { file: 'depth.exr', kind: 'depth', label: 'Depth' },
  mask: { file: 'mask.png', kind: 'mask', label: 'Mask' },
};

/** The pass names of sample.json ("normal" covers both normal files). */
export function passNameOfFile(id: string): string {
  return id.startsWith('normal_') ? 'normal' : id;
}

/** Half bits -> 8-bit display value for a kind. `range` = [min, max] for depth. */
export function displayLut(kind: DisplayKind, exposureStops = 0, range: [number, number] = [0, 1]): Uint8Array {
  const lut = new Uint8Array(65536);
  const scale = Math.pow(2, Number.isFinite(exposureStops) ? exposureStops : 0);
  const [lo, hi] = range;
  const span = hi > lo ? hi - lo : 1;
  for (let h = 0; h < 65536; h++) {
    const x = fromHalf(h);
    let v: number;
    switch (kind) {
      case 'radiance':
        v = linearToSrgb8(acesFilmic(x * scale));
        break;
      case 'albedo':
        v = linearToSrgb8(x);
        break;
      case 'normal':
        v = x !== x ? 0 : Math.round(Math.min(1, Math.max(0, (x + 1) / 2)) * 255);
        break;
      case 'depth':
        v = !(x > 0) ? 0 : Math.round(40 + 215 * Math.min(1, Math.max(0, 1 - (x - lo) / span)));
        break;
      case 'mask':
        v = !(x > 0) ? 0 : x >= 1 ? 255 : Math.round(x * 255);
        break;
    }
    lut[h] = v;
  }
  return lut;
}

/** Smallest and largest positive value of channel 0 (depth range over the covered pixels). */
export function positiveRange(data: Uint16Array, channels: number): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < data.length; i += channels) {
    const x = fromHalf(data[i]);
    if (x > 0 && x < Infinity) {
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
  }
  return lo <= hi ? [lo, hi] : [0, 1];
}

/**
 * Interleaved half image (1, 3 or 4 channels) -> RGBA8 through a LUT. Alpha is opaque (beauty's
 * alpha is coverage; its RGB is already premultiplied over the background).
 */
export function toRgba(data: Uint16Array, channels: number, lut: Uint8Array, kind: DisplayKind, out?: Uint8ClampedArray<ArrayBuffer>): Uint8ClampedArray<ArrayBuffer> {
  const n = data.length / channels;
  const dst = out ?? new Uint8ClampedArray(n * 4);
  if (channels === 1) {
    for (let p = 0, o = 0; p < n; p++, o += 4) {
      const v = lut[data[p]];
      dst[o] = v;
      dst[o + 1] = v;
      dst[o + 2] = v;
      dst[o + 3] = 255;
    }
    return dst;
  }
  const zeroIsBlack = kind === 'normal';
  for (let p = 0, i = 0, o = 0; p < n; p++, i += channels, o += 4) {
    const r = data[i];
    const g = data[i + 1];
    const b = data[i + 2];
    if (zeroIsBlack && (r & 0x7fff) === 0 && (g & 0x7fff) === 0 && (b & 0x7fff) === 0) {
      dst[o] = dst[o + 1] = dst[o + 2] = 0;
    } else {
      dst[o] = lut[r];
      dst[o + 1] = lut[g];
      dst[o + 2] = lut[b];
    }
    dst[o + 3] = 255;
  }
  return dst;
}

/** RGBA8 -> RGB8 (for encoders that take 3 channels). */
export function rgbaToRgb(src: Uint8ClampedArray | Uint8Array): Uint8Array {
  const n = src.length / 4;
  const out = new Uint8Array(n * 3);
  for (let p = 0; p < n; p++) {
    out[p * 3] = src[p * 4];
    out[p * 3 + 1] = src[p * 4 + 1];
    out[p * 3 + 2] = src[p * 4 + 2];
  }
  return out;
}

/** One displayable image: half bits + layout + how to show it. */
export interface HalfImage {
  width: number;
  height: number;
  channels: number;
  data: Uint16Array;
}

/** Full display of a half image with a kind and exposure (depth range computed from the data). */
export function displayRgba(img: HalfImage, kind: DisplayKind, exposureStops = 0): Uint8ClampedArray<ArrayBuffer> {
  const range = kind === 'depth' ? positiveRange(img.data, img.channels) : undefined;
  return toRgba(img.data, img.channels, displayLut(kind, exposureStops, range), kind);
}

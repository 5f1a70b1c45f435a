// Node-only. Pass images of a dataset decoded for display: EXR passes (and the mask PNG) as
// interleaved half floats, cached by file, mtime and size; a pass tonemapped into a PNG. The
// decodes and encodes of the dashboard share one limiter (imageWork): the machine renders too.
import fsp from 'node:fs/promises';
import sharp from 'sharp';
import { Limiter } from './util/limiter.js';
import { Lru } from './util/lru.js';
import { readExr } from '../renderer/io/exr-read.js';
import { readPng } from '../renderer/io/image-io.js';
import { floatsToHalf } from '../renderer/core/half.js';
import { displayRgba, rgbaToRgb, type DisplayKind, type HalfImage } from '../renderer/core/display.js';

/** EXR decodes, sharp encodes and environment fits of the dashboard: at most three at once. */
export const imageWork = new Limiter(3);

/** One pass image decoded to half floats (interleaved), cached by file and mtime. */
const imageCache = new Lru<HalfImage>(256 << 20, (v) => v.data.byteLength + 64);

export async function loadPassImage(file: string, pass: string): Promise<HalfImage> {
  const st = await fsp.stat(file);
  const key = `${file}\0${st.mtimeMs}\0${st.size}`;
  const hit = imageCache.get(key);
  if (hit) return hit;
  const img = await imageWork.run(async () => {
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

export async function encodeDisplayPng(img: HalfImage, kind: DisplayKind, exposure: number): Promise<Buffer> {
  const rgb = rgbaToRgb(displayRgba(img, kind, exposure));
  return sharp(rgb, { raw: { width: img.width, height: img.height, channels: 3 } }).png({ compressionLevel: 3 }).toBuffer();
}

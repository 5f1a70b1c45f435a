// Node-only. Dashboard thumbnails: WebP files cached on disk under
// <output>/.cache/thumbs/<ds>/<id>/<key>.<pass>.<size>.webp, regenerated when older than their
// source, written atomically; concurrent requests for one thumbnail share one encode.
import fsp from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { AppContext } from './context.js';
import { imageWork, loadPassImage } from './pass-images.js';
import { statOrNull } from './util/fs.js';
import { writeFileAtomic } from '../renderer/io/fs-atomic.js';
import { PASS_FILES, displayRgba, rgbaToRgb } from '../renderer/core/display.js';

/** The sizes a thumbnail may have (px, the longer side). */
export const THUMB_SIZES = [64, 96, 128, 192, 256];

const thumbPending = new Map<string, Promise<string>>();

/** The thumbnail file (generated if missing or older than its source), atomically written. */
export async function thumbnail(ctx: AppContext, ds: string, id: string, key: string, pass: string, size: number, src: string): Promise<string> {
  const dir = path.join(ctx.outputRoot, '.cache', 'thumbs', ds, id);
  const file = path.join(dir, `${key}.${pass}.${size}.webp`);
  const p0 = thumbPending.get(file);
  if (p0) return p0;
  const p = (async () => {
    const [ts, ss] = await Promise.all([statOrNull(file), fsp.stat(src)]);
    if (ts && ts.mtimeMs >= ss.mtimeMs) return file;
    // (loadPassImage takes its own slot of the limiter: never nest them.)
    const img = pass === 'preview' ? null : await loadPassImage(src, pass);
    const buf = await imageWork.run(async () => {
      if (!img) return sharp(src).resize(size, size, { fit: 'inside', kernel: 'lanczos3' }).webp({ quality: 82 }).toBuffer();
      const rgb = rgbaToRgb(displayRgba(img, PASS_FILES[pass].kind, 0));
      return sharp(rgb, { raw: { width: img.width, height: img.height, channels: 3 } }).resize(size, size, { fit: 'inside', kernel: 'lanczos3' }).webp({ quality: 82 }).toBuffer();
    });
    await fsp.mkdir(dir, { recursive: true });
    await writeFileAtomic(file, buf, { fsync: false });
    return file;
  })().finally(() => thumbPending.delete(file));
  thumbPending.set(file, p);
  return p;
}

// Node-only. A dataset's contact sheet: the first samples' previews (the first lighting folder's
// preview.png) tiled in a grid, so a person can see at a glance who and what a batch rendered.
// Deterministic: the same previews give the same PNG bytes.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { writeFileAtomic } from '../io/fs-atomic.js';

export const CONTACT_SHEET_FILE = 'contact_sheet.png';

export interface ContactSheetOptions {
  /** Sample folders in order (the sheet shows the first `count`). */
  sampleDirs: string[];
  /** The lighting folder whose preview each tile shows. */
  lightingFolder: string;
  count?: number;
  columns?: number;
  tile?: number;
}

/** Writes `<outDir>/contact_sheet.png`; returns its path, or null when no sample has a preview. */
export async function writeContactSheet(outDir: string, o: ContactSheetOptions): Promise<string | null> {
  const count = o.count ?? 16;
  const columns = o.columns ?? 4;
  const tile = o.tile ?? 192;
  const previews = o.sampleDirs
    .slice(0, count)
    .map((d) => path.join(d, o.lightingFolder, 'preview.png'))
    .filter((f) => fs.existsSync(f));
  if (previews.length === 0) return null;
  const rows = Math.ceil(previews.length / columns);
  const tiles = await Promise.all(
    previews.map(async (f, i) => ({
      input: await sharp(f).flatten({ background: { r: 0, g: 0, b: 0 } }).resize(tile, tile, { fit: 'contain', background: { r: 0, g: 0, b: 0 } }).png().toBuffer(),
      left: (i % columns) * tile,
      top: Math.floor(i / columns) * tile,
    })),
  );
  const png = await sharp({ create: { width: columns * tile, height: rows * tile, channels: 3, background: { r: 0, g: 0, b: 0 } } })
    .composite(tiles)
    .png({ compressionLevel: 9 })
    .toBuffer();
  const file = path.join(outDir, CONTACT_SHEET_FILE);
  await writeFileAtomic(file, png);
  return file;
}

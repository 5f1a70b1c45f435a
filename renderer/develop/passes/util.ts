// Helpers shared by pass modules: channel planes and coverage handling.
import path from 'node:path';
import { writeExr } from '../../io/exr-write.js';
import type { PassContext, PassFile } from './types.js';

/** Splits an interleaved buffer into planes (what the EXR writer takes). */
export function planes(src: Float32Array, channels: number, count: number): Float32Array[] {
  const out = Array.from({ length: count }, () => new Float32Array(src.length / channels));
  for (let i = 0, p = 0; i < src.length; i += channels, p++) for (let c = 0; c < count; c++) out[c][p] = src[i + c];
  return out;
}

export function requireMode(ctx: PassContext, mode: keyof PassContext['modes'], pass: string): Float32Array {
  const m = ctx.modes[mode];
  if (!m) throw new Error(`pass "${pass}" needs render mode "${mode}", which was not rendered`);
  return m;
}

/** Writes the first `names.length` channels of an interleaved buffer as one EXR. */
export async function writeChannelsExr(
  ctx: PassContext,
  pass: string,
  name: string,
  src: Float32Array,
  stride: number,
  names: string[],
  description: string,
  pixelType: 'half' | 'float' = ctx.output.exrPixelType,
): Promise<PassFile> {
  const data = planes(src, stride, names.length);
  const file = `${name}.exr`;
  await writeExr(
    path.join(ctx.dir, file),
    { width: ctx.width, height: ctx.height, channels: names.map((n, i) => ({ name: n, data: data[i] })) },
    { pixelType, compression: ctx.output.exrCompression, attributes: { 'vls:pass': pass } },
  );
  return { pass, file, format: 'exr', channels: names, pixelType, description };
}

export function writeRgbExr(ctx: PassContext, pass: string, name: string, rgb: Float32Array, stride: number, description: string, pixelType?: 'half' | 'float'): Promise<PassFile> {
  return writeChannelsExr(ctx, pass, name, rgb, stride, ['R', 'G', 'B'], description, pixelType);
}

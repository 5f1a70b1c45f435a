// Helpers shared by pass modules: channel planes, required modes, EXR encoding (in memory).
import { encodeExrAsync, encodePng, type PngWriteOptions } from '../../io/encoders.js';
import type { EncodedPassFile, PassContext } from './types.js';

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

/** The first `names.length` channels of an interleaved buffer as one EXR file's bytes. */
export async function encodeChannelsExr(
  ctx: PassContext,
  pass: string,
  name: string,
  src: Float32Array,
  stride: number,
  names: string[],
  description: string,
  pixelType: 'half' | 'float' = ctx.output.exrPixelType,
): Promise<EncodedPassFile> {
  const data = planes(src, stride, names.length);
  const file = `${name}.exr`;
  let bytes: Buffer;
  try {
    bytes = await encodeExrAsync(
      { width: ctx.width, height: ctx.height, channels: names.map((n, i) => ({ name: n, data: data[i] })) },
      { pixelType, compression: ctx.output.exrCompression, attributes: { 'vls:pass': pass } },
    );
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`, { cause: err });
  }
  return { pass, file, format: 'exr', channels: names, pixelType, description, bytes };
}

export function encodeRgbExr(ctx: PassContext, pass: string, name: string, rgb: Float32Array, stride: number, description: string, pixelType?: 'half' | 'float'): Promise<EncodedPassFile> {
  return encodeChannelsExr(ctx, pass, name, rgb, stride, ['R', 'G', 'B'], description, pixelType);
}

/** PNG bytes of interleaved pixels; errors name the file. */
export async function encodePngFile(file: string, data: Uint8Array | Uint16Array, opts: PngWriteOptions): Promise<Buffer> {
  try {
    return await encodePng(data, opts);
  } catch (err) {
    throw new Error(`${file}: cannot encode PNG: ${(err as Error).message}`, { cause: err });
  }
}

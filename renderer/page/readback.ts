// Browser-only. Getting pixels out: target readback packed for Node, row flips, half floats,
// and the POST that hands bytes to Node.
import type { RenderTargetTexture } from '@babylonjs/core/Materials/Textures/renderTargetTexture.js';
import { MODE_CHANNELS, MODE_FLOAT32, type RenderModeName } from '../core/render-modes.js';
import { floatsToHalf } from '../core/half.js';

export async function readTarget(target: RenderTargetTexture, mode: RenderModeName, width: number, height: number): Promise<Uint8Array> {
  const pixels = (await target.readPixels(0, 0, null, true)) as Float32Array;
  const channels = MODE_CHANNELS[mode];
  const n = width * height;
  const packed = new Float32Array(n * channels);
  if (channels === 4) packed.set(pixels.subarray(0, n * 4));
  else {
    for (let i = 0, j = 0; i < n; i++) {
      for (let c = 0; c < channels; c++) packed[j++] = pixels[i * 4 + c];
    }
  }
  if (MODE_FLOAT32[mode]) return new Uint8Array(packed.buffer);
  const half = floatsToHalf(packed);
  return new Uint8Array(half.buffer, half.byteOffset, half.byteLength);
}

/** GL rows are bottom-up: returns a copy with row 0 = top. */
export function flipRows(src: Float32Array, W: number, H: number, channels: number): Float32Array {
  const out = new Float32Array(src.length);
  const row = W * channels;
  for (let y = 0; y < H; y++) out.set(src.subarray((H - 1 - y) * row, (H - y) * row), y * row);
  return out;
}

export function halfBytes(src: Float32Array): Uint8Array {
  const h = floatsToHalf(src);
  return new Uint8Array(h.buffer, h.byteOffset, h.byteLength);
}

/**
 * POSTs the bytes, copied into one array at once (so the caller may reuse its buffers). A plain
 * array body, not a Blob: every Blob is registered in the browser process until the page's GC
 * collects it, one of the ways a long batch grew the browser's memory.
 */
export async function upload(url: string, parts: Uint8Array[]): Promise<void> {
  let body: Uint8Array<ArrayBuffer>;
  if (parts.length === 1) body = parts[0].slice();
  else {
    body = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
    let o = 0;
    for (const p of parts) {
      body.set(p, o);
      o += p.byteLength;
    }
  }
  const response = await fetch(url, { method: 'POST', body });
  if (!response.ok) throw new Error(`upload failed: HTTP ${response.status}`);
}

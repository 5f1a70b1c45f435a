// Browser-only. Environment visibility of a head: its vertices (as drawn) go to Node, which
// ray-traces the per-vertex SH transfer once per head (renderer/assets/visibility.ts, cached on
// disk) and hands it back as vertex attributes the pass plugin applies (pass-plugin.ts).
import { activateHead } from './scene.js';
import { VIS_STRIDE, type PageHead } from '../core/protocol.js';

const toBase64 = (a: ArrayBufferView): string => {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
};

/** The head's vertices in the canonical frame, base64 float32/uint32 (loads the head if needed). */
export async function headGeometry(req: PageHead): Promise<{ positions: string; normals: string; indices: string; hasVisibility: boolean }> {
  const head = await activateHead(req);
  const g = head.geometry();
  return { positions: toBase64(g.positions), normals: toBase64(g.normals), indices: toBase64(g.indices), hasVisibility: head.hasVisibility };
}

/** Attaches the visibility Node computed (VIS_STRIDE float32 per vertex, fetched from `url`). */
export async function setHeadVisibility(req: PageHead, url: string): Promise<void> {
  const head = await activateHead(req);
  const res = await fetch(url);
  if (!res.ok) throw new Error(`visibility ${url} failed to load: HTTP ${res.status}`);
  const data = new Float32Array(await res.arrayBuffer());
  const expected = head.meshes.reduce((a, m) => a + m.getTotalVertices(), 0) * VIS_STRIDE;
  if (data.length !== expected) throw new Error(`visibility ${url}: ${data.length} floats, expected ${expected}`);
  head.setVisibility(data);
}

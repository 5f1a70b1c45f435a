// Worker-thread side of renderer/assets/visibility.ts: rebuilds the geometry around the
// deserialized BVH, then traces vertex ranges on request into the shared hit buffer. Started
// through renderer/io/worker-boot.mjs (which loads this file with tsx when it is TypeScript).
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import type { MeshBVH as MeshBVHType, SerializedBVH } from 'three-mesh-bvh';
import { makeVisibilityKernel, type KernelData } from './visibility-kernel.js';

const port = parentPort;
if (!port) throw new Error('visibility-worker.ts runs only as a worker thread');
const w = workerData as { threePath: string; bvhPath: string; bvh: SerializedBVH | null; kernel: KernelData; hits: SharedArrayBuffer };
// The same files as the main thread (required by resolved path, see visibility.ts).
const requireHere = createRequire(import.meta.url);
const THREE = requireHere(w.threePath) as typeof import('three');
const { MeshBVH } = requireHere(w.bvhPath) as typeof import('three-mesh-bvh');
let bvh: MeshBVHType | null = null;
if (w.bvh) {
  const geom = new THREE.BufferGeometry();
  geom.setAttribute('position', new THREE.BufferAttribute(w.kernel.positions, 3));
  bvh = MeshBVH.deserialize(w.bvh, geom, { setIndex: true });
}
const kernel = makeVisibilityKernel(THREE, bvh, w.kernel);
const hits = new Int32Array(w.hits);
port.on('message', (m: { id: number; v0: number; v1: number }) => {
  try {
    kernel.trace(m.v0, m.v1, hits, 0);
    port.postMessage({ ok: true, id: m.id });
  } catch (e) {
    port.postMessage({ ok: false, id: m.id, error: String((e instanceof Error && e.stack) || e) });
  }
});

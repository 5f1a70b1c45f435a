// Fidelity pipeline end to end at a tiny size: ours and Blender Cycles render the same spec and
// land on the same pixels (mask IoU checks camera, axes and head placement for real) with
// comparable energy. The numbers that matter come from `npm run bench -- --only fidelity`.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { Renderer } from '../renderer/engine/renderer.js';
import { readExr } from '../renderer/io/exr-read.js';
import { findBlender, blenderDirFromUv } from '../scripts/bench/fidelity/blender.js';
import { runScene } from '../scripts/bench/fidelity/run.js';
import type { FidelityScene } from '../scripts/bench/fidelity/scenes.js';
import { uvFromDir } from '../renderer/core/latlong.js';
import { skipBecause } from './support/skip.js';

describe('fidelity against Cycles (smoke)', function () {
  const blender = findBlender();
  let renderer: Renderer | null = null;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vls-fidelity-'));

  before(async function () {
    if (blender) renderer = await Renderer.launch();
  });

  after(async () => {
    await renderer?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("maps Blender's equirect directions back onto its own formula", () => {
    // u = 0.5 + atan2(z, x) / 2pi, v = acos(y) / pi (row 0 = zenith), in our world frame.
    for (const [u, v] of [[0.1, 0.3], [0.6, 0.7], [0.93, 0.05]]) {
      const [x, y, z] = blenderDirFromUv(u, v);
      const uu = (((0.5 + Math.atan2(z, x) / (2 * Math.PI)) % 1) + 1) % 1;
      expect(uu).to.be.closeTo(u, 1e-9);
      expect(Math.acos(y) / Math.PI).to.be.closeTo(v, 1e-9);
    }
    // Ours is the same convention (format 2; format 1 was its mirror image).
    for (const [u, v] of [[0.25, 0.5], [0.6, 0.7], [0.93, 0.05]]) {
      const d = blenderDirFromUv(u, v);
      const [uu, vv] = uvFromDir(d[0], d[1], d[2]);
      expect(uu).to.be.closeTo(u, 1e-9);
      expect(vv).to.be.closeTo(v, 1e-9);
    }
  });

  it('renders the procedural head in both, same coverage, comparable energy', async function () {
    if (!blender) {
      skipBecause(this, 'blender not installed (PATH or VLS_BLENDER; Debian: blender)');
    }
    const scene: FidelityScene = { name: 'smoke-proc-studio', head: 'procedural', yawDeg: 0, environment: [{ map: 'builtin:studio' }] };
    const r = await runScene(renderer!, scene, { size: 64, spp: 16, blender, workDir: tmp, pngDir: null });
    // Coverage where the head is: Cycles' alpha is ~1 at the image centre and 0 in a corner.
    const exr = await readExr(path.join(tmp, scene.name, 'cycles-seed0.exr'));
    const A = exr.channels.find((c) => c.name === 'A')!.data;
    expect(A[32 * 64 + 32]).to.be.greaterThan(0.99);
    expect(A[0]).to.equal(0);
    expect(r.maskPixels).to.be.greaterThan(0.15 * 64 * 64);
    expect(r.maskIoU).to.be.greaterThan(0.95);
    expect(r.energyRatio).to.be.within(0.5, 2);
    expect(r.psnrDisplay).to.be.greaterThan(10);
    expect(r.bboxErrM).to.be.lessThan(0.002);
  });
});

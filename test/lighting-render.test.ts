// Pins the page's lighting conventions to the Node-side math: the diffuse pass under an
// environment equals SH9 irradiance computed in Node (before and after rotating the map).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { Renderer } from '../renderer/engine/renderer.js';
import { parseSampleSpec } from '../renderer/core/spec.js';
import { resolveHead } from '../renderer/assets/head.js';
import { loadEnvMap } from '../renderer/assets/environment.js';
import { projectEnvSH9, irradianceSH9 } from '../renderer/core/sh9.js';
import { rotateEnv } from '../renderer/core/latlong.js';

describe('lighting conventions in the rendered image', function () {
  let renderer: Renderer;
  let headDir: string;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vls-light-'));

  before(async function () {
    renderer = await Renderer.launch({});
    // The procedural head without specular reflection and without a normal map: its diffuse
    // shading is then exactly the environment's irradiance / pi at the interpolated normal.
    const proc = await resolveHead('procedural');
    headDir = path.join(tmp, 'matte-head');
    fs.mkdirSync(headDir);
    const desc = JSON.parse(fs.readFileSync(proc.descriptorPath, 'utf8'));
    delete desc.maps.specular;
    delete desc.maps.normal;
    desc.baseDir = path.dirname(proc.descriptorPath);
    // Label maps resolve against the head.json folder: point at the original.
    if (desc.labels?.map) desc.labels.map = path.join(desc.baseDir, desc.labels.map);
    desc.material.specularF0 = 0;
    fs.writeFileSync(path.join(headDir, 'head.json'), JSON.stringify(desc));
  });
  after(async function () {
    await renderer?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  for (const rotationDeg of [0, 90, 217]) {
    it(`diffuse pass = SH9 irradiance / pi from Node (builtin:city, rotation ${rotationDeg} deg)`, async function () {
      const S = 96;
      const s = await renderer.renderSample(parseSampleSpec({
        head: headDir,
        width: S,
        height: S,
        camera: { yawDeg: 30, pitchDeg: 10, distance: 0.75, fovYDeg: 25 },
        lighting: { environment: [{ map: 'builtin:city', rotationDeg, intensity: 1.5 }], pointLights: [] },
        passes: ['diffuse', 'normal'],
        // Image-based light only, unoccluded, no bounce (no sources drawn as shadowed lights): the
        // convention under test, where diffuse is exactly SH9 irradiance / pi.
        render: { envLights: 0, envVisibility: false, bounce: false },
      }));
      const env = await loadEnvMap('builtin:city');
      const sh = projectEnvSH9(rotateEnv(env, rotationDeg));
      const diffuse = s.modes.diffuse!;
      const normal = s.modes.normal!;
      let num = 0, den = 0, n = 0;
      for (let p = 0; p < S * S; p++) {
        if (s.mask[p] < 0.999) continue;
        const l = Math.hypot(normal[p * 3], normal[p * 3 + 1], normal[p * 3 + 2]);
        if (Math.abs(l - 1) > 0.01) continue; // inner-silhouette pixels mix two normals
        const e = irradianceSH9(sh, normal[p * 3] / l, normal[p * 3 + 1] / l, normal[p * 3 + 2] / l);
        for (let c = 0; c < 3; c++) {
          const expected = (1.5 * e[c]) / Math.PI;
          num += Math.abs(diffuse[p * 3 + c] - expected);
          den += expected;
        }
        n++;
      }
      expect(n).to.be.greaterThan(1500);
      // Measured ~1%: Babylon fits its polynomial on a 128 px cube, we project the equirect.
      expect(num / den, 'relative L1 error').to.be.lessThan(0.03);
    });
  }

  // Regression: Babylon skips re-evaluating dirty material defines until the scene's render id
  // changes; an environment-only lighting drawn right after one with point lights kept them.
  it('a render does not depend on the lights of the render before it', async function () {
    const S = 64;
    const spec = (pointLights: { position: [number, number, number]; intensity: number }[]) =>
      parseSampleSpec({ width: S, height: S, lighting: { environment: [{ map: 'builtin:studio', intensity: 0.5 }], pointLights }, passes: ['beauty', 'diffuse', 'specular', 'mask'] });
    const alone = await renderer.renderSample(spec([]));
    for (const lights of [[{ position: [0.3, 0.1, 0.3] as [number, number, number], intensity: 0.2 }], [{ position: [-0.3, 0.1, 0.3] as [number, number, number], intensity: 0.2 }, { position: [0, 0.4, 0.2] as [number, number, number], intensity: 0.2 }]]) {
      const lit = await renderer.renderSample(spec(lights));
      const after = await renderer.renderSample(spec([]));
      for (const mode of ['beauty', 'diffuse', 'specular'] as const) {
        const mean = (a: Float32Array) => a.reduce((x, y) => x + y, 0) / a.length;
        expect(mean(lit.modes[mode]!), `${mode}: the lights add light`).to.be.greaterThan(mean(alone.modes[mode]!) * 1.05);
        expect(Array.from(after.modes[mode]!).every((v, k) => v === alone.modes[mode]![k]), `${mode} after ${lights.length} light(s) equals the render alone`).to.equal(true);
      }
    }
  });

  // The batch pads every lighting to the same number of point lights (render.lightSlots) so the
  // shader variant never changes; a dark slot must add nothing to any lighting-dependent pass.
  for (const lights of [0, 1]) {
    it(`dark light slots add nothing (${lights} real light(s) padded to 3)`, async function () {
      const S = 96;
      const spec = (lightSlots: number) =>
        parseSampleSpec({
          width: S,
          height: S,
          camera: { yawDeg: -20, pitchDeg: 5, distance: 0.75, fovYDeg: 25 },
          lighting: {
            environment: [{ map: 'builtin:sunset', rotationDeg: 40, intensity: 0.8 }],
            pointLights: [{ position: [0.2, 0.15, 0.25], color: [1, 0.8, 0.6], intensity: 0.05 }].slice(0, lights),
          },
          passes: ['beauty', 'diffuse', 'specular', 'mask'],
          render: { lightSlots },
        });
      const plain = await renderer.renderSample(spec(0));
      const padded = await renderer.renderSample(spec(3));
      const again = await renderer.renderSample(spec(0));
      for (const mode of ['beauty', 'diffuse', 'specular'] as const) {
        const a = plain.modes[mode]!;
        const b = padded.modes[mode]!;
        let worst = 0;
        let peak = 0;
        for (let k = 0; k < a.length; k++) {
          worst = Math.max(worst, Math.abs(a[k] - b[k]));
          peak = Math.max(peak, Math.abs(a[k]));
        }
        expect(peak, `${mode} is lit`).to.be.greaterThan(0.05);
        // half-float storage: 2^-11 relative
        expect(worst / peak, `${mode}: largest difference relative to the peak`).to.be.lessThan(1e-3);
        // switching back to the unpadded variant reproduces the first render
        expect(Array.from(again.modes[mode]!).every((v, k) => v === a[k]), `${mode} repeatable`).to.equal(true);
      }
      expect(Array.from(padded.mask).every((v, k) => v === plain.mask[k]), 'same mask').to.equal(true);
    });
  }
});

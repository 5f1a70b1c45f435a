// Pins the page's lighting conventions to the Node-side math: the diffuse pass under an
// environment equals SH9 irradiance computed in Node (before and after rotating the map).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { Renderer } from '../renderer/node/renderer.js';
import { parseSampleSpec } from '../renderer/node/spec.js';
import { resolveHead } from '../renderer/node/head.js';
import { loadEnvMap } from '../renderer/node/environment.js';
import { projectEnvSH9, irradianceSH9 } from '../renderer/shared/sh9.js';
import { rotateEnv } from '../renderer/shared/latlong.js';

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
});

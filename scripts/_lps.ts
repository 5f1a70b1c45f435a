import { Renderer } from '../renderer/node/renderer.js';
import { parseSampleSpec } from '../renderer/node/spec.js';
import { writeSample } from '../renderer/node/write-sample.js';
const r = await Renderer.launch({});
const s = await r.renderSample(parseSampleSpec({ head: 'assets/heads/lee_perry_smith', width: 200, height: 200, camera: { yawDeg: 0, pitchDeg: 0, distance: 20, fovYDeg: 1.04, target: [0, 0, 0] }, passes: ['albedo', 'preview', 'mask'] }));
await writeSample('/tmp/lpsfront', s, r.info, { overwrite: true });
console.log(s.headBounds);
await r.close();

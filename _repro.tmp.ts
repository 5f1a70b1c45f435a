import { Renderer } from './renderer/node/renderer.js';
import { loadBatchConfig } from './renderer/node/batch/config.js';
import { planSample } from './renderer/node/batch/plan.js';
const cfg = loadBatchConfig('scenes/default.json');
const r = await Renderer.launch({ log: (m) => console.log('LOG', m.slice(0, 300)) });
const seq = process.argv.slice(2).map((s) => s.split(':').map(Number));
for (const [i, n] of seq) {
  const p = planSample(cfg, i);
  const L = p.lightings[n];
  const out = await r.renderSample(L.spec);
  let cov = 0; for (const v of out.mask) cov += v;
  console.log(i, L.key, 'lights', L.spec.lighting.pointLights.length, 'layers', L.spec.lighting.environment.length, 'cov', (cov / out.mask.length).toFixed(3), 'setup', out.timings.page.setupMs.toFixed(0));
}
await r.close();

import { writeExr } from '../renderer/node/exr.js';
import { envFromFunction } from '../renderer/shared/latlong.js';
import { Renderer } from '../renderer/node/renderer.js';
import { parseSampleSpec } from '../renderer/node/spec.js';
import fs from 'node:fs';
fs.mkdirSync('/tmp/envtest', { recursive: true });
const lobe = (dx: number, dy: number, dz: number) => envFromFunction(64, 32, (x, y, z) => { const c = x*dx + y*dy + z*dz; const v = Math.max(0, c) ** 8; return [v, v, v]; });
async function save(name: string, env: ReturnType<typeof lobe>) {
  const n = env.width * env.height; const ch = [0,1,2].map(c => { const a = new Float32Array(n); for (let i = 0; i < n; i++) a[i] = env.data[i*3+c]; return a; });
  await writeExr(`/tmp/envtest/${name}.exr`, { width: env.width, height: env.height, channels: [{ name: 'B', data: ch[2] }, { name: 'G', data: ch[1] }, { name: 'R', data: ch[0] }] }, { pixelType: 'float' });
}
await save('px', lobe(1,0,0)); await save('pz', lobe(0,0,1)); await save('py', lobe(0,1,0));
const r = await Renderer.launch({});
for (const [map, rot] of [['px',0],['pz',0],['py',0],['pz',90],['px',90]] as const) {
  const spec = parseSampleSpec({ head: 'procedural', width: 96, height: 96, passes: ['diffuse'], lighting: { environment: [{ map: `/tmp/envtest/${map}.exr`, rotationDeg: rot }] } });
  const s = await r.renderSample(spec);
  const d = s.modes.diffuse!; let L = 0, R = 0, T = 0, B = 0;
  for (let y = 0; y < 96; y++) for (let x = 0; x < 96; x++) { const v = d[(y*96+x)*3+1]; if (x < 48) L += v; else R += v; if (y < 48) T += v; else B += v; }
  console.log(map, rot, { left: L.toFixed(1), right: R.toFixed(1), top: T.toFixed(1), bottom: B.toFixed(1) });
}
await r.close();

import { readExr } from './renderer/node/exr.js';
import { readPng } from './renderer/node/image-io.js';
import fs from 'node:fs';
const root = process.argv[2];
for (const id of fs.readdirSync(`${root}/samples`).sort()) {
  const s = JSON.parse(fs.readFileSync(`${root}/samples/${id}/sample.json`, 'utf8'));
  const out: string[] = [];
  for (const k of ['input_i', 'input_j', 'target_k']) {
    const b = await readExr(`${root}/samples/${id}/${k}/beauty.exr`);
    const A = b.channels.find((c) => c.name === 'A')!.data;
    let cov = 0; for (const v of A) cov += v;
    out.push(`${k}: cov ${(cov / A.length).toFixed(3)} env ${s.lightings.find((l: any) => l.key === k).lighting.environment.map((e: any) => e.map.slice(8) + '@' + e.rotationDeg.toFixed(0)).join('+')}`);
  }
  const m = await readPng(`${root}/samples/${id}/input_i/mask.png`);
  console.log(id, 'yaw', s.camera.drawn.yawDeg.toFixed(1), 'pitch', s.camera.drawn.pitchDeg.toFixed(1), out.join(' | '));
}

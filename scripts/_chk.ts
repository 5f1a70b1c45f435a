import { readExr } from '../renderer/node/exr.js';
const dir = process.argv[2];
const get = async (f: string) => { const r = await readExr(`${dir}/${f}`); const o: Record<string, Float32Array> = {}; for (const c of r.channels) o[c.name] = c.data; return o; };
const b = await get('beauty.exr'), a = await get('albedo.exr'), d = await get('diffuse.exr'), s = await get('specular.exr'), n = await get('normal_world.exr'), z = await get('depth.exr');
let cnt = 0, err = 0, sumB = 0, maxB = 0, sumA = 0, sumD = 0, sumS = 0, nerr = 0, zmin = 1e9, zmax = 0;
for (let p = 0; p < b.A.length; p++) {
  if (b.A[p] < 0.999) continue;
  cnt++;
  for (const c of ['R', 'G', 'B']) {
    const rec = a[c][p] * d[c][p] + s[c][p];
    err += Math.abs(rec - b[c][p]); sumB += b[c][p]; maxB = Math.max(maxB, b[c][p]);
  }
  sumA += a.G[p]; sumD += d.G[p]; sumS += s.G[p];
  nerr = Math.max(nerr, Math.abs(Math.hypot(n.R[p], n.G[p], n.B[p]) - 1));
  zmin = Math.min(zmin, z.Z[p]); zmax = Math.max(zmax, z.Z[p]);
}
console.log({ cnt, meanAbsErr: err / cnt / 3, meanB: sumB / cnt / 3, maxB, meanAlbedoG: sumA / cnt, meanDiffG: sumD / cnt, meanSpecG: sumS / cnt, nerr, zmin, zmax });

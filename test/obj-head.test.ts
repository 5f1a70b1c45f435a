// OBJ meshes load through the same head path as GLB: the procedural head exported as OBJ
// (with the OpenGL UV convention) renders the same albedo and silhouette as its GLB.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { Renderer } from '../renderer/engine/renderer.js';
import { parseSampleSpec } from '../renderer/core/spec.js';
import { resolveHead } from '../renderer/assets/head.js';
import { parseGlb, readAccessor } from '../renderer/io/gltf-write.js';

function glbToObj(glb: Buffer): string {
  const parsed = parseGlb(glb);
  const prim = parsed.json.meshes[0].primitives[0];
  const pos = readAccessor(parsed, prim.attributes.POSITION);
  const nrm = readAccessor(parsed, prim.attributes.NORMAL);
  const uv = readAccessor(parsed, prim.attributes.TEXCOORD_0);
  const idx = readAccessor(parsed, prim.indices);
  const lines: string[] = ['# procedural head exported for the OBJ loader test'];
  for (let i = 0; i < pos.length; i += 3) lines.push(`v ${pos[i]} ${pos[i + 1]} ${pos[i + 2]}`);
  for (let i = 0; i < nrm.length; i += 3) lines.push(`vn ${nrm[i]} ${nrm[i + 1]} ${nrm[i + 2]}`);
  // glTF UVs have v = 0 at the image top; OBJ's convention is v = 0 at the bottom.
  for (let i = 0; i < uv.length; i += 2) lines.push(`vt ${uv[i]} ${1 - uv[i + 1]}`);
  for (let i = 0; i < idx.length; i += 3) {
    const f = [idx[i] + 1, idx[i + 1] + 1, idx[i + 2] + 1].map((k) => `${k}/${k}/${k}`);
    lines.push(`f ${f.join(' ')}`);
  }
  return lines.join('\n') + '\n';
}

describe('OBJ heads', function () {
  let renderer: Renderer;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vls-obj-'));
  before(async function () {
    renderer = await Renderer.launch({});
  });
  after(async function () {
    await renderer?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('an OBJ head renders like the same head as GLB', async function () {
    const glbHead = await resolveHead('procedural');
    const dir = path.join(tmp, 'obj-head');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'head.obj'), glbToObj(fs.readFileSync(glbHead.files.mesh)));
    const desc = JSON.parse(fs.readFileSync(glbHead.descriptorPath, 'utf8'));
    fs.writeFileSync(path.join(dir, 'head.json'), JSON.stringify({ ...desc, labels: { ...desc.labels, map: path.join(path.dirname(glbHead.descriptorPath), 'labels.png') }, id: 'procedural-obj', mesh: path.join(dir, 'head.obj'), baseDir: path.dirname(glbHead.descriptorPath), uvOrigin: 'bottom-left' }));
    const S = 96;
    const render = (head: string) => renderer.renderSample(parseSampleSpec({ head, width: S, height: S, camera: { yawDeg: 30, pitchDeg: 10 }, passes: ['albedo', 'normal', 'mask'] }));
    const a = await render('procedural');
    const b = await render(dir);
    const { inter, union, diff, ndot } = compare(a, b);
    expect(inter / union, 'silhouette IoU').to.be.greaterThan(0.98);
    expect(ndot / inter, "mean normal agreement").to.be.greaterThan(0.98);
    // Measured ~0 (same mesh, same maps);
    // the wrong UV convention gives several times more.
    const wrongDir = path.join(tmp, 'obj-wrong-uv');
    fs.mkdirSync(wrongDir);
    fs.writeFileSync(path.join(wrongDir, 'head.json'), JSON.stringify({ ...desc, labels: { ...desc.labels, map: path.join(path.dirname(glbHead.descriptorPath), 'labels.png') }, id: 'procedural-obj-wrong', mesh: path.join(dir, 'head.obj'), baseDir: path.dirname(glbHead.descriptorPath), uvOrigin: 'top-left' }));
    const wrong = compare(a, await render(wrongDir));
    expect(diff / inter / 3, 'mean albedo difference').to.be.lessThan(0.005);
    expect(wrong.diff / wrong.inter / 3).to.be.greaterThan((3 * diff) / inter / 3);
  });
});

function compare(a: Awaited<ReturnType<Renderer['renderSample']>>, b: Awaited<ReturnType<Renderer['renderSample']>>) {
  const S = a.width;
  {
    let inter = 0, union = 0, diff = 0, ndot = 0;
    for (let p = 0; p < S * S; p++) {
      const ia = a.mask[p] > 0.5, ib = b.mask[p] > 0.5;
      if (ia || ib) union++;
      if (!(ia && ib)) continue;
      inter++;
      for (let c = 0; c < 3; c++) diff += Math.abs(a.modes.albedo![p * 3 + c] - b.modes.albedo![p * 3 + c]);
      ndot += a.modes.normal![p * 3] * b.modes.normal![p * 3] + a.modes.normal![p * 3 + 1] * b.modes.normal![p * 3 + 1] + a.modes.normal![p * 3 + 2] * b.modes.normal![p * 3 + 2];
    }
    return { inter, union, diff, ndot };
  }
}

// Label maps and landmarks of the built-in procedural head and the Lee Perry-Smith scan: the
// maps themselves (deterministic, every class, both sides), the descriptors, and real frontal
// renders (every covered pixel labelled, none off the head, enough classes, the subject's left
// on the image's right, all 68 landmarks visible and on the surface the depth pass saw).
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import sharp from 'sharp';
import { SHARED_ASSETS, resolveAssetPath } from '../renderer/io/asset-roots.js';
import { PROJECT_ROOT } from '../renderer/io/paths.js';
import { SEGMENTATION_LABELS, labelId } from '../renderer/core/labels.js';
import { HeadDescriptorSchema, resolveHead } from '../renderer/assets/head.js';
import { SHAPE_DRAWS, generateProceduralHeadFiles, proceduralRef, sampleProceduralParams } from '../renderer/assets/procedural-head/index.js';
import { landmarksRecord } from '../renderer/develop/landmarks.js';
import { skipBecause } from './support/skip.js';
import type { Renderer as RendererType } from '../renderer/engine/renderer.js';

const LPS_DIR = path.join(PROJECT_ROOT, 'assets', 'heads', 'lee_perry_smith');
const LPS_MESH = resolveAssetPath(path.join(SHARED_ASSETS, 'heads', 'lee_perry_smith', 'LeePerrySmith.glb'));
const HAVE_LPS = fs.existsSync(LPS_MESH);
const KNOWN = new Set(SEGMENTATION_LABELS.map((l) => l.id));
const NAME = new Map(SEGMENTATION_LABELS.map((l) => [l.id, l.name]));

async function labelImage(file: string | Buffer): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  const meta = await sharp(file).metadata();
  const data = await sharp(file).extractChannel(0).raw().toBuffer();
  return { data, width: meta.width!, height: meta.height!, channels: meta.channels! };
}

/** Drawn procedural people the checks also run on: two seeds and the two corners of the shape ranges (every parameter at its low / high end). */
const corner = (end: 'lo' | 'hi') => Object.fromEntries(Object.entries(SHAPE_DRAWS).map(([k, d]) => [k, d[end]]));
const PEOPLE = [
  proceduralRef({ seed: 21, detail: 'low' }),
  proceduralRef({ seed: 24, detail: 'low' }),
  proceduralRef({ seed: 3, detail: 'low', shape: corner('lo') }),
  proceduralRef({ seed: 3, detail: 'low', shape: corner('hi') }),
];

function counts(data: Uint8Array): Map<number, number> {
  const c = new Map<number, number>();
  for (const v of data) c.set(v, (c.get(v) ?? 0) + 1);
  return c;
}

describe('head label maps (no browser)', function () {
  this.timeout(120_000);

  it('procedural: the label map is deterministic, 8-bit ids of every class it paints, both sides in balance', async function () {
    const a = await generateProceduralHeadFiles({ detail: 'low' });
    const b = await generateProceduralHeadFiles({ detail: 'low' });
    expect(Buffer.compare(a.files['labels.png'], b.files['labels.png']), 'same bytes twice').to.equal(0);
    expect(JSON.parse(a.files['head.json'].toString()).landmarks).to.deep.equal(JSON.parse(b.files['head.json'].toString()).landmarks);
    const img = await labelImage(a.files['labels.png']);
    expect(img.channels).to.equal(1);
    expect([img.width, img.height]).to.deep.equal([512, 512]);
    const c = counts(img.data);
    for (const id of c.keys()) expect(KNOWN.has(id), `id ${id}`).to.equal(true);
    for (const n of ['skin', 'nose', 'left_brow', 'right_brow', 'left_ear', 'right_ear', 'upper_lip', 'lower_lip', 'neck']) expect(c.get(labelId(n)) ?? 0, n).to.be.greaterThan(100);
    for (const [l, r] of [['left_brow', 'right_brow'], ['left_ear', 'right_ear']]) {
      expect(c.get(labelId(l))! / c.get(labelId(r))!, `${l}/${r}`).to.be.within(0.9, 1.1);
    }
    // The subject's left (+X) is u > 0.5 in this head's UV layout (u = 0.5 faces +Z, azimuth grows with u).
    let lx = 0, ln = 0, rx = 0, rn = 0;
    for (let p = 0; p < img.data.length; p++) {
      const x = p % img.width;
      if (img.data[p] === labelId('left_brow')) (lx += x), ln++;
      if (img.data[p] === labelId('right_brow')) (rx += x), rn++;
    }
    expect(lx / ln).to.be.greaterThan(img.width / 2);
    expect(rx / rn).to.be.lessThan(img.width / 2);
  });

  it('procedural people (two seeds, the corners of the shape ranges): every class, both sides in balance, landmarks on their own sides', async function () {
    for (const ref of PEOPLE) {
      const f = await generateProceduralHeadFiles({ params: sampleProceduralParams(JSON.parse(ref.slice('procedural:'.length))) });
      const img = await labelImage(f.files['labels.png']);
      const c = counts(img.data);
      for (const id of c.keys()) expect(KNOWN.has(id), `${ref} id ${id}`).to.equal(true);
      for (const n of ['skin', 'nose', 'left_brow', 'right_brow', 'left_ear', 'right_ear', 'upper_lip', 'lower_lip', 'neck']) expect(c.get(labelId(n)) ?? 0, `${ref} ${n}`).to.be.greaterThan(100);
      for (const [l, r] of [['left_brow', 'right_brow'], ['left_ear', 'right_ear']]) {
        expect(c.get(labelId(l))! / c.get(labelId(r))!, `${ref} ${l}/${r}`).to.be.within(0.9, 1.1);
      }
      const lm = JSON.parse(f.files['head.json'].toString()).landmarks as number[][];
      expect(lm).to.have.length(68);
      for (let i = 36; i <= 41; i++) expect(lm[i][0], `${ref} landmark ${i}`).to.be.lessThan(0);
      for (let i = 42; i <= 47; i++) expect(lm[i][0], `${ref} landmark ${i}`).to.be.greaterThan(0);
    }
  });

  it('procedural: the descriptor names labels.png and 68 landmarks that resolve', async function () {
    const h = await resolveHead('procedural');
    expect(h.descriptor.labels).to.deep.equal({ default: 'skin', map: 'labels.png' });
    expect(h.labelFiles?.head).to.match(/labels\.png$/);
    expect(h.descriptor.landmarks).to.have.length(68);
    // Landmarks 36-47 (eyes) in the subject's own sides: the right eye (36-41) at -X.
    const lm = h.descriptor.landmarks!;
    for (let i = 36; i <= 41; i++) expect(lm[i][0], `landmark ${i}`).to.be.lessThan(0);
    for (let i = 42; i <= 47; i++) expect(lm[i][0], `landmark ${i}`).to.be.greaterThan(0);
  });

  it('Lee Perry-Smith: head.json validates (with or without the scan) and its labels.png holds every class, both sides', async function () {
    const d = HeadDescriptorSchema.parse(JSON.parse(fs.readFileSync(path.join(LPS_DIR, 'head.json'), 'utf8')));
    expect(d.labels?.map).to.equal('labels.png');
    expect(d.landmarks).to.have.length(68);
    expect(d.license).to.equal('CC-BY-3.0');
    expect(d.attribution).to.match(/Lee Perry-Smith.*CC BY 3\.0/);
    // Mesh units (scaleToMetres 0.0425): the face spans a few units, the right eye at lower x than the left.
    const lm = d.landmarks!;
    expect(Math.max(...lm.map((p) => Math.abs(p[0])))).to.be.within(1, 3);
    expect(lm[36][0]).to.be.lessThan(lm[45][0]);
    const img = await labelImage(path.join(LPS_DIR, 'labels.png'));
    expect(img.channels).to.equal(1);
    expect(fs.statSync(path.join(LPS_DIR, 'labels.png')).size).to.be.below(64 * 1024);
    const c = counts(img.data);
    for (const id of c.keys()) expect(KNOWN.has(id), `id ${id}`).to.equal(true);
    for (const n of ['skin', 'nose', 'left_brow', 'right_brow', 'left_ear', 'right_ear', 'upper_lip', 'lower_lip', 'neck']) expect(c.get(labelId(n)) ?? 0, n).to.be.greaterThan(200);
    for (const [l, r] of [['left_brow', 'right_brow'], ['left_ear', 'right_ear']]) {
      expect(c.get(labelId(l))! / c.get(labelId(r))!, `${l}/${r}`).to.be.within(0.7, 1.4);
    }
  });
});

describe('head label maps and landmarks: rendered (real Chromium + WebGL)', function () {
  this.timeout(600_000);
  let renderer: RendererType | undefined;

  before(async function () {
    const { Renderer } = await import('../renderer/engine/renderer.js');
    renderer = await Renderer.launch({});
  });
  after(async function () {
    await renderer?.close();
  });

  /** A frontal render of `head`: the checks of the brief; returns what it measured for the log. */
  async function frontal(head: string, minClasses: number, distance = 0.6): Promise<{ classes: string[]; maxDepthErrorMm: number }> {
    const { parseSampleSpec } = await import('../renderer/core/spec.js');
    const { getPass } = await import('../renderer/develop/passes/index.js');
    const S = 256;
    const spec = parseSampleSpec({
      head,
      width: S,
      height: S,
      camera: { yawDeg: 0, pitchDeg: 0, distance, fovYDeg: 25 },
      lighting: { environment: [{ map: 'builtin:studio', intensity: 1 }] },
      passes: ['beauty', 'mask', 'depth', 'segmentation'],
      render: { envVisibility: false },
    });
    const s = await renderer!.renderSample(spec);
    const depth = s.modes.depth!;
    // What segmentation.png holds (the pass's own encoding, read back).
    const [file] = await getPass('segmentation').encode({ width: S, height: S, camera: s.camera, modes: s.modes, mask: s.mask, background: null, output: { exrPixelType: 'half', exrCompression: 'zip', previewExposure: 'auto' } });
    const png = await sharp(file.bytes).extractChannel(0).raw().toBuffer();
    const classes = new Set<number>();
    let unlabelled = 0;
    let offHead = 0;
    const sumX = new Map<number, [number, number]>();
    for (let p = 0; p < S * S; p++) {
      const id = png[p];
      if (s.mask[p] >= 0.99 && id === 0) unlabelled++;
      if (s.mask[p] === 0 && id !== 0) offHead++;
      if (id) {
        classes.add(id);
        const e = sumX.get(id) ?? [0, 0];
        sumX.set(id, [e[0] + (p % S), e[1] + 1]);
      }
    }
    expect(unlabelled, 'covered pixels without a class').to.equal(0);
    expect(offHead, 'labels off the head').to.equal(0);
    const names = [...classes].sort((a, b) => a - b).map((id) => NAME.get(id)!);
    expect(classes.size, `classes ${names.join(', ')}`).to.be.at.least(minClasses);
    // The camera at +Z looks at the face: the subject's left is on the image's right.
    const cx = (n: string) => {
      const e = sumX.get(labelId(n));
      expect(e, `${n} in view`).to.not.equal(undefined);
      return e![0] / e![1];
    };
    expect(cx('left_brow'), 'left brow right of the right brow').to.be.greaterThan(cx('right_brow'));
    if (sumX.has(labelId('left_ear')) && sumX.has(labelId('right_ear'))) expect(cx('left_ear')).to.be.greaterThan(cx('right_ear'));
    // Landmarks: all 68 visible, each on the surface the depth pass saw (the nearest covered
    // pixel of its 3x3 neighbourhood within 3 mm plus what the surface's slope spans over 1.5 pixels).
    expect(s.landmarks, 'the head carries landmarks').to.have.length(68);
    const rec = landmarksRecord(s.landmarks!, s.camera, depth);
    expect(rec.visible.filter(Boolean).length, 'frontal: all 68 visible').to.equal(68);
    const at = (xx: number, yy: number) => (xx >= 0 && yy >= 0 && xx < S && yy < S ? depth[yy * S + xx] : 0);
    let worst = 0;
    for (let i = 0; i < 68; i++) {
      const [x, y] = rec.points[i];
      let best = Infinity;
      let slope = 0;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const xx = Math.floor(x) + dx;
          const yy = Math.floor(y) + dy;
          const d = at(xx, yy);
          if (d <= 0) continue;
          best = Math.min(best, Math.abs(d - rec.distance[i]));
          if (at(xx + 1, yy) > 0) slope = Math.max(slope, Math.abs(at(xx + 1, yy) - d));
          if (at(xx, yy + 1) > 0) slope = Math.max(slope, Math.abs(at(xx, yy + 1) - d));
        }
      }
      slope = Math.min(slope, 0.005);
      expect(best, `landmark ${i} depth error (m), slope ${slope}`).to.be.lessThan(0.003 + 1.5 * slope);
      worst = Math.max(worst, best);
    }
    // The convention's layout in the image: brows above the eyes above the nose tip above the
    // mouth above the chin; the jaw runs from the image's left (the subject's right) to its right.
    const y = (i: number) => rec.points[i][1];
    const x = (i: number) => rec.points[i][0];
    expect(y(19)).to.be.lessThan(y(37));
    expect(y(24)).to.be.lessThan(y(44));
    expect(y(37)).to.be.lessThan(y(30));
    expect(y(30)).to.be.lessThan(y(33));
    expect(y(33)).to.be.lessThan(y(51));
    expect(y(51)).to.be.lessThan(y(57));
    expect(y(57)).to.be.lessThan(y(8));
    expect(x(0)).to.be.lessThan(x(8));
    expect(x(8)).to.be.lessThan(x(16));
    expect(x(36)).to.be.lessThan(x(39));
    expect(x(39)).to.be.lessThan(x(42));
    expect(x(42)).to.be.lessThan(x(45));
    expect(x(48)).to.be.lessThan(x(54));
    return { classes: names, maxDepthErrorMm: worst * 1000 };
  }

  it('procedural, frontal: every covered pixel labelled, >= 6 classes, sides right, 68 landmarks on the surface', async function () {
    const r = await frontal('procedural', 6);
    console.log(`      procedural: ${r.classes.length} classes (${r.classes.join(', ')}), landmark depth error <= ${r.maxDepthErrorMm.toFixed(2)} mm`);
  });

  it('procedural people (two seeds, the corners of the shape ranges), frontal: the same checks', async function () {
    const rows: string[] = [];
    for (const ref of PEOPLE) {
      // A little farther: the largest corner (0.3 m crown to neck) fills the frame at 0.6 m.
      const r = await frontal(ref, 6, 0.7);
      rows.push(`${ref.length > 60 ? `${ref.slice(0, 57)}...` : ref}: ${r.classes.length} classes, landmark depth error <= ${r.maxDepthErrorMm.toFixed(2)} mm`);
    }
    console.log(`      ${rows.join('\n      ')}`);
  });

  it('Lee Perry-Smith, frontal: every covered pixel labelled, >= 7 classes, sides right, 68 landmarks on the surface', async function () {
    if (!HAVE_LPS) skipBecause(this, `the Lee Perry-Smith scan is not in ../shared/assets (${LPS_MESH})`);
    const r = await frontal(LPS_DIR, 7);
    console.log(`      Lee Perry-Smith: ${r.classes.length} classes (${r.classes.join(', ')}), landmark depth error <= ${r.maxDepthErrorMm.toFixed(2)} mm`);
  });
});

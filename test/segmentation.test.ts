// Semantic parsing pass (segmentation.png) and the 68 landmarks: the label table, the ICT label
// maps, label maps in head descriptors (bad input named), and real renders: every covered pixel
// labelled, nothing labelled off the head, >= 8 classes on a frontal ICT face, landmarks on the
// rendered surface (depth pass) and hidden ones marked.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import sharp from 'sharp';
import { SHARED_ASSETS } from '../renderer/io/asset-roots.js';
import { SEGMENTATION_LABELS, labelId } from '../renderer/core/labels.js';
import { resolveHead } from '../renderer/assets/head.js';
import { landmarksRecord, projectPoint } from '../renderer/develop/landmarks.js';
import { resolveCamera } from '../renderer/core/camera.js';
import { skipBecause } from './support/skip.js';

const ICT_DIR = path.join(SHARED_ASSETS, 'heads', 'ict_facekit');
const HAVE_ICT = fs.existsSync(path.join(ICT_DIR, 'generic_neutral_mesh.obj.gz'));

describe('segmentation labels (no browser)', function () {
  it('the table has unique ids and names, FaceSynthetics ids 0-14, coarse classes that exist', function () {
    const ids = SEGMENTATION_LABELS.map((l) => l.id);
    expect(new Set(ids).size).to.equal(ids.length);
    expect(new Set(SEGMENTATION_LABELS.map((l) => l.name)).size).to.equal(ids.length);
    for (const l of SEGMENTATION_LABELS) {
      expect(ids, `${l.name} coarse`).to.include(l.coarse);
      expect(l.id).to.be.within(0, 255);
    }
    expect(labelId('background')).to.equal(0);
    expect(labelId('skin')).to.equal(1);
    expect(labelId('neck')).to.equal(12);
    expect(() => labelId('tail')).to.throw(/unknown segmentation label "tail"/);
  });

  it('projects like the camera model: the target lands on the principal point', function () {
    const cam = resolveCamera({ yawDeg: 20, pitchDeg: 10, rollDeg: 0, distance: 0.7, fovYDeg: 25, target: [0, 0.02, 0], width: 200, height: 100 });
    const q = projectPoint(cam, [0, 0.02, 0]);
    expect(q.x).to.be.closeTo(100, 1e-9);
    expect(q.y).to.be.closeTo(50, 1e-9);
    expect(q.distance).to.be.closeTo(0.7, 1e-12);
    // A point above the target is higher in the image (smaller y); behind the camera: not visible.
    expect(projectPoint(cam, [0, 0.05, 0]).y).to.be.lessThan(50);
    const rec = landmarksRecord([[0, 0.02, 0], [0, 0, 5]], cam, null);
    expect(rec.visible).to.deep.equal([true, false]);
    expect(rec.depthTested).to.equal(false);
  });

  it('head descriptors: a label map with unknown ids, in colour or missing, and an unknown class, are named', async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vls-labels-'));
    try {
      // A minimal valid head: the procedural head's files (baseDir), label maps next to head.json.
      const proc = await resolveHead('procedural');
      const base = path.dirname(proc.descriptorPath);
      const write = (extra: object) => {
        const d = { ...JSON.parse(fs.readFileSync(proc.descriptorPath, 'utf8')), baseDir: base, ...extra };
        fs.writeFileSync(path.join(dir, 'head.json'), JSON.stringify(d));
      };
      const fail = async () => {
        try {
          await resolveHead(dir);
        } catch (e) {
          return (e as Error).message;
        }
        return '';
      };
      const grey = (v: number) => sharp(Buffer.alloc(16 * 16, v), { raw: { width: 16, height: 16, channels: 1 } }).toColourspace('b-w').png().toFile(path.join(dir, `_t${v}.png`));
      await grey(200);
      await grey(2);
      await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 1, g: 2, b: 3 } } }).png().toFile(path.join(dir, '_rgb.png'));
      try {
        write({ labels: { map: '_t200.png' } });
        expect(await fail()).to.match(/labels\.map .*_t200\.png holds unknown label ids 200/);
        write({ labels: { map: '_rgb.png' } });
        expect(await fail()).to.match(/labels\.map .*_rgb\.png must be an 8-bit single-channel image/);
        write({ labels: { map: '_missing.png' } });
        expect(await fail()).to.match(/labels\.map file .*_missing\.png .*does not exist/);
        write({ labels: { default: 'tail' } });
        expect(await fail()).to.match(/labels\.default/);
        write({ labels: { map: '_t2.png' } });
        const ok = await resolveHead(dir);
        expect(ok.labelFiles?.head).to.match(/_t2\.png$/);
      } finally {
        for (const f of ['_t200.png', '_t2.png', '_rgb.png']) fs.rmSync(path.join(dir, f), { force: true });
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('ICT label maps (no browser)', function () {
  before(function () {
    if (!HAVE_ICT) skipBecause(this, `ICT face model not found at ${ICT_DIR}`);
  });

  it('the skin atlas holds every skin class, both sides; the eye maps hold iris and sclera', async function () {
    const { loadIctModel } = await import('../renderer/assets/ict/index.js');
    const { buildIctSkinLabels, buildIctEyeLabels } = await import('../renderer/assets/ict/labels.js');
    const m = loadIctModel();
    const a = buildIctSkinLabels(m, 256);
    const b = buildIctSkinLabels(m, 256);
    expect(Buffer.from(a).equals(Buffer.from(b))).to.equal(true);
    const count = new Map<number, number>();
    for (const v of a) count.set(v, (count.get(v) ?? 0) + 1);
    for (const n of ['skin', 'nose', 'left_brow', 'right_brow', 'left_ear', 'right_ear', 'upper_lip', 'lower_lip', 'neck', 'mouth_interior']) {
      expect(count.get(labelId(n)) ?? 0, n).to.be.greaterThan(50);
    }
    // Left and right in balance (the model is near-symmetric).
    for (const [l, r] of [['left_brow', 'right_brow'], ['left_ear', 'right_ear']]) {
      const ratio = count.get(labelId(l))! / count.get(labelId(r))!;
      expect(ratio, `${l}/${r}`).to.be.within(0.8, 1.25);
    }
    const eye = buildIctEyeLabels(64, 'left');
    expect(new Set(eye)).to.deep.equal(new Set([labelId('left_iris'), labelId('left_eye')]));
  });
});

describe('segmentation and landmarks: rendered (real Chromium + WebGL)', function () {
  this.timeout(600_000);
  before(function () {
    if (!HAVE_ICT) skipBecause(this, `ICT face model not found at ${ICT_DIR}`);
  });

  it('frontal ICT: every covered pixel labelled, none off the head, >= 8 classes; landmarks on the surface', async function () {
    const { Renderer } = await import('../renderer/engine/renderer.js');
    const { parseSampleSpec } = await import('../renderer/core/spec.js');
    const renderer = await Renderer.launch({});
    try {
      const S = 256;
      const views = [
        { yawDeg: 0, pitchDeg: 0 },
        { yawDeg: 65, pitchDeg: 5 },
      ];
      for (const v of views) {
        const spec = parseSampleSpec({
          head: 'ict:{"seed":21,"textureSize":512,"expressions":{"neutral":1}}',
          width: S,
          height: S,
          camera: { ...v, distance: 0.6, fovYDeg: 25 },
          lighting: { environment: [{ map: 'builtin:studio', intensity: 1 }] },
          passes: ['beauty', 'mask', 'depth', 'segmentation'],
          render: { envVisibility: false },
        });
        const s = await renderer.renderSample(spec);
        const depth = s.modes.depth!;
        // What segmentation.png holds (the pass's own encoding, read back).
        const { getPass } = await import('../renderer/develop/passes/index.js');
        const [file] = await getPass('segmentation').encode({ width: S, height: S, camera: s.camera, modes: s.modes, mask: s.mask, background: null, output: { exrPixelType: 'half', exrCompression: 'zip', previewExposure: 'auto' } });
        const png = await sharp(file.bytes).extractChannel(0).raw().toBuffer();
        const raw = s.modes.label!;
        const classes = new Set<number>();
        let unlabelled = 0;
        let offHead = 0;
        let filled = 0;
        for (let p = 0; p < S * S; p++) {
          const id = png[p];
          expect(Math.abs(raw[p] - Math.round(raw[p]))).to.be.lessThan(1e-3);
          if (s.mask[p] >= 0.99 && id === 0) unlabelled++;
          if (s.mask[p] === 0 && id !== 0) offHead++;
          // One surface per pixel: a class exactly where the depth pass sees the head, but for
          // the few covered pixels whose centre missed (filled from their neighbours).
          if (id !== 0 && depth[p] === 0) {
            expect(s.mask[p], `pixel ${p}: label ${id} without depth`).to.be.at.least(0.99);
            filled++;
          }
          if (id === 0) expect(depth[p], `pixel ${p}: depth without a label`).to.equal(0);
          classes.add(id);
        }
        expect(filled, 'filled pixels').to.be.at.most(8);
        expect(unlabelled, `${v.yawDeg} deg: covered pixels without a class`).to.equal(0);
        expect(offHead, `${v.yawDeg} deg: labels off the head`).to.equal(0);
        if (v.yawDeg === 0) {
          expect(classes.size - 1, `classes ${[...classes].join(',')}`).to.be.at.least(8);
          for (const n of ['skin', 'nose', 'left_eye', 'right_eye', 'left_brow', 'right_brow', 'upper_lip', 'lower_lip', 'neck']) expect(classes, n).to.include(labelId(n));
        }
        // Landmarks: projected with the frame's camera and tested against the depth pass.
        expect(s.landmarks, 'ICT heads carry landmarks').to.have.length(68);
        const rec = landmarksRecord(s.landmarks!, s.camera, depth);
        let visible: number;
        visible = rec.visible.filter(Boolean).length;
        // Frontal (every landmark in view): each lies on the surface the depth pass saw.
        for (let i = 0; i < 68 && v.yawDeg === 0; i++) {
          const [x, y] = rec.points[i];
          // The nearest covered pixel of the 3x3 neighbourhood (a jaw point can sit on the
          // silhouette), within 3 mm plus what the surface's slope spans over 1.5 pixels.
          let best = Infinity;
          let slope = 0;
          const at = (xx: number, yy: number) => depth[yy * S + xx];
          for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
            const xx = Math.floor(x) + dx;
            const yy = Math.floor(y) + dy;
            const d = at(xx, yy);
            if (d <= 0) continue;
            best = Math.min(best, Math.abs(d - rec.distance[i]));
            if (at(xx + 1, yy) > 0) slope = Math.max(slope, Math.abs(at(xx + 1, yy) - d));
            if (at(xx, yy + 1) > 0) slope = Math.max(slope, Math.abs(at(xx, yy + 1) - d));
          }
          slope = Math.min(slope, 0.005);
          expect(best, `landmark ${i} depth error (m), slope ${slope}`).to.be.lessThan(0.003 + 1.5 * slope);
        }
        if (v.yawDeg === 0) expect(visible, 'frontal: all 68 visible').to.equal(68);
        else {
          // Turned 65 deg toward +X (the subject's left): the right jaw line (0-3) is behind the face.
          expect(visible).to.be.within(40, 67);
          expect(rec.visible.slice(0, 3)).to.deep.equal([false, false, false]);
        }
      }
    } finally {
      await renderer.close();
    }
  });
});

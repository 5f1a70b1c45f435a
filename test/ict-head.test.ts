// The ICT head source (renderer/assets/ict/): determinism, plausibility over 1,000 sampled
// identities, skin-tone range, bad input, one real render and a contact sheet.
// Needs ../shared/assets/heads/ict_facekit (skipped with the reason when it is missing).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { expect } from 'chai';
import sharp from 'sharp';
import { PROJECT_ROOT } from '../renderer/io/paths.js';
import { SHARED_ASSETS } from '../renderer/io/asset-roots.js';
import {
  buildIctHead,
  checkIctGeometry,
  cheekAlbedo,
  clearIctModelMemo,
  deformIct,
  generateIctHeadFiles,
  generateIctLookFiles,
  ictIpdCm,
  itaDeg,
  loadIctModel,
  sampleIctParams,
  seatIctEyes,
  ICT_RANGES,
  ictRef,
  irisColourWeights,
} from '../renderer/assets/ict/index.js';
import { SampleRecordSchema, HeadParamsRecordSchema } from '../renderer/dataset/records.js';
import { sampleHeadRecord } from '../renderer/dataset/sample-record.js';
import { IPD_MODES_CM, IPD_NEUTRAL_CM } from '../renderer/assets/ict/eye-basis.js';
import { ICT_EXPRESSIONS } from '../renderer/assets/ict/manifest.js';
import { meanOf } from '../renderer/assets/ict/mesh.js';
import { resolveHead } from '../renderer/assets/head.js';
import { parseBatchConfig } from '../renderer/pipelines/batch/config.js';
import { planSample } from '../renderer/pipelines/batch/plan.js';
import { parseGlb } from '../renderer/io/gltf-write.js';
import { skipBecause } from './support/skip.js';

const ICT_DIR = path.join(SHARED_ASSETS, 'heads', 'ict_facekit');
const HAVE_ICT = fs.existsSync(path.join(ICT_DIR, 'generic_neutral_mesh.obj.gz'));
const ARTEFACTS = path.join(PROJECT_ROOT, 'output', 'test-artefacts');

function needIct(ctx: Mocha.Context): void {
  if (!HAVE_ICT) skipBecause(ctx, `ICT face model not found at ${ICT_DIR}`);
}

describe('ICT head source: options and schema (no files)', function () {
  it('the config schema refuses weights outside the model range with the field path', function () {
    const err = (raw: unknown) => {
      try {
        parseBatchConfig(raw);
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    };
    expect(err({ heads: [{ source: 'ict', expressions: { fixed: { jawOpen: 1.5 } } }] })).to.contain('field "heads.0.expressions.fixed.jawOpen"');
    expect(err({ heads: ['procedural', { source: 'ict', identity: [0, 0, 9] }] })).to.contain('field "heads.1.identity.2"');
    expect(err({ heads: [{ source: 'ict', sigma: -1 }] })).to.contain('field "heads.0.sigma"');
    expect(err({ heads: [{ source: 'ict', expressions: { fixed: { notAShape: 0.5 } } }] })).to.contain('heads.0.expressions.fixed');
    expect(err({ heads: ['ict:{"sigma":7}'] })).to.contain('field "sigma"');
  });

  it('the same seed draws the same weights; the plan records them per sample', function () {
    const a = sampleIctParams({ seed: 42 });
    expect(sampleIctParams({ seed: 42 })).to.deep.equal(a);
    expect(sampleIctParams({ seed: 43 }).identity).to.not.deep.equal(a.identity);
    expect(a.identity).to.have.length(100);
    for (const w of Object.values(a.expressions)) expect(w).to.be.within(0, 1);
    const c = parseBatchConfig({ heads: [{ source: 'ict', sigma: 0.8 }], envMaps: ['builtin:studio'] });
    const p0 = planSample(c, 0);
    const p1 = planSample(c, 1);
    expect(p0.head).to.match(/^ict:\{/);
    expect(p0.head).to.not.equal(p1.head);
    expect((p0.headParams as { identity?: number[] } | undefined)?.identity).to.have.length(100);
    expect(p0.lightings[0].spec.head).to.equal(p0.head);
    expect(planSample(c, 0)).to.deep.equal(p0);
  });

  it('skin tones: the cheek albedo ITA over 1,000 draws spans > 55 deg to < -30 deg', function () {
    let lo = Infinity;
    let hi = -Infinity;
    for (let s = 0; s < 1000; s++) {
      const ita = itaDeg(...(cheekAlbedo(sampleIctParams({ seed: s }).skin) as [number, number, number]));
      lo = Math.min(lo, ita);
      hi = Math.max(hi, ita);
    }
    console.log(`      ITA over 1,000 skin draws: ${lo.toFixed(1)} .. ${hi.toFixed(1)} deg`);
    expect(hi).to.be.greaterThan(55);
    expect(lo).to.be.lessThan(-30);
  });
});

describe('ICT head source: eyes, records, fallback (no files)', function () {
  it('iris colours: brown most common, then blue, hazel, green, grey; dark skin almost always brown', function () {
    const n: Record<string, number> = {};
    let darkBrown = 0;
    let dark = 0;
    for (let s = 0; s < 2000; s++) {
      const p = sampleIctParams({ seed: s });
      n[p.eyes.colour] = (n[p.eyes.colour] ?? 0) + 1;
      if (p.skin.tone > 0.7) {
        dark++;
        if (p.eyes.colour === 'brown') darkBrown++;
      }
    }
    console.log(`      iris colours over 2,000 draws: ${JSON.stringify(n)}`);
    expect(n.brown / 2000).to.be.within(0.6, 0.9);
    expect(n.blue).to.be.greaterThan(n.hazel);
    expect(n.hazel).to.be.greaterThan(n.green);
    for (const c of ['green', 'grey']) expect(n[c], c).to.be.greaterThan(20);
    expect(darkBrown / dark).to.be.greaterThan(0.95);
    const w = irisColourWeights(0);
    expect(Object.values(w).reduce((a, b) => a + b, 0)).to.be.closeTo(1, 1e-12);
  });

  it('sample.json head.params: the draw validates and is recorded; other heads are unchanged', function () {
    const params = sampleIctParams({ seed: 5 });
    expect(HeadParamsRecordSchema.safeParse(params).success).to.equal(true);
    const head = { descriptor: { id: 'ict-x', name: 'n', license: 'MIT', attribution: 'a' }, contentHash: 'h' };
    const rec = sampleHeadRecord('ict:5', head, params);
    expect(rec.params).to.deep.equal(params);
    const plain = sampleHeadRecord('procedural', head);
    expect(Object.keys(plain)).to.deep.equal(['ref', 'id', 'name', 'contentHash', 'license', 'attribution']);
    expect(HeadParamsRecordSchema.safeParse({ ...params, blink: 2 }).success).to.equal(false);
    expect(SampleRecordSchema.shape.head.safeParse({ ...plain, params: { ...params, identity: 'x' } }).success).to.equal(false);
  });

  it("fallback: 'procedural' is taken only without the model files", function () {
    expect(ictRef({ fallback: 'procedural' }, () => false)).to.equal('procedural:{}');
    expect(ictRef({ fallback: 'procedural', seed: 5 }, () => false)).to.equal('procedural:5');
    expect(ictRef({ fallback: 'procedural', sigma: 0.5 }, () => true)).to.equal('ict:{"sigma":0.5}');
    expect(ictRef({ sigma: 0.5 }, () => false)).to.equal('ict:{"sigma":0.5}'); // no fallback: the render names the missing file
    const c = parseBatchConfig({ heads: [{ source: 'ict', fallback: 'procedural', textureSize: 512 }] });
    expect(c.heads[0]).to.equal(HAVE_ICT ? 'ict:{"textureSize":512}' : 'procedural:{}');
    const d = parseBatchConfig(JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'scenes', 'default.json'), 'utf8')));
    expect(d.heads[0]).to.equal(HAVE_ICT ? 'ict:{"textureSize":512}' : 'procedural:{}');
  });
});

describe('ICT head source: the model files', function () {
  this.timeout(180_000);
  before(function () {
    needIct(this);
  });

  it('loads the model (53 expressions, 100 modes) and the generated IPD basis matches it', function () {
    const m = loadIctModel();
    expect(m.identities).to.have.length(100);
    for (const e of ICT_EXPRESSIONS) expect(m.shapes.has(e), e).to.equal(true);
    const names = JSON.parse(fs.readFileSync(path.join(ICT_DIR, 'vertex_indices.json'), 'utf8')).expressions;
    expect([...ICT_EXPRESSIONS]).to.deep.equal(names);
    const d = (p: Float32Array) => {
      const l = meanOf(p, ICT_RANGES.scleraL);
      const r = meanOf(p, ICT_RANGES.scleraR);
      return [l[0] - r[0], l[1] - r[1], l[2] - r[2]];
    };
    d(m.neutral).forEach((v, k) => expect(v).to.be.closeTo(IPD_NEUTRAL_CM[k], 1e-4));
    for (let i = 0; i < 100; i += 9) d(m.identities[i]).forEach((v, k) => expect(v).to.be.closeTo(IPD_MODES_CM[i][k], 1e-4));
  });

  it('a missing or corrupt ICT file is named', async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vls-ict-'));
    try {
      for (const f of fs.readdirSync(ICT_DIR)) fs.symlinkSync(path.join(ICT_DIR, f), path.join(dir, f));
      fs.rmSync(path.join(dir, 'identity050.obj.gz'));
      expect(() => loadIctModel({ dir, noDiskCache: true })).to.throw(/identity050\.obj\.gz is missing/);
      fs.symlinkSync(path.join(ICT_DIR, 'identity050.obj.gz'), path.join(dir, 'identity050.obj.gz'));
      // Corrupt the neutral (parsed first): bad gzip, then valid gzip of the wrong bytes.
      fs.rmSync(path.join(dir, 'generic_neutral_mesh.obj.gz'));
      fs.writeFileSync(path.join(dir, 'generic_neutral_mesh.obj.gz'), Buffer.from('not gzip'));
      expect(() => loadIctModel({ dir, noDiskCache: true })).to.throw(/generic_neutral_mesh\.obj\.gz is corrupt/);
      fs.writeFileSync(path.join(dir, 'generic_neutral_mesh.obj.gz'), zlib.gzipSync(Buffer.from('v 0 0 0\n')));
      expect(() => loadIctModel({ dir, noDiskCache: true })).to.throw(/generic_neutral_mesh\.obj\.gz is corrupt: its decompressed SHA-256/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a missing model folder fails with the file named, and the procedural head keeps working', async function () {
    const err = (() => {
      try {
        loadIctModel({ dir: path.join(os.tmpdir(), 'no-such-ict-folder') });
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })();
    expect(err).to.match(/generic_neutral_mesh\.obj\.gz is missing/);
    const proc = await resolveHead('procedural');
    expect(proc.descriptor.id).to.match(/^procedural/);
  });

  it('1,000 sampled identities: finite, IPD 5.5-7.5 cm, eyeballs in their sockets, no teeth in front of the lips', function () {
    const m = loadIctModel();
    let ipdLo = Infinity;
    let ipdHi = -Infinity;
    let seated = 0;
    const t0 = performance.now();
    for (let s = 0; s < 1000; s++) {
      const pr = sampleIctParams({ seed: s });
      const p = deformIct(m, pr.identity, {}); // neutral expression
      const l = meanOf(p, ICT_RANGES.scleraL);
      const rr = meanOf(p, ICT_RANGES.scleraR);
      // The basis is exact (eye centres are linear in the weights) before the eyes are seated.
      expect(Math.abs(Math.hypot(l[0] - rr[0], l[1] - rr[1], l[2] - rr[2]) - ictIpdCm(pr.identity)), `seed ${s} IPD basis`).to.be.lessThan(1e-3);
      const shift = seatIctEyes(p);
      if (shift[0] + shift[1] > 0) seated++;
      const r = checkIctGeometry(p);
      expect(r.finite, `seed ${s} finite`).to.equal(true);
      expect(r.ipdM, `seed ${s} IPD`).to.be.within(0.055, 0.075);
      expect(r.eyeOutside, `seed ${s} eyeball vertices outside the socket hull`).to.deep.equal([0, 0]);
      expect(r.teethInFront, `seed ${s} teeth in front of the lips`).to.equal(0);
      ipdLo = Math.min(ipdLo, r.ipdM);
      ipdHi = Math.max(ipdHi, r.ipdM);
    }
    console.log(`      IPD ${(ipdLo * 100).toFixed(2)}-${(ipdHi * 100).toFixed(2)} cm; ${seated} of 1000 needed their eyes seated; ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  });

  it('same seed -> byte-identical GLB and textures; the mesh is framed like the procedural head', async function () {
    const m = loadIctModel();
    const pr = sampleIctParams({ seed: 7, textureSize: 256 });
    const t0 = performance.now();
    const a = generateIctHeadFiles(pr, m, 'look');
    const meshMs = performance.now() - t0;
    const b = generateIctHeadFiles(sampleIctParams({ seed: 7, textureSize: 256 }), m, 'look');
    expect(a.files['head.glb'].equals(b.files['head.glb'])).to.equal(true);
    expect(a.files['head.json'].equals(b.files['head.json'])).to.equal(true);
    const la = await generateIctLookFiles(pr, m);
    const lb = await generateIctLookFiles(sampleIctParams({ seed: 7, textureSize: 256 }), m);
    for (const k of Object.keys(la) as (keyof typeof la)[]) expect(la[k].equals(lb[k]), k).to.equal(true);
    const g = parseGlb(a.files['head.glb']);
    expect(g.json.meshes.map((x: { name: string }) => x.name)).to.include.members(['ict_skin', 'ict_eye_L', 'ict_eye_R', 'ict_teeth', 'ict_mouth', 'ict_lashes']);
    // Lashes: an RGBA strand texture with both covered and empty texels.
    const lashes = await sharp(la['lashes.png']).raw().toBuffer({ resolveWithObject: true });
    expect(lashes.info.channels).to.equal(4);
    let on = 0;
    for (let i = 3; i < lashes.data.length; i += 4) if (lashes.data[i] > 128) on++;
    expect(on / (lashes.data.length / 4)).to.be.within(0.01, 0.3);
    const h = buildIctHead(pr, m);
    expect((h.eyeCentres[0][1] + h.eyeCentres[1][1]) / 2).to.be.closeTo(0.027, 1e-6);
    expect(h.bboxMax[2]).to.be.within(0.09, 0.14); // nose tip in front, like the procedural head's 0.111
    console.log(`      mesh build + GLB: ${meshMs.toFixed(0)} ms`);
  });
});

describe('ICT head source: rendered (real Chromium + WebGL)', function () {
  this.timeout(600_000);
  before(function () {
    needIct(this);
  });

  it('renders 16 distinct people: the mask covers the face, eyes read as eyes (sclera light, iris darker), no grey shells; contact sheet', async function () {
    const { Renderer } = await import('../renderer/engine/renderer.js');
    const { parseSampleSpec } = await import('../renderer/core/spec.js');
    const { tonemapToSrgb8 } = await import('../renderer/core/color.js');
    const { labelId } = await import('../renderer/core/labels.js');
    const renderer = await Renderer.launch({});
    const S = 192;
    const tiles: Buffer[] = [];
    const identities = new Set<string>();
    const eyes: string[] = [];
    try {
      for (let seed = 11; seed < 27; seed++) {
        // Mostly non-neutral expressions, so the sheet shows them; eyes open (no drawn blink).
        const head = `ict:{"expressions":{"neutral":0.15},"blink":{"probability":0},"seed":${seed},"textureSize":256}`;
        identities.add(JSON.stringify(sampleIctParams(JSON.parse(head.slice(4))).identity));
        const spec = parseSampleSpec({
          head,
          width: S,
          height: S,
          camera: { yawDeg: 12, pitchDeg: 0, distance: 0.7, fovYDeg: 25 },
          // The studio map's brightest source is above and behind the head (a hair light: it
          // whitens the scalp); turned 180 deg it is a frontal key from above.
          lighting: { environment: [{ map: 'builtin:studio', rotationDeg: 180, intensity: 0.5 }], pointLights: [{ position: [0.4, 0.3, 0.5], color: [1, 0.95, 0.9], intensity: 0.25 }] },
          passes: ['beauty', 'albedo', 'mask', 'segmentation'],
          render: { envVisibility: false },
        });
        const s = await renderer.renderSample(spec);
        const beauty = s.modes.beauty!;
        for (const v of beauty) expect(Number.isFinite(v)).to.equal(true);
        // Mask over the face: the centre third of the frame (eyes, nose, mouth) fully covered.
        let covered = 0;
        let n = 0;
        for (let y = Math.floor(S * 0.35); y < Math.floor(S * 0.75); y++) {
          for (let x = Math.floor(S * 0.38); x < Math.floor(S * 0.62); x++) {
            n++;
            if (s.mask[y * S + x] > 0.99) covered++;
          }
        }
        expect(covered / n, `seed ${seed} face coverage`).to.be.greaterThan(0.98);
        // Eyes: both scleras and irises seen (no shell in front of them), sclera albedo light and
        // the iris darker than it (luminance of the albedo pass over each class's pixels).
        const lab = s.modes.label!;
        const alb = s.modes.albedo!;
        const mean = (ids: number[]) => {
          let sum = 0;
          let k = 0;
          for (let p = 0; p < S * S; p++) {
            if (!ids.includes(Math.round(lab[p]))) continue;
            sum += 0.2126 * alb[p * 3] + 0.7152 * alb[p * 3 + 1] + 0.0722 * alb[p * 3 + 2];
            k++;
          }
          return { k, y: k ? sum / k : NaN };
        };
        const sclera = mean([labelId('left_eye'), labelId('right_eye')]);
        const iris = mean([labelId('left_iris'), labelId('right_iris')]);
        eyes.push(`${seed}: sclera ${sclera.k} px Y ${sclera.y.toFixed(2)}, iris ${iris.k} px Y ${iris.y.toFixed(2)}`);
        expect(sclera.k, `seed ${seed} sclera pixels`).to.be.greaterThan(4);
        expect(iris.k, `seed ${seed} iris pixels`).to.be.greaterThan(4);
        expect(sclera.y, `seed ${seed} sclera albedo`).to.be.greaterThan(0.3);
        expect(iris.y, `seed ${seed} iris darker than the sclera`).to.be.lessThan(0.8 * sclera.y);
        const st = beauty.length / (S * S);
        const rgb = new Float32Array(S * S * 3);
        for (let i = 0; i < S * S; i++) for (let c = 0; c < 3; c++) rgb[i * 3 + c] = beauty[i * st + c];
        tiles.push(Buffer.from(tonemapToSrgb8(rgb, 3)));
      }
    } finally {
      await renderer.close();
    }
    console.log(`      ${eyes.join('\n      ')}`);
    expect(identities.size, '16 distinct identities').to.equal(16);
    fs.mkdirSync(ARTEFACTS, { recursive: true });
    await sharp({ create: { width: S * 4, height: S * 4, channels: 3, background: { r: 0, g: 0, b: 0 } } })
      .composite(tiles.map((t, i) => ({ input: t, raw: { width: S, height: S, channels: 3 as const }, left: (i % 4) * S, top: Math.floor(i / 4) * S })))
      .png()
      .toFile(path.join(ARTEFACTS, 'ict-contact.png'));
  });

  after(function () {
    clearIctModelMemo();
  });
});

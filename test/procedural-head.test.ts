import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import sharp from 'sharp';
import { encodeGlb, parseGlb, readAccessor } from '../renderer/io/gltf-write.js';
import {
  HEAD_FILES,
  NEUTRAL_SHAPE_PARAMS,
  SHAPE_DRAWS,
  buildProceduralHeadMesh,
  ensureProceduralHead,
  generateProceduralHeadFiles,
  isProceduralDrawRef,
  parseProceduralRef,
  planProceduralHead,
  proceduralHeadDescriptor,
  proceduralHeadDirName,
  proceduralIpdM,
  proceduralRef,
  sampleProceduralParams,
  type ProceduralHeadFiles,
  type ProceduralHeadParams,
} from '../renderer/assets/procedural-head/index.js';
import { cheekAlbedo as ictCheekAlbedo, itaDeg as ictItaDeg } from '../renderer/assets/ict/skin.js';
import { ICT_IPD_RANGE_CM, ictRef, sampleIctParams } from '../renderer/assets/ict/params.js';
import { cheekAlbedo, itaDeg, skinIta } from '../renderer/assets/skin-model.js';
import { HeadParamsRecordSchema, SampleRecordSchema } from '../renderer/dataset/records.js';
import { sampleHeadRecord } from '../renderer/dataset/sample-record.js';
import { itaBin, itaOfHeadParams, itaOfSkin } from '../renderer/dataset/skin-tone.js';
import { resolveHead } from '../renderer/assets/head.js';
import { PROJECT_ROOT } from '../renderer/io/paths.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('gltf-write', () => {
  it('writes a valid GLB for a single triangle (uint16 indices)', () => {
    const glb = encodeGlb({
      positions: new Float32Array([0, 0, 0, 1, 0, 0, 0, 1, 0]),
      normals: new Float32Array([0, 0, 1, 0, 0, 1, 0, 0, 1]),
      uvs: new Float32Array([0, 1, 1, 1, 0, 0]),
      indices: new Uint16Array([0, 1, 2]),
      materialName: 'm',
    });
    expect(glb.readUInt32LE(0)).to.equal(0x46546c67);
    expect(glb.length % 4).to.equal(0);
    const parsed = parseGlb(glb);
    expect(parsed.json.asset.version).to.equal('2.0');
    expect(parsed.json.materials[0].name).to.equal('m');
    expect(parsed.json.accessors[3].componentType).to.equal(5123);
    expect(Array.from(readAccessor(parsed, 3))).to.deep.equal([0, 1, 2]);
    expect(parsed.json.accessors[0].max).to.deep.equal([1, 1, 0]);
    // The JSON chunk is padded with spaces, the BIN chunk with zeros.
    const jsonLength = glb.readUInt32LE(12);
    const jsonText = glb.subarray(20, 20 + jsonLength).toString('utf8');
    expect(jsonText.trimEnd()).to.equal(JSON.stringify(parsed.json));
    expect(/^ *$/.test(jsonText.slice(JSON.stringify(parsed.json).length))).to.equal(true);
  });

  it('rejects out-of-range indices', () => {
    expect(() =>
      encodeGlb({
        positions: new Float32Array(9),
        normals: new Float32Array(9),
        uvs: new Float32Array(6),
        indices: new Uint32Array([0, 1, 3]),
      }),
    ).to.throw(/out of range/);
  });
});

describe('procedural head', function () {
  this.timeout(120_000);

  let low: ProceduralHeadFiles;
  let lowMs = 0;

  before(async () => {
    const t0 = performance.now();
    low = await generateProceduralHeadFiles({ detail: 'low' });
    lowMs = performance.now() - t0;
    const s = low.stats;
    console.log(
      `      procedural head 'low': ${lowMs.toFixed(0)} ms (mesh ${s.meshMs.toFixed(0)}, maps ${s.texturesMs.toFixed(0)}, encode ${s.encodeMs.toFixed(0)}), ` +
        `${s.vertexCount} vertices, ${s.triangleCount} triangles, ${s.textureSize}^2 maps, glb ${low.files['head.glb'].length} B`,
    );
  });

  it('is deterministic (identical bytes on a second generation)', async () => {
    const again = await generateProceduralHeadFiles({ detail: 'low' });
    expect(again.dirName).to.equal(low.dirName);
    for (const f of HEAD_FILES) expect(sha(again.files[f]), f).to.equal(sha(low.files[f]));
  });

  it("generates 'low' in a few seconds", () => {
    expect(lowMs).to.be.below(20_000);
  });

  it('names its folder procedural-v1-<hash>, distinct per detail level', async () => {
    expect(low.dirName).to.match(/^procedural-v1-[0-9a-f]{12}$/);
    const { proceduralHeadDirName } = await import('../renderer/assets/procedural-head/index.js');
    expect(proceduralHeadDirName({ detail: 'high' })).to.not.equal(low.dirName);
    expect(proceduralHeadDirName()).to.equal(proceduralHeadDirName({ detail: 'high' }));
  });

  it('writes the head.json descriptor', () => {
    const json = JSON.parse(low.files['head.json'].toString('utf8'));
    // The landmarks sit on the level's own mesh, so the descriptor is per detail level.
    expect(json).to.deep.equal(proceduralHeadDescriptor({ detail: 'low' }));
    expect(json.mesh).to.equal('head.glb');
    expect(json.maps).to.deep.equal({ albedo: 'albedo.png', normal: 'normal.png', specular: 'specular.png', roughness: 'roughness.png' });
    expect(json.normalMap).to.deep.equal({ convention: 'opengl', scale: 1.0 });
    expect(json.upAxis).to.equal('+Y');
    expect(json.facing).to.equal('+Z');
    expect(json.uvOrigin).to.equal('top-left');
  });

  describe('head.glb', () => {
    let json: any;
    let pos: Float32Array;
    let nrm: Float32Array;
    let uv: Float32Array;
    let idx: Uint16Array | Uint32Array;
    let nv = 0;

    before(() => {
      const glb = low.files['head.glb'];
      expect(glb.subarray(0, 4).toString('latin1')).to.equal('glTF');
      expect(glb.readUInt32LE(4)).to.equal(2);
      expect(glb.readUInt32LE(8)).to.equal(glb.length);
      const parsed = parseGlb(glb);
      json = parsed.json;
      pos = readAccessor(parsed, json.meshes[0].primitives[0].attributes.POSITION) as Float32Array;
      nrm = readAccessor(parsed, json.meshes[0].primitives[0].attributes.NORMAL) as Float32Array;
      uv = readAccessor(parsed, json.meshes[0].primitives[0].attributes.TEXCOORD_0) as Float32Array;
      idx = readAccessor(parsed, json.meshes[0].primitives[0].indices) as Uint16Array | Uint32Array;
      nv = pos.length / 3;
    });

    it('has one scene, node, mesh and an untextured PBR material', () => {
      expect(json.asset.version).to.equal('2.0');
      expect(json.asset.generator).to.be.a('string').and.match(/procedural-head/);
      expect(json.scenes).to.have.length(1);
      expect(json.nodes).to.have.length(1);
      expect(json.meshes).to.have.length(1);
      expect(json.materials).to.have.length(1);
      expect(json.materials[0].pbrMetallicRoughness.baseColorTexture).to.equal(undefined);
      expect(json.textures).to.equal(undefined);
      expect(json.bufferViews.map((v: any) => v.target)).to.deep.equal([34962, 34962, 34962, 34963]);
      for (const v of json.bufferViews) expect(v.byteOffset % 4).to.equal(0);
      expect(json.buffers[0].byteLength % 4).to.equal(0);
    });

    it('has sane counts', () => {
      const acc = json.accessors;
      expect(acc[0].count).to.equal(nv);
      expect(acc[1].count).to.equal(nv);
      expect(acc[2].count).to.equal(nv);
      expect(idx.length % 3).to.equal(0);
      expect(nv).to.be.within(2000, 65535);
      expect(idx.length / 3).to.equal(low.stats.triangleCount);
      let maxIndex = 0;
      for (const i of idx) maxIndex = Math.max(maxIndex, i);
      expect(maxIndex).to.be.below(nv);
    });

    it('POSITION min/max match the data; bbox about 0.15 x 0.26 x 0.2 m centred on the origin', () => {
      const mn = [Infinity, Infinity, Infinity];
      const mx = [-Infinity, -Infinity, -Infinity];
      for (let i = 0; i < nv; i++) {
        for (let c = 0; c < 3; c++) {
          mn[c] = Math.min(mn[c], pos[i * 3 + c]);
          mx[c] = Math.max(mx[c], pos[i * 3 + c]);
        }
      }
      expect(json.accessors[0].min).to.deep.equal(mn);
      expect(json.accessors[0].max).to.deep.equal(mx);
      const size = [0, 1, 2].map((c) => mx[c] - mn[c]);
      console.log(`      bbox ${size.map((s) => s.toFixed(3)).join(' x ')} m`);
      expect(size[0]).to.be.within(0.13, 0.19);
      expect(size[1]).to.be.within(0.23, 0.29);
      expect(size[2]).to.be.within(0.18, 0.24);
      for (let c = 0; c < 3; c++) expect(Math.abs((mn[c] + mx[c]) / 2), `centre ${c}`).to.be.below(1e-4);
    });

    it('has unit normals pointing outward', () => {
      const cen = [0, 0, 0];
      for (let i = 0; i < nv; i++) for (let c = 0; c < 3; c++) cen[c] += pos[i * 3 + c] / nv;
      let outward = 0;
      for (let i = 0; i < nv; i++) {
        const len = Math.hypot(nrm[i * 3], nrm[i * 3 + 1], nrm[i * 3 + 2]);
        expect(Math.abs(len - 1)).to.be.below(1e-5);
        let d = 0;
        for (let c = 0; c < 3; c++) d += nrm[i * 3 + c] * (pos[i * 3 + c] - cen[c]);
        if (d > 0) outward++;
      }
      expect(outward / nv).to.be.above(0.95);
    });

    it('winds triangles counter-clockwise seen from outside, without degenerate ones', () => {
      let agree = 0;
      let degenerate = 0;
      const tris = idx.length / 3;
      for (let t = 0; t < tris; t++) {
        const [a, b, c] = [idx[t * 3], idx[t * 3 + 1], idx[t * 3 + 2]];
        const e1 = [0, 1, 2].map((k) => pos[b * 3 + k] - pos[a * 3 + k]);
        const e2 = [0, 1, 2].map((k) => pos[c * 3 + k] - pos[a * 3 + k]);
        const n = [e1[1] * e2[2] - e1[2] * e2[1], e1[2] * e2[0] - e1[0] * e2[2], e1[0] * e2[1] - e1[1] * e2[0]];
        const area2 = Math.hypot(n[0], n[1], n[2]);
        if (area2 < 1e-12) degenerate++;
        let d = 0;
        for (const v of [a, b, c]) for (let k = 0; k < 3; k++) d += n[k] * nrm[v * 3 + k];
        if (d > 0) agree++;
      }
      expect(degenerate).to.equal(0);
      expect(agree / tris).to.be.above(0.99);
    });

    it('puts the nose tip at the most +Z point, near x = 0', () => {
      let best = 0;
      for (let i = 1; i < nv; i++) if (pos[i * 3 + 2] > pos[best * 3 + 2]) best = i;
      const tip = [pos[best * 3], pos[best * 3 + 1], pos[best * 3 + 2]];
      console.log(`      nose tip at (${tip.map((v) => v.toFixed(3)).join(', ')})`);
      expect(Math.abs(tip[0])).to.be.below(0.01);
      expect(tip[1]).to.be.within(-0.03, 0.03);
      // Protrudes well beyond the cheeks at the same height.
      let cheekZ = -Infinity;
      for (let i = 0; i < nv; i++) {
        if (Math.abs(pos[i * 3] - 0.045) < 0.006 && Math.abs(pos[i * 3 + 1] - tip[1]) < 0.01) cheekZ = Math.max(cheekZ, pos[i * 3 + 2]);
      }
      expect(tip[2] - cheekZ).to.be.above(0.02);
    });

    it('uses glTF texture coordinates with the seam at the back (-Z)', () => {
      let front = -1;
      let bestZ = -Infinity;
      for (let i = 0; i < nv; i++) {
        const u = uv[i * 2];
        const v = uv[i * 2 + 1];
        expect(u).to.be.within(0, 1);
        expect(v).to.be.within(0, 1);
        if ((u === 0 || u === 1) && v > 0.05 && v < 0.95) expect(pos[i * 3 + 2]).to.be.below(0);
        // The face point straight ahead (x ~ 0, around eye height) maps near u = 0.5.
        if (Math.abs(pos[i * 3]) < 1e-3 && pos[i * 3 + 2] > bestZ) {
          bestZ = pos[i * 3 + 2];
          front = i;
        }
      }
      expect(uv[front * 2]).to.be.closeTo(0.5, 0.01);
      // v = 0 is the crown (top of the image).
      let top = 0;
      for (let i = 1; i < nv; i++) if (pos[i * 3 + 1] > pos[top * 3 + 1]) top = i;
      expect(uv[top * 2 + 1]).to.be.below(0.05);
    });
  });

  describe('maps', () => {
    const stats = async (png: Buffer) => {
      const img = sharp(png);
      const meta = await img.metadata();
      const st = await img.stats();
      return { meta, means: st.channels.map((c) => c.mean) };
    };

    it('decode at 512^2 for low detail, with the expected channels', async () => {
      for (const [f, ch] of [['albedo.png', 3], ['normal.png', 3], ['specular.png', 1], ['roughness.png', 1]] as const) {
        const { meta } = await stats(low.files[f]);
        expect(meta.format, f).to.equal('png');
        expect([meta.width, meta.height], f).to.deep.equal([512, 512]);
        expect(meta.channels, f).to.equal(ch);
      }
    });

    it('normal map averages about (128, 128, 255)', async () => {
      const { means } = await stats(low.files['normal.png']);
      console.log(`      normal map mean ${means.map((m) => m.toFixed(1)).join(', ')}`);
      expect(means[0]).to.be.closeTo(128, 10);
      expect(means[1]).to.be.closeTo(128, 10);
      expect(means[2]).to.be.closeTo(255, 10);
    });

    it('normal map holds detail (not flat) and unit-length normals', async () => {
      const { data } = await sharp(low.files['normal.png']).raw().toBuffer({ resolveWithObject: true });
      let tilted = 0;
      let worst = 0;
      for (let i = 0; i < data.length; i += 3) {
        const n = [data[i] / 127.5 - 1, data[i + 1] / 127.5 - 1, data[i + 2] / 127.5 - 1];
        worst = Math.max(worst, Math.abs(Math.hypot(n[0], n[1], n[2]) - 1));
        if (Math.hypot(n[0], n[1]) > 0.02) tilted++;
      }
      expect(worst).to.be.below(0.02);
      expect(tilted / (data.length / 3)).to.be.above(0.05);
    });

    it('albedo is a light-medium skin tone (R > G > B) on the face', async () => {
      // The centre of the image is the face (u = 0.5); sample the cheek/forehead band.
      const { data } = await sharp(low.files['albedo.png']).extract({ left: 200, top: 140, width: 112, height: 60 }).raw().toBuffer({ resolveWithObject: true });
      const m = [0, 0, 0];
      for (let i = 0; i < data.length; i += 3) for (let c = 0; c < 3; c++) m[c] += data[i + c] / (data.length / 3);
      console.log(`      forehead albedo sRGB mean ${m.map((v) => v.toFixed(0)).join(', ')}`);
      expect(m[0]).to.be.within(170, 225);
      expect(m[0]).to.be.above(m[1] + 10);
      expect(m[1]).to.be.above(m[2] + 5);
    });

    it('specular and roughness are in plausible ranges', async () => {
      const spec = (await stats(low.files['specular.png'])).means[0] / 255;
      const rough = (await stats(low.files['roughness.png'])).means[0] / 255;
      console.log(`      mean specular ${spec.toFixed(3)}, mean roughness ${rough.toFixed(3)}`);
      expect(spec).to.be.within(0.2, 0.7);
      expect(rough).to.be.within(0.45, 0.62);
    });
  });

  describe('ensureProceduralHead', () => {
    let root: string;
    before(async () => {
      root = await fsp.mkdtemp(path.join(os.tmpdir(), 'vls-prochead-'));
    });
    after(async () => {
      await fsp.rm(root, { recursive: true, force: true });
    });

    it('writes the folder once and reuses it', async () => {
      const dir = await ensureProceduralHead(root, { detail: 'low' });
      expect(dir).to.equal(path.resolve(root, 'heads', low.dirName));
      for (const f of HEAD_FILES) expect(sha(await fsp.readFile(path.join(dir, f))), f).to.equal(sha(low.files[f]));
      const before = await Promise.all(HEAD_FILES.map((f) => fsp.stat(path.join(dir, f)).then((s) => s.mtimeMs)));
      await new Promise((r) => setTimeout(r, 20));
      const t0 = performance.now();
      const again = await ensureProceduralHead(root, { detail: 'low' });
      const cachedMs = performance.now() - t0;
      expect(again).to.equal(dir);
      const after = await Promise.all(HEAD_FILES.map((f) => fsp.stat(path.join(dir, f)).then((s) => s.mtimeMs)));
      expect(after).to.deep.equal(before);
      expect(cachedMs).to.be.below(500);
      // Nothing but the folder itself is left in heads/ (no temp folders).
      expect(await fsp.readdir(path.join(root, 'heads'))).to.deep.equal([low.dirName]);
    });

    it('repairs an incomplete folder', async () => {
      const dir = path.resolve(root, 'heads', low.dirName);
      await fsp.rm(path.join(dir, 'normal.png'));
      expect(await ensureProceduralHead(root, { detail: 'low' })).to.equal(dir);
      expect(sha(await fsp.readFile(path.join(dir, 'normal.png')))).to.equal(sha(low.files['normal.png']));
      expect(await fsp.readdir(path.join(root, 'heads'))).to.deep.equal([low.dirName]);
    });

    it('shares one generation between concurrent calls', async () => {
      const root2 = await fsp.mkdtemp(path.join(os.tmpdir(), 'vls-prochead-'));
      try {
        const dirs = await Promise.all([1, 2, 3].map(() => ensureProceduralHead(root2, { detail: 'low' })));
        expect(new Set(dirs).size).to.equal(1);
        expect(await fsp.readdir(path.join(root2, 'heads'))).to.deep.equal([low.dirName]);
      } finally {
        await fsp.rm(root2, { recursive: true, force: true });
      }
    });
  });

  it("builds the default 'high' mesh with finer sampling", () => {
    const t0 = performance.now();
    const mesh = buildProceduralHeadMesh();
    console.log(`      'high' mesh: ${mesh.positions.length / 3} vertices, ${mesh.indices.length / 3} triangles in ${(performance.now() - t0).toFixed(0)} ms`);
    expect(mesh.positions.length / 3).to.be.above(low.stats.vertexCount * 4);
    const size = [0, 1, 2].map((c) => mesh.bboxMax[c] - mesh.bboxMin[c]);
    const lowSize = [0, 1, 2].map((c) => low.stats.bboxMax[c] - low.stats.bboxMin[c]);
    for (let c = 0; c < 3; c++) expect(size[c]).to.be.closeTo(lowSize[c], 0.01);
  });
});

// ---------------------------------------------------------------------------------------------
// Procedural people: 'procedural:<seed>' / 'procedural:{json}' draw a shape and a skin.

/** The mannequin ('procedural', detail 'low'): head.json and head.glb bytes, and each map's decoded pixels (sha256, 16 hex). */
const MANNEQUIN_LOW = {
  dirName: 'procedural-v1-6812cc1148ca',
  'head.json': '02aa62e68e758420',
  'head.glb': 'b13625e37bf5cbf9',
  'albedo.png': 'e01ad2df57ae5962',
  'normal.png': 'c60fb52e0abc3d7f',
  'specular.png': 'f7553f861905a88f',
  'roughness.png': '1ac3633d8bae376d',
  'labels.png': 'bca46234be9a654a',
} as const;

const ARTEFACTS = path.join(PROJECT_ROOT, 'output', 'test-artefacts');
const SHAPE_KEYS = Object.keys(SHAPE_DRAWS) as (keyof typeof SHAPE_DRAWS)[];

describe('procedural people (no browser)', function () {
  this.timeout(120_000);

  it("plain 'procedural' is the mannequin, unchanged (pinned bytes and pixels)", async () => {
    const f = await generateProceduralHeadFiles({ detail: 'low' });
    expect(f.dirName).to.equal(MANNEQUIN_LOW.dirName);
    const h = (b: Buffer) => sha(b).slice(0, 16);
    expect(h(f.files['head.json']), 'head.json').to.equal(MANNEQUIN_LOW['head.json']);
    expect(h(f.files['head.glb']), 'head.glb').to.equal(MANNEQUIN_LOW['head.glb']);
    for (const k of ['albedo.png', 'normal.png', 'specular.png', 'roughness.png', 'labels.png'] as const) {
      expect(h(await sharp(f.files[k]).raw().toBuffer()), k).to.equal(MANNEQUIN_LOW[k]);
    }
    expect(isProceduralDrawRef('procedural')).to.equal(false);
  });

  it('references: procedural:<seed> and procedural:{json}, canonical forms, errors name the field', () => {
    expect(parseProceduralRef('procedural:7').seed).to.equal(7);
    expect(parseProceduralRef('procedural:{"seed":7,"detail":"low"}')).to.include({ seed: 7, detail: 'low' });
    expect(parseProceduralRef('procedural:{}').seed).to.equal(undefined);
    expect(proceduralRef({ seed: 7 })).to.equal('procedural:7');
    expect(proceduralRef({})).to.equal('procedural:{}');
    expect(proceduralRef({ seed: 7, detail: 'low' })).to.equal('procedural:{"detail":"low","seed":7}');
    const round = 'procedural:{"seed":3,"skin":{"tone":[0.2,0.4]},"shape":{"jawWidth":1.1}}';
    expect(parseProceduralRef(proceduralRef(parseProceduralRef(round)))).to.deep.equal(parseProceduralRef(round));
    expect(() => parseProceduralRef('procedural:{"shape":{"jawWidth":3}}')).to.throw(/field "shape.jawWidth"/);
    expect(() => parseProceduralRef('procedural:{"skin":{"tone":[0.5,0.2]}}')).to.throw(/field "skin.tone"/);
    expect(() => parseProceduralRef('procedural:{"nose":1}')).to.throw(/field "\(root\)"|nose/);
    expect(() => parseProceduralRef('procedural:abc')).to.throw(/procedural:<seed>/);
  });

  it('200 draws: deterministic, finite, in their plausible ranges, IPD in the adult range, ITA from > 55 to < -30 deg, the skin the ICT source draws', () => {
    let lo = Infinity;
    let hi = -Infinity;
    const ipd: number[] = [];
    const bins = new Map<string, number>();
    const t0 = performance.now();
    for (let seed = 0; seed < 200; seed++) {
      const p = sampleProceduralParams({ seed });
      expect(sampleProceduralParams({ seed }), 'same seed, same draw').to.deep.equal(p);
      expect(HeadParamsRecordSchema.safeParse(p).success, `seed ${seed} record`).to.equal(true);
      for (const k of SHAPE_KEYS) {
        const v = p.shape[k];
        expect(Number.isFinite(v), `${k}`).to.equal(true);
        expect(v, `seed ${seed} ${k}`).to.be.within(SHAPE_DRAWS[k].lo, SHAPE_DRAWS[k].hi);
      }
      expect(p.shape.dimorphism).to.be.within(0, 1);
      const cm = proceduralIpdM(p.shape) * 100;
      expect(cm, `seed ${seed} IPD`).to.be.within(ICT_IPD_RANGE_CM[0], ICT_IPD_RANGE_CM[1]);
      ipd.push(cm * 10);
      // The same skin draw, model and ITA as the ICT source's for the same seed.
      const ict = sampleIctParams({ seed });
      expect(p.skin, `seed ${seed} skin = the ICT draw`).to.deep.equal(ict.skin);
      const v = skinIta(p.skin);
      expect(v).to.equal(ictItaDeg(...(ictCheekAlbedo(ict.skin) as [number, number, number])));
      expect(itaOfSkin(p.skin)).to.equal(v);
      expect(itaOfHeadParams(p)).to.equal(v);
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
      const b = itaBin(v)!.name;
      bins.set(b, (bins.get(b) ?? 0) + 1);
    }
    ipd.sort((a, b) => a - b);
    const mean = ipd.reduce((a, b) => a + b, 0) / ipd.length;
    console.log(`      200 draws in ${(performance.now() - t0).toFixed(0)} ms: ITA ${lo.toFixed(1)} .. ${hi.toFixed(1)} deg (${[...bins].map(([k, n]) => `${k} ${n}`).join(', ')}); IPD ${ipd[0].toFixed(1)} .. ${ipd[199].toFixed(1)} mm, mean ${mean.toFixed(1)}`);
    expect(hi).to.be.greaterThan(55);
    expect(lo).to.be.lessThan(-30);
    expect(mean).to.be.within(60, 67);
    // Different seeds, different people.
    expect(sampleProceduralParams({ seed: 1 }).shape).to.not.deep.equal(sampleProceduralParams({ seed: 2 }).shape);
    // A fixed parameter replaces its draw and leaves the others as they were.
    const a = sampleProceduralParams({ seed: 9 });
    const b = sampleProceduralParams({ seed: 9, shape: { jawWidth: 1.1 } });
    expect(b.shape.jawWidth).to.equal(1.1);
    expect({ ...b.shape, jawWidth: a.shape.jawWidth }).to.deep.equal(a.shape);
    // A skin option narrows the tone like the ICT source's.
    expect(sampleProceduralParams({ seed: 9, skin: { tone: [0.9, 1] } }).skin.tone).to.be.within(0.9, 1);
  });

  it('the ICT fallback draws procedural:<same seed> (a new person per sample), with the skin options carried', () => {
    const none = () => false;
    expect(ictRef({ fallback: 'procedural', seed: 5 }, none)).to.equal('procedural:5');
    expect(ictRef({ fallback: 'procedural', textureSize: 512 }, none)).to.equal('procedural:{}');
    const withSkin = ictRef({ fallback: 'procedural', seed: 5, skin: { tone: [0, 0.3] } }, none);
    expect(withSkin).to.equal(proceduralRef({ seed: 5, skin: { tone: [0, 0.3] } }));
    expect(sampleProceduralParams(parseProceduralRef(withSkin)).skin).to.deep.equal(sampleIctParams({ seed: 5, skin: { tone: [0, 0.3] } }).skin);
    expect(ictRef({ fallback: 'procedural', seed: 5 }, () => true)).to.equal('ict:5');
    // The batch planner's step: an unseeded reference takes the sample's seed, a seeded one keeps its own.
    const drawn = planProceduralHead('procedural:{}', () => 1234);
    expect(drawn.ref).to.equal('procedural:1234');
    expect(drawn.params).to.deep.equal(sampleProceduralParams({ seed: 1234 }));
    expect(planProceduralHead('procedural:8', () => 1234).ref).to.equal('procedural:8');
  });

  it('sample.json head.params: a procedural draw validates (a union with the ICT record), bad values do not', () => {
    const params = sampleProceduralParams({ seed: 5, detail: 'low' });
    const head = { descriptor: { id: 'procedural-person-x', name: 'n', license: 'CC0-1.0', attribution: 'a' }, contentHash: 'h' };
    const rec = sampleHeadRecord('procedural:{"detail":"low","seed":5}', head, params);
    expect(SampleRecordSchema.shape.head.safeParse(rec).success).to.equal(true);
    expect(HeadParamsRecordSchema.safeParse(sampleIctParams({ seed: 5 })).success, 'ICT records stay valid').to.equal(true);
    expect(HeadParamsRecordSchema.safeParse({ ...params, shape: { ...params.shape, jaw: 1 } }).success).to.equal(false);
    expect(HeadParamsRecordSchema.safeParse({ ...params, skin: { ...params.skin, tone: 2 } }).success).to.equal(false);
    expect(HeadParamsRecordSchema.safeParse({ ...params, source: 'scan' }).success).to.equal(false);
    const { shape: _s, ...noShape } = params;
    expect(HeadParamsRecordSchema.safeParse(noShape).success).to.equal(false);
  });

  describe('built people', () => {
    const seeds = [3, 4, 11, 12];
    const built = new Map<number, { params: ProceduralHeadParams; files: ProceduralHeadFiles }>();
    before(async () => {
      for (const seed of seeds) {
        const params = sampleProceduralParams({ seed, detail: 'low' });
        built.set(seed, { params, files: await generateProceduralHeadFiles({ params }) });
      }
    });

    it('same seed, same bytes; another seed, other bytes and another folder and id', async () => {
      const a = built.get(3)!;
      const again = await generateProceduralHeadFiles({ params: sampleProceduralParams({ seed: 3, detail: 'low' }) });
      expect(again.dirName).to.equal(a.files.dirName);
      for (const f of HEAD_FILES) expect(sha(again.files[f]), f).to.equal(sha(a.files.files[f]));
      expect(a.files.dirName).to.match(/^procedural-person-[0-9a-f]{15}$/);
      const b = built.get(4)!;
      expect(b.files.dirName).to.not.equal(a.files.dirName);
      for (const f of HEAD_FILES) expect(sha(b.files.files[f]), f).to.not.equal(sha(a.files.files[f]));
      const ja = JSON.parse(a.files.files['head.json'].toString());
      const jb = JSON.parse(b.files.files['head.json'].toString());
      expect(ja.id).to.match(/^procedural-person-[0-9a-f]{12}$/);
      expect(ja.id).to.not.equal(jb.id);
      // The id names the shape: another skin on the same shape is the same person.
      const reskin = proceduralHeadDescriptor({ params: sampleProceduralParams({ seed: 3, detail: 'low', skin: { tone: [1, 1] } }) });
      expect(reskin.id).to.equal(ja.id);
      expect(proceduralHeadDirName({ params: sampleProceduralParams({ seed: 3, detail: 'low', skin: { tone: [1, 1] } }) })).to.not.equal(a.files.dirName);
    });

    it('plausible sizes, a mesh that is finite, and 68 landmarks with the IPD of the draw', () => {
      for (const [seed, { params, files }] of built) {
        const s = files.stats;
        const size = [0, 1, 2].map((c) => s.bboxMax[c] - s.bboxMin[c]);
        expect(size[0], `seed ${seed} width`).to.be.within(0.12, 0.2);
        expect(size[1], `seed ${seed} height`).to.be.within(0.22, 0.31);
        expect(size[2], `seed ${seed} depth`).to.be.within(0.17, 0.26);
        const pos = readAccessor(parseGlb(files.files['head.glb']), 0) as Float32Array;
        for (const v of pos) expect(Number.isFinite(v)).to.equal(true);
        const lm = JSON.parse(files.files['head.json'].toString()).landmarks as number[][];
        expect(lm).to.have.length(68);
        // Eye centres: the mean of each eye's six points.
        const centre = (a: number) => [0, 1, 2].map((c) => lm.slice(a, a + 6).reduce((t, p) => t + p[c], 0) / 6);
        const ipd = Math.hypot(...centre(42).map((v, c) => v - centre(36)[c]));
        expect(ipd, `seed ${seed} landmark IPD vs the draw`).to.be.closeTo(proceduralIpdM(params.shape), 0.002);
      }
    });

    it("the albedo is the shared pigment model: the cheeks' ITA follows the recorded skin, darker tones render darker", () => {
      const rows: string[] = [];
      const lum: [number, number][] = [];
      for (const [seed, { params, files }] of built) {
        const c = files.stats.cheekAlbedo!;
        const measured = itaDeg(c[0], c[1], c[2]);
        const nominal = skinIta(params.skin);
        rows.push(`seed ${seed}: tone ${params.skin.tone.toFixed(2)}, ITA ${nominal.toFixed(1)} (cheek texels ${measured.toFixed(1)})`);
        expect(measured, `seed ${seed}`).to.be.closeTo(nominal, 8);
        const ca = cheekAlbedo(params.skin);
        lum.push([params.skin.tone, 0.2126 * ca[0] + 0.7152 * ca[1] + 0.0722 * ca[2]]);
      }
      console.log(`      ${rows.join('\n      ')}`);
      lum.sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < lum.length; i++) expect(lum[i][1]).to.be.below(lum[i - 1][1]);
    });
  });

  it("resolveHead('procedural:{...}') builds and caches the person and returns its draw", async () => {
    const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'vls-procperson-'));
    try {
      const ref = 'procedural:{"seed":4,"detail":"low"}';
      const h = await resolveHead(ref, { cacheRoot: root });
      expect(h.proceduralParams).to.deep.equal(sampleProceduralParams({ seed: 4, detail: 'low' }));
      expect(h.ictParams).to.equal(undefined);
      expect(h.descriptor.id).to.match(/^procedural-person-/);
      expect(h.descriptor.landmarks).to.have.length(68);
      expect(h.labelFiles?.head).to.match(/labels\.png$/);
      expect(await fsp.readdir(path.join(root, 'heads'))).to.deep.equal([proceduralHeadDirName({ params: h.proceduralParams })]);
      const again = await resolveHead(ref, { cacheRoot: root });
      expect(again.contentHash).to.equal(h.contentHash);
      expect((await resolveHead('procedural')).proceduralParams).to.equal(undefined);
    } finally {
      await fsp.rm(root, { recursive: true, force: true });
    }
  });

  it('the neutral shape is the mannequin: the defaults are multipliers of 1 and offsets of 0', () => {
    const offsets = ['chinLength', 'chinProjection', 'noseLength', 'eyeSpacing', 'browHeight'];
    for (const k of SHAPE_KEYS) expect(NEUTRAL_SHAPE_PARAMS[k], k).to.equal(offsets.includes(k) ? 0 : 1);
  });
});

describe('procedural people: rendered contact sheet (real Chromium + WebGL)', function () {
  this.timeout(300_000);

  it('8 seeds read as different people of different skin tones (output/test-artefacts/procedural-contact.png)', async function () {
    const { Renderer } = await import('../renderer/engine/renderer.js');
    const { parseSampleSpec } = await import('../renderer/core/spec.js');
    const { tonemapToSrgb8 } = await import('../renderer/core/color.js');
    // Eight seeds spread over the tone range, alternately more feminine and more masculine
    // shapes: the first unused seed near each target tone with that lean.
    const targets = [0.03, 0.16, 0.3, 0.44, 0.58, 0.72, 0.86, 0.97];
    const seeds: number[] = [];
    targets.forEach((t, i) => {
      for (let seed = 100; ; seed++) {
        const p = sampleProceduralParams({ seed });
        const lean = i % 2 === 0 ? p.shape.dimorphism < 0.35 : p.shape.dimorphism > 0.65;
        if (!seeds.includes(seed) && lean && Math.abs(p.skin.tone - t) < 0.04) {
          seeds.push(seed);
          break;
        }
      }
    });
    const S = 224;
    const tiles: Buffer[] = [];
    const ids = new Set<string>();
    const faceLum: number[] = [];
    const t0 = performance.now();
    const renderer = await Renderer.launch({});
    try {
      for (const seed of seeds) {
        const head = `procedural:{"detail":"low","seed":${seed}}`;
        const spec = parseSampleSpec({
          head,
          width: S,
          height: S,
          camera: { yawDeg: 8, pitchDeg: 0, distance: 0.75, fovYDeg: 25 },
          lighting: { environment: [{ map: 'builtin:studio', rotationDeg: 180, intensity: 0.5 }], pointLights: [{ position: [0.4, 0.3, 0.5], color: [1, 0.95, 0.9], intensity: 0.25 }] },
          passes: ['beauty', 'albedo', 'mask'],
          render: { envVisibility: false },
        });
        const s = await renderer.renderSample(spec);
        ids.add((await resolveHead(head)).descriptor.id);
        const beauty = s.modes.beauty!;
        for (const v of beauty) expect(Number.isFinite(v)).to.equal(true);
        // The face fully covered, and its albedo's luminance (the skin tone as rendered).
        let covered = 0;
        let n = 0;
        let lumSum = 0;
        const alb = s.modes.albedo!;
        const sa = alb.length / (S * S);
        for (let y = Math.floor(S * 0.35); y < Math.floor(S * 0.7); y++) {
          for (let x = Math.floor(S * 0.4); x < Math.floor(S * 0.6); x++) {
            n++;
            const p = y * S + x;
            if (s.mask[p] > 0.99) covered++;
            lumSum += 0.2126 * alb[p * sa] + 0.7152 * alb[p * sa + 1] + 0.0722 * alb[p * sa + 2];
          }
        }
        expect(covered / n, `seed ${seed} face coverage`).to.be.greaterThan(0.98);
        faceLum.push(lumSum / n);
        const st = beauty.length / (S * S);
        const rgb = new Float32Array(S * S * 3);
        for (let i = 0; i < S * S; i++) for (let c = 0; c < 3; c++) rgb[i * 3 + c] = beauty[i * st + c];
        tiles.push(Buffer.from(tonemapToSrgb8(rgb, 3, -0.5)));
      }
    } finally {
      await renderer.close();
    }
    console.log(`      seeds ${seeds.join(', ')}: face albedo luminance ${faceLum.map((v) => v.toFixed(3)).join(', ')} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    expect(ids.size, '8 distinct people').to.equal(8);
    // Ordered by tone: lighter to darker, the lightest several times the darkest.
    for (let i = 1; i < faceLum.length; i++) expect(faceLum[i], `tone order ${i}`).to.be.below(faceLum[i - 1] * 1.02);
    expect(faceLum[0] / faceLum[7]).to.be.greaterThan(4);
    await fsp.mkdir(ARTEFACTS, { recursive: true });
    await sharp({ create: { width: S * 4, height: S * 2, channels: 3, background: { r: 0, g: 0, b: 0 } } })
      .composite(tiles.map((t, i) => ({ input: t, raw: { width: S, height: S, channels: 3 as const }, left: (i % 4) * S, top: Math.floor(i / 4) * S })))
      .png()
      .toFile(path.join(ARTEFACTS, 'procedural-contact.png'));
  });
});

import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import sharp from 'sharp';
import { encodeGlb, parseGlb, readAccessor } from '../renderer/io/gltf-write.js';
import {
  HEAD_FILES,
  buildProceduralHeadMesh,
  ensureProceduralHead,
  generateProceduralHeadFiles,
  proceduralHeadDescriptor,
  type ProceduralHeadFiles,
} from '../renderer/assets/procedural-head/index.js';

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

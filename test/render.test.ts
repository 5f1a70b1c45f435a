// Real Chromium, real WebGL: physical invariants of the rendered passes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { expect } from 'chai';
import sharp from 'sharp';
import { Renderer, type RenderedSample } from '../renderer/engine/renderer.js';
import { parseSampleSpec, type SampleSpecInput } from '../renderer/core/spec.js';
import { writeSample } from '../renderer/dataset/write-sample.js';
import { readExr } from '../renderer/io/exr-read.js';
import { readPng } from '../renderer/io/image-io.js';
import { resolveHead } from '../renderer/assets/head.js';
import { envFromFunction, type EnvImage } from '../renderer/core/latlong.js';
import { writeExr } from '../renderer/io/exr-write.js';
import { PASS_NAMES } from '../renderer/develop/passes/index.js';
import { srgbEncode } from '../renderer/core/color.js';
import { skipBecause, SHARED_ASSETS } from './support/skip.js';
import { resolveAssetPath } from '../renderer/io/asset-roots.js';

const LPS = path.resolve('assets/heads/lee_perry_smith');
const SHARED_LPS = resolveAssetPath(path.join(SHARED_ASSETS, 'heads', 'lee_perry_smith'));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vls-render-'));

const S = 128;
const base: SampleSpecInput = {
  head: 'procedural',
  width: S,
  height: S,
  camera: { yawDeg: 15, pitchDeg: 5, distance: 0.75, fovYDeg: 25 },
  lighting: {
    environment: [{ map: 'builtin:city', rotationDeg: 30, intensity: 1 }],
    pointLights: [{ position: [0.4, 0.3, 0.5], color: [1, 0.9, 0.8], intensity: 0.3 }],
  },
};

function spec(over: Partial<SampleSpecInput> = {}) {
  return parseSampleSpec({ ...base, ...over });
}

async function saveEnv(file: string, env: EnvImage): Promise<string> {
  const n = env.width * env.height;
  const ch = [0, 1, 2].map((c) => Float32Array.from({ length: n }, (_, i) => env.data[i * 3 + c]));
  await writeExr(file, { width: env.width, height: env.height, channels: [{ name: 'R', data: ch[0] }, { name: 'G', data: ch[1] }, { name: 'B', data: ch[2] }] }, { pixelType: 'float' });
  return file;
}

function lobeMap(dir: [number, number, number]): EnvImage {
  return envFromFunction(64, 32, (x, y, z) => Math.max(0, x * dir[0] + y * dir[1] + z * dir[2]) ** 8);
}

/** Mean over pixels of the left/right and top/bottom halves of one channel. */
function halves(img: Float32Array, stride: number, w: number, h: number) {
  let l = 0, r = 0, t = 0, b = 0;
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const v = img[(y * w + x) * stride + 1];
    if (x < w / 2) l += v; else r += v;
    if (y < h / 2) t += v; else b += v;
  }
  return { l, r, t, b };
}

describe('renderer (real Chromium + WebGL)', function () {
  let renderer: Renderer;
  let sample: RenderedSample;
  let dir: string;

  before(async function () {
    renderer = await Renderer.launch({});
    sample = await renderer.renderSample(spec());
    dir = path.join(tmp, 'sample');
    await writeSample(dir, sample, renderer.info);
  });
  after(async function () {
    await renderer?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('reports a real WebGL backend', function () {
    expect(['gpu', 'llvmpipe', 'swiftshader']).to.include(renderer.info.backend);
    expect(renderer.info.webglRenderer).to.be.a('string').and.not.empty;
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8'));
    expect(meta.renderer.backend).to.equal(renderer.info.backend);
    expect(meta.head.contentHash).to.match(/^[0-9a-f]{64}$/);
    expect(meta.seed).to.equal(0);
    expect(meta.camera.K[0][0]).to.be.closeTo(S / 2 / Math.tan((25 * Math.PI) / 360), 1e-6);
  });

  it('writes every pass with the right size, channels and range', async function () {
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8'));
    const files: { pass: string; file: string; channels: string[]; format: string }[] = meta.passes;
    expect(new Set(files.map((f) => f.pass))).to.deep.equal(new Set(PASS_NAMES));
    for (const f of files) {
      const p = path.join(dir, f.file);
      if (f.format === 'exr') {
        const img = await readExr(p);
        expect([img.width, img.height], f.file).to.deep.equal([S, S]);
        expect(img.channels.map((c) => c.name), f.file).to.deep.equal([...f.channels].sort());
        for (const c of img.channels) for (const v of c.data) if (!Number.isFinite(v)) throw new Error(`${f.file} has a non-finite value`);
      } else {
        const png = await readPng(p);
        expect([png.width, png.height, png.channels], f.file).to.deep.equal([S, S, f.channels.length]);
      }
    }
    const albedo = await readExr(path.join(dir, 'albedo.exr'));
    for (const c of albedo.channels) expect(Math.max(...c.data)).to.be.at.most(1.001);
    const mask = await readPng(path.join(dir, 'mask.png'));
    expect(mask.bitDepth).to.equal(16);
  });

  it('keeps linear HDR radiance above 1 in beauty', async function () {
    const bright = await renderer.renderSample(spec({ lighting: { environment: [{ map: 'builtin:city', intensity: 8 }], pointLights: [] } }));
    const b = bright.modes.beauty!;
    let max = 0;
    for (let p = 0; p < S * S; p++) if (bright.mask[p] > 0.99) max = Math.max(max, b[p * 4], b[p * 4 + 1], b[p * 4 + 2]);
    expect(max).to.be.greaterThan(1.5);
  });

  it('normals are unit length wherever the pixel centre hits the head', async function () {
    const n = sample.modes.normal!;
    const depth = sample.modes.depth!;
    let hits = 0, worst = 0;
    for (let p = 0; p < S * S; p++) {
      const len = Math.hypot(n[p * 3], n[p * 3 + 1], n[p * 3 + 2]);
      if (depth[p] > 0) {
        hits++;
        worst = Math.max(worst, Math.abs(len - 1));
      } else expect(len, `pixel ${p} has no surface`).to.equal(0);
      if (sample.mask[p] > 0.999) expect(depth[p], `covered pixel ${p}`).to.be.greaterThan(0);
    }
    expect(hits).to.be.greaterThan(1000);
    expect(worst).to.be.lessThan(2e-3); // half-float storage
    for (const file of ['normal_world.exr', 'normal_camera.exr']) {
      const img = await readExr(path.join(dir, file));
      const [b, g, r] = img.channels.map((c) => c.data);
      for (let p = 0; p < S * S; p++) {
        const len = Math.hypot(r[p], g[p], b[p]);
        if (depth[p] > 0) expect(Math.abs(len - 1), `${file} pixel ${p}`).to.be.lessThan(1e-3);
        else expect(len).to.equal(0);
      }
    }
  });

  it('camera-space normals face the camera on the visible surface', async function () {
    const img = await readExr(path.join(dir, 'normal_camera.exr'));
    const z = img.channels.find((c) => c.name === 'B')!.data;
    let facing = 0, count = 0;
    for (let p = 0; p < S * S; p++) if (sample.mask[p] > 0.999) { count++; if (z[p] > -0.05) facing++; }
    expect(facing / count).to.be.greaterThan(0.99);
  });

  it('depth is metric and grows away from the camera', async function () {
    const d1 = sample.modes.depth!;
    const farther = await renderer.renderSample(spec({ camera: { ...base.camera!, distance: 0.85 }, passes: ['depth', 'mask'] }));
    const d2 = farther.modes.depth!;
    let min = Infinity, max = 0;
    for (let p = 0; p < S * S; p++) {
      if (sample.mask[p] < 0.999) continue;
      min = Math.min(min, d1[p]);
      max = Math.max(max, d1[p]);
    }
    // Head radius ~0.1 m around a target 0.75 m away.
    expect(min).to.be.within(0.55, 0.75);
    expect(max).to.be.within(0.7, 0.95);
    // Moving the camera back 10 cm along its axis: the rays through the centre pixels stay on
    // (almost) the same line, so they hit the same point 10 cm farther away.
    for (const p of [(S / 2 - 1) * S + S / 2 - 1, (S / 2 - 1) * S + S / 2, (S / 2) * S + S / 2 - 1, (S / 2) * S + S / 2]) {
      expect(sample.mask[p]).to.equal(1);
      expect(d2[p] - d1[p]).to.be.closeTo(0.1, 0.003);
    }
    // And every covered pixel's depth grows.
    let grew = 0, both = 0;
    for (let p = 0; p < S * S; p++) if (sample.mask[p] > 0.999 && farther.mask[p] > 0.999) { both++; if (d2[p] > d1[p]) grew++; }
    expect(grew / both).to.be.greaterThan(0.99);
  });

  it('the mask is 0 off the head, 1 on it, and anti-aliased at the edges', function () {
    const m = sample.mask;
    for (const p of [0, S - 1, S * (S - 1), S * S - 1]) expect(m[p]).to.equal(0);
    let inside = 0, edge = 0, outside = 0;
    for (const v of m) {
      expect(v).to.be.within(0, 1);
      if (v > 0.999) inside++; else if (v < 1e-4) outside++; else edge++;
    }
    expect(inside).to.be.greaterThan(S * S * 0.15);
    expect(outside).to.be.greaterThan(S * S * 0.2);
    expect(edge).to.be.greaterThan(S); // MSAA gives fractional coverage along the silhouette
  });

  it('mask does not depend on the lighting (any number of point lights, any order)', async function () {
    const masks: Float32Array[] = [];
    for (const n of [0, 2, 1, 3, 0, 4]) {
      const pointLights = Array.from({ length: n }, (_, i) => ({ position: [0.3 * (i + 1) - 0.5, 0.3, 0.5] as [number, number, number], intensity: 0.2 }));
      const s = await renderer.renderSample(spec({ width: 64, height: 64, lighting: { environment: [{ map: 'builtin:city' }], pointLights }, passes: ['beauty'] })).catch((e: Error) => { throw new Error(`${n} lights: ${e.message}`); });
      masks.push(s.mask);
    }
    for (const m of masks.slice(1)) expect(Array.from(m)).to.deep.equal(Array.from(masks[0]));
  });

  it('keeps a bounded set of render targets over many sizes (crops), and a size renders the same after its targets were reused', async function () {
    const stats = () => renderer.evaluate(() => (window as unknown as { vls: { stats: () => Record<string, number> } }).vls.stats());
    const at = (w: number) => spec({ width: w, height: w, passes: ['beauty', 'albedo', 'depth'] });
    const first = await renderer.renderSample(at(64));
    const counts: number[] = [];
    for (const sizes of [[72, 80, 88, 96, 104, 112], [120, 128 + 8, 144, 152, 160, 168]]) {
      for (const w of sizes) await renderer.renderSample(at(w));
      counts.push((await stats()).gpuTextures);
    }
    // six more sizes, no more GPU textures: the least recently used targets were resized
    expect(counts[1], `GPU textures after 6 and after 12 new sizes`).to.equal(counts[0]);
    // a size change draws once (not a new shader variant): equal to a repeat at the same size
    const again = await renderer.renderSample(at(64));
    const repeat = await renderer.renderSample(at(64));
    for (const m of ['beauty', 'albedo', 'depth'] as const) {
      const a = Buffer.from(first.modes[m]!.buffer);
      expect(a.equals(Buffer.from(again.modes[m]!.buffer)), `${m} at 64 px before and after its targets were reused`).to.equal(true);
      expect(a.equals(Buffer.from(repeat.modes[m]!.buffer)), `${m} at 64 px right after a size change and repeated`).to.equal(true);
    }
  });

  it('beauty is linear in light intensity (twice the light, twice the radiance)', async function () {
    const double = await renderer.renderSample(spec({
      lighting: {
        environment: [{ map: 'builtin:city', rotationDeg: 30, intensity: 2 }],
        pointLights: [{ position: [0.4, 0.3, 0.5], color: [1, 0.9, 0.8], intensity: 0.6 }],
      },
      passes: ['beauty'],
    }));
    const a = sample.modes.beauty!, b = double.modes.beauty!;
    let num = 0, den = 0;
    for (let p = 0; p < S * S; p++) {
      if (sample.mask[p] < 0.999) continue;
      for (let c = 0; c < 3; c++) {
        num += Math.abs(b[p * 4 + c] - 2 * a[p * 4 + c]);
        den += 2 * a[p * 4 + c];
      }
    }
    expect(num / den).to.be.lessThan(0.005); // relative L1; half-float rounding is ~0.05%
  });

  for (const msaa of [1, 4] as const) {
    it(`beauty = albedo x diffuse + specular on the mask (msaa ${msaa})`, async function () {
      // msaa 1: beauty and intrinsics are both point-sampled, so the shader's exact identity is
      // checked (what remains is half-float storage). msaa 4: beauty is anti-aliased, so pixels
      // covering several triangles average their shading (measured ~0.3% mean).
      const s = await renderer.renderSample(spec({ render: { msaa } }));
      const { beauty, albedo, diffuse, specular, depth: d } = s.modes as Required<RenderedSample['modes']>;
      let num = 0, den = 0, worst = 0;
      for (let p = 0; p < S * S; p++) {
        if (s.mask[p] < 0.999) continue;
        // Skip pixels with a depth step to a neighbour (inner silhouettes such as nose over cheek).
        const x = p % S, y = Math.floor(p / S);
        if (x === 0 || y === 0 || x === S - 1 || y === S - 1) continue;
        if ([p - 1, p + 1, p - S, p + S].some((q) => Math.abs(d[q] - d[p]) > 0.004)) continue;
        for (let c = 0; c < 3; c++) {
          const rec = albedo[p * 3 + c] * diffuse[p * 3 + c] + specular[p * 3 + c];
          const err = Math.abs(rec - beauty[p * 4 + c]);
          num += err;
          den += beauty[p * 4 + c];
          worst = Math.max(worst, err / Math.max(beauty[p * 4 + c], 0.05));
        }
      }
      if (msaa === 1) {
        expect(num / den).to.be.lessThan(0.001);
        expect(worst).to.be.lessThan(0.005);
      } else {
        expect(num / den).to.be.lessThan(0.006);
      }
    });
  }

  it('EXR files read back identically with an independent reader (OpenImageIO)', function () {
    let stats: string;
    try {
      stats = execFileSync('oiiotool', ['--stats', path.join(dir, 'beauty.exr')], { encoding: 'utf8' });
    } catch {
      skipBecause(this, 'OpenImageIO oiiotool not installed (Debian: openimageio-tools)');
      return;
    }
    const header = execFileSync('exrheader', [path.join(dir, 'depth.exr')], { encoding: 'utf8' });
    expect(header).to.match(/Z, 32-bit floating-point/);
    expect(header).to.match(/zip/i);
    const avg = /Stats Avg: ([\d.e+-]+) ([\d.e+-]+) ([\d.e+-]+) ([\d.e+-]+)/.exec(stats);
    expect(avg, stats).to.not.equal(null);
    const b = sample.modes.beauty!;
    const mean = [0, 0, 0, 0];
    for (let p = 0; p < S * S; p++) for (let c = 0; c < 4; c++) mean[c] += (c === 3 ? sample.mask[p] : b[p * 4 + c]) / (S * S);
    for (let c = 0; c < 4; c++) expect(Number(avg![c + 1])).to.be.closeTo(mean[c], 1e-3 + mean[c] * 2e-3);
  });

  it('PNG previews read back with an independent reader (PIL)', function () {
    let out: string;
    try {
      out = execFileSync('/usr/bin/python3', ['-c', `
import sys, json
from PIL import Image
m = Image.open(sys.argv[1]); p = Image.open(sys.argv[2])
print(json.dumps([m.mode, m.size, m.getpixel((0,0)), m.getpixel((${S / 2},${S / 2})), p.mode, p.size]))`, path.join(dir, 'mask.png'), path.join(dir, 'preview.png')], { encoding: 'utf8' });
    } catch {
      skipBecause(this, 'python3 with Pillow not installed (Debian: python3-pil)');
    }
    const [mode, size, corner, centre, pmode, psize] = JSON.parse(out);
    expect(mode).to.match(/^I/); // 16-bit greyscale
    expect(size).to.deep.equal([S, S]);
    expect(corner).to.equal(0);
    expect(centre).to.equal(Math.round(sample.mask[(S / 2) * S + S / 2] * 65535));
    expect(pmode).to.equal('RGBA');
    expect(psize).to.deep.equal([S, S]);
  });

  it('environment orientation: +X lights the right, +Y the top, +Z the face; rotation turns +Z into +X', async function () {
    const maps = {
      px: await saveEnv(path.join(tmp, 'px.exr'), lobeMap([1, 0, 0])),
      py: await saveEnv(path.join(tmp, 'py.exr'), lobeMap([0, 1, 0])),
      pz: await saveEnv(path.join(tmp, 'pz.exr'), lobeMap([0, 0, 1])),
    };
    const front = { yawDeg: 0, pitchDeg: 0, distance: 0.75, fovYDeg: 25 };
    const run = async (map: string, rotationDeg = 0) => {
      const s = await renderer.renderSample(spec({ width: 64, height: 64, camera: front, lighting: { environment: [{ map, rotationDeg }], pointLights: [] }, passes: ['diffuse'] }));
      return halves(s.modes.diffuse!, 3, 64, 64);
    };
    const px = await run(maps.px);
    expect(px.r).to.be.greaterThan(5 * px.l);
    const py = await run(maps.py);
    expect(py.t).to.be.greaterThan(1.5 * py.b);
    const pz = await run(maps.pz);
    const pzBack = await run(maps.pz, 180);
    expect(pz.l + pz.r).to.be.greaterThan(5 * (pzBack.l + pzBack.r));
    const pz90 = await run(maps.pz, 90);
    expect(pz90.r).to.be.greaterThan(5 * pz90.l);
  });

  it('a bad head folder gives an error naming the file', async function () {
    const bad = path.join(tmp, 'badhead');
    fs.mkdirSync(bad);
    let err = await resolveHead(bad).catch((e: Error) => e);
    expect(String(err)).to.contain(path.join(bad, 'head.json'));
    const desc = { id: 'bad', mesh: 'mesh.glb', scaleToMetres: 1, uvOrigin: 'top-left', maps: { albedo: 'albedo.png' } };
    fs.writeFileSync(path.join(bad, 'head.json'), JSON.stringify(desc));
    err = await resolveHead(bad).catch((e: Error) => e);
    expect(String(err)).to.contain(path.join(bad, 'mesh.glb')).and.contain('does not exist');
    fs.writeFileSync(path.join(bad, 'mesh.glb'), Buffer.concat([Buffer.from('glTF\x02\x00\x00\x00\xff\x00\x00\x00', 'binary'), Buffer.alloc(16)]));
    fs.writeFileSync(path.join(bad, 'albedo.png'), Buffer.alloc(10));
    err = await resolveHead(bad).catch((e: Error) => e);
    expect(String(err)).to.contain(path.join(bad, 'mesh.glb')).and.match(/truncated|corrupt/);
    const proc = await resolveHead('procedural');
    fs.copyFileSync(proc.files.mesh, path.join(bad, 'mesh.glb'));
    err = await resolveHead(bad).catch((e: Error) => e);
    expect(String(err)).to.contain(path.join(bad, 'albedo.png')).and.contain('not a readable image');
    fs.writeFileSync(path.join(bad, 'head.json'), JSON.stringify({ ...desc, scaleToMetres: -1 }));
    err = await resolveHead(bad).catch((e: Error) => e);
    expect(String(err)).to.contain('head.json').and.contain('"scaleToMetres"');
  });

  it('a bad spec gives an error naming the field', function () {
    expect(() => parseSampleSpec({ camera: { fovYDeg: -5 } })).to.throw(/camera\.fovYDeg/);
    expect(() => parseSampleSpec({ passes: ['beauty', 'bogus'] })).to.throw(/passes\.1.*unknown pass "bogus"/);
    expect(() => parseSampleSpec({ lighting: { pointLights: [{ position: [0, 0], intensity: 1 }] } })).to.throw(/lighting\.pointLights\.0\.position/);
    expect(() => parseSampleSpec({ widht: 5 })).to.throw(/widht/);
  });

  it('a missing environment map fails with its path', async function () {
    const missing = path.join(tmp, 'nope.hdr');
    const err = await renderer.renderSample(spec({ lighting: { environment: [{ map: missing }], pointLights: [] } })).catch((e: Error) => e);
    expect(String(err)).to.contain(missing);
  });

  it('renders the real scan with its texture on the face (matches the asset\'s independent front albedo view)', async function () {
    if (!fs.existsSync(SHARED_LPS)) skipBecause(this, 'Lee Perry-Smith scan absent (../shared/assets or npm run fetch-assets)');
    // Near-orthographic front view of the albedo pass, framed like preview_front_albedo.png.
    const render = async (headDir: string) => {
      const s = await renderer.renderSample(spec({
        head: headDir,
        width: 200,
        height: 200,
        camera: { yawDeg: 0, pitchDeg: 0, distance: 20, fovYDeg: 1.04, target: [0, 0, 0] },
        passes: ['albedo', 'mask'],
      }));
      return s;
    };
    // Crop each image to its foreground bounding box and resize to 64x64 (framings differ).
    const normalise = async (grey: Uint8Array, fg: (p: number) => boolean, w: number, h: number) => {
      let x0 = w, y0 = h, x1 = 0, y1 = 0;
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if (fg(y * w + x)) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
      return sharp(Buffer.from(grey), { raw: { width: w, height: h, channels: 1 } })
        .extract({ left: x0, top: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 }).resize(64, 64, { fit: 'fill' }).raw().toBuffer();
    };
    const toGrey = (s: RenderedSample) => normalise(Uint8Array.from({ length: 200 * 200 }, (_, p) =>
      255 * srgbEncode(0.2126 * s.modes.albedo![p * 3] + 0.7152 * s.modes.albedo![p * 3 + 1] + 0.0722 * s.modes.albedo![p * 3 + 2])), (p) => s.mask[p] > 0.5, 200, 200);
    const refImg = await sharp(path.join(SHARED_LPS, 'preview_front_albedo.png')).greyscale().raw().toBuffer({ resolveWithObject: true });
    const bg = refImg.data[0];
    const ref = await normalise(refImg.data, (p) => Math.abs(refImg.data[p] - bg) > 6, refImg.info.width, refImg.info.height);
    const ncc = (g: Buffer) => {
      const idx = [...g.keys()].filter((p) => g[p] > 20 && ref[p] > 20);
      const ma = idx.reduce((s, p) => s + g[p], 0) / idx.length;
      const mb = idx.reduce((s, p) => s + ref[p], 0) / idx.length;
      let num = 0, va = 0, vb = 0;
      for (const p of idx) { const a = g[p] - ma, b = ref[p] - mb; num += a * b; va += a * a; vb += b * b; }
      return num / Math.sqrt(va * vb);
    };
    const good = ncc(await toGrey(await render(LPS)));
    // The same scan with the wrong UV convention: texture lands in the wrong place.
    const wrongDir = path.join(tmp, 'lps-wrong-uv');
    fs.mkdirSync(wrongDir, { recursive: true });
    const desc = JSON.parse(fs.readFileSync(path.join(LPS, 'head.json'), 'utf8'));
    // (its label map resolves against the head.json folder: point at the original)
    fs.writeFileSync(path.join(wrongDir, 'head.json'), JSON.stringify({ ...desc, uvOrigin: 'top-left', baseDir: SHARED_LPS, labels: { ...desc.labels, map: path.join(LPS, desc.labels.map) } }));
    const wrong = ncc(await toGrey(await render(wrongDir)));
    expect(good).to.be.greaterThan(0.9);
    expect(good).to.be.greaterThan(wrong + 0.1); // measured 0.99 vs 0.81
  });
});

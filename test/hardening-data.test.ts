// Hardening: no garbage mesh, light value or environment map yields silent bad data. Each case
// was a silent NaN/Inf/null dataset (exit 0) before; now it is a clear error naming the file (and
// the field or pass), and nothing is written.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { expect } from 'chai';
import { PROJECT_ROOT } from '../renderer/io/paths.js';
import { resolveHead } from '../renderer/assets/head.js';
import { Rng } from '../renderer/core/rng.js';
import { parseSampleSpec } from '../renderer/core/spec.js';
import { parseBatchConfig } from '../renderer/pipelines/batch/config.js';
import { checkBatchAssets } from '../renderer/pipelines/batch/run.js';
import { encodeLightings } from '../renderer/dataset/encodings.js';
import { decodeEnvMap, readEnvMap } from '../renderer/io/envmap-io.js';
import { writeExr } from '../renderer/io/exr-write.js';
import { Renderer, type RenderedSample } from '../renderer/engine/renderer.js';
import { writeSample } from '../renderer/dataset/write-sample.js';
import { findBrowser } from '../renderer/engine/browser.js';
import { validateSubmission } from '../server/validate.js';
import { skipBecause } from './support/skip.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vls-hard-data-'));

function runScript(script: string, args: string[]): { status: number | null; stderr: string; stdout: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'scripts', script), ...args], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 300_000 });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

/** A copy of the procedural head folder whose GLB BIN chunk is seeded random bytes (header and JSON intact). */
async function garbageGlbHead(name: string): Promise<{ dir: string; glb: string }> {
  const src = await resolveHead('procedural');
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  const srcDir = path.dirname(src.descriptorPath);
  for (const f of fs.readdirSync(srcDir)) fs.copyFileSync(path.join(srcDir, f), path.join(dir, f));
  const glb = path.join(dir, path.basename(src.files.mesh));
  const buf = fs.readFileSync(glb);
  const jsonLen = buf.readUInt32LE(12);
  const binStart = 20 + jsonLen + 8;
  const rng = new Rng(1234);
  for (let i = binStart; i < buf.length; i++) buf[i] = rng.nextUint32() & 0xff;
  fs.writeFileSync(glb, buf);
  return { dir, glb };
}

function headFolderCopy(name: string, mutate: (d: Record<string, unknown>) => void, srcDir: string): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  for (const f of fs.readdirSync(srcDir)) fs.copyFileSync(path.join(srcDir, f), path.join(dir, f));
  const d = JSON.parse(fs.readFileSync(path.join(dir, 'head.json'), 'utf8'));
  mutate(d);
  fs.writeFileSync(path.join(dir, 'head.json'), JSON.stringify(d));
  return dir;
}

describe('hardening: data (meshes, light values, environment maps)', function () {
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  describe('garbage meshes are refused before the browser starts', function () {
    it('a GLB with a random BIN chunk: resolveHead names the file', async function () {
      const { dir, glb } = await garbageGlbHead('garbage-glb');
      let err: Error | null = null;
      await resolveHead(dir).catch((e: Error) => (err = e));
      expect(err, 'garbage GLB accepted').to.not.equal(null);
      expect(err!.message).to.include(glb).and.match(/not usable geometry/);
    });

    it('render-one on it exits non-zero naming the file, no sample folder written', async function () {
      const { dir, glb } = await garbageGlbHead('garbage-glb-cli');
      const spec = path.join(tmp, 'garbage-spec.json');
      fs.writeFileSync(spec, JSON.stringify({ head: dir, width: 32, height: 32, lighting: { environment: [{ map: 'builtin:studio' }] } }));
      const out = path.join(tmp, 'garbage-out');
      const r = runScript('render-one.ts', [spec, '--out', out, '--quiet']);
      expect(r.status, r.stderr).to.equal(1);
      expect(r.stderr).to.include(glb);
      expect(fs.existsSync(out), 'sample folder written').to.equal(false);
      expect(fs.readdirSync(tmp).filter((f) => f.startsWith('garbage-out')), 'temp folders left').to.deep.equal([]);
    });

    it('a 1-sample batch on it exits non-zero naming the field and the file, no samples written', async function () {
      const { dir, glb } = await garbageGlbHead('garbage-glb-batch');
      const cfg = path.join(tmp, 'garbage-batch.json');
      fs.writeFileSync(cfg, JSON.stringify({ name: 'garbage', heads: [dir], envMaps: ['builtin:studio'], samples: 1, width: 32, height: 32 }));
      const out = path.join(tmp, 'garbage-batch-out');
      const r = runScript('render-batch.ts', [cfg, '--out', out, '--workers', '1']);
      expect(r.status, r.stderr).to.not.equal(0);
      expect(r.stderr).to.include('heads.0').and.include(glb);
      const samples = path.join(out, 'samples');
      expect(fs.existsSync(samples) ? fs.readdirSync(samples) : [], 'samples written').to.deep.equal([]);
    });

    it('OBJ: a NaN vertex, an out-of-range face index and a flat mesh are refused; a good OBJ passes', async function () {
      const src = await resolveHead('procedural');
      const good = 'v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nvn 0 0 1\nf 1//1 2//1 3//1\nf 1//1 2//1 4//1\n';
      const cases: [string, string, RegExp | null][] = [
        ['good', good, null],
        ['nan', good.replace('v 1 0 0', 'v nan 0 0'), /line 2: "v" has a non-finite/],
        ['range', good + 'f 1 2 9\n', /face vertex index 9 is out of range \(1\.\.4\)/],
        ['flat', 'v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n', /degenerate bounding box/],
      ];
      for (const [name, text, want] of cases) {
        const dir = path.join(tmp, `obj-${name}`);
        fs.mkdirSync(dir);
        fs.writeFileSync(path.join(dir, 'head.obj'), text);
        const desc = JSON.parse(fs.readFileSync(src.descriptorPath, 'utf8'));
        fs.writeFileSync(path.join(dir, 'head.json'), JSON.stringify({ ...desc, labels: { ...desc.labels, map: path.join(path.dirname(src.descriptorPath), 'labels.png') }, id: `obj-${name}`, mesh: path.join(dir, 'head.obj'), baseDir: path.dirname(src.descriptorPath), uvOrigin: 'bottom-left' }));
        let err: Error | null = null;
        await resolveHead(dir).catch((e: Error) => (err = e));
        if (want === null) expect(err, `${name}: ${(err as Error | null)?.message}`).to.equal(null);
        else {
          expect(err, `${name} accepted`).to.not.equal(null);
          expect(err!.message, name).to.include(path.join(dir, 'head.obj')).and.match(want);
        }
      }
    });
  });

  describe('light values are bounded', function () {
    it('sample spec: intensity/weight 1e308, a point light of 1e30 and an overflowing product are refused naming the field', function () {
      const bad: [unknown, string][] = [
        [{ environment: [{ map: 'builtin:studio', intensity: 1e308, weight: 1e308 }] }, 'lighting.environment.0.intensity'],
        [{ environment: [{ map: 'builtin:studio', weight: 1e308 }] }, 'lighting.environment.0.weight'],
        [{ environment: [{ map: 'builtin:studio', intensity: 1e4, weight: 1e4 }] }, 'lighting.environment.0.intensity'],
        [{ pointLights: [{ position: [0, 0, 1], intensity: 1e30 }] }, 'lighting.pointLights.0.intensity'],
      ];
      for (const [lighting, field] of bad) {
        expect(() => parseSampleSpec({ lighting }), JSON.stringify(lighting)).to.throw(`field "${field}"`);
      }
      expect(() => parseSampleSpec({ lighting: { environment: [{ map: 'builtin:studio', intensity: 1e3, weight: 1e3 }], pointLights: [{ position: [0, 0, 1], intensity: 1e6 }] } })).to.not.throw();
    });

    it('batch config: G and H intensity ranges beyond the limit are refused naming the field', function () {
      expect(() => parseBatchConfig({ name: 'x', lighting: { G: { intensityRange: [0, 1e308] } } })).to.throw('field "lighting.G.intensityRange.1"');
      expect(() => parseBatchConfig({ name: 'x', lighting: { H: { intensityRange: [1, 1e30] } } })).to.throw('field "lighting.H.intensityRange.1"');
    });

    it('lighting encodings that overflow float32 are refused, naming the encoding and the maps', async function () {
      // A legal intensity (1e6) on a map whose values are near float32 max: the sum overflows.
      const W = 32;
      const H = 16;
      const plane = new Float32Array(W * H).fill(3e38);
      const file = path.join(tmp, 'huge.exr');
      await writeExr(file, { width: W, height: H, channels: ['B', 'G', 'R'].map((name) => ({ name, data: plane })) }, { pixelType: 'float' });
      let err: Error | null = null;
      await encodeLightings([{ environment: [{ map: file, rotationDeg: 0, intensity: 1e6, weight: 1 }], pointLights: [] }], 0.1, [0, 0, 0]).catch((e: Error) => (err = e));
      expect(err, 'Inf encoding accepted').to.not.equal(null);
      expect(err!.message).to.match(/env_latlong16\.f32 has a non-finite value/).and.include(file);
    });
  });

  describe('environment maps', function () {
    it('a 16384x8192 map is refused from its header, naming the file and the limit', function () {
      const hdr = Buffer.from('#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 8192 +X 16384\n' + '\0'.repeat(64), 'latin1');
      expect(() => decodeEnvMap(hdr, '/data/huge.hdr')).to.throw(/\/data\/huge\.hdr: .*16384x8192, larger than the limit 8192x4096/);
    });

    it('an EXR whose header says 16384x8192 is refused the same way', async function () {
      const file = path.join(tmp, 'small.exr');
      const plane = new Float32Array(8 * 4).fill(1);
      await writeExr(file, { width: 8, height: 4, channels: ['B', 'G', 'R'].map((name) => ({ name, data: plane })) }, { pixelType: 'half', compression: 'none' });
      const buf = fs.readFileSync(file);
      const at = buf.indexOf(Buffer.from('dataWindow\0box2i\0', 'latin1'));
      expect(at).to.be.greaterThan(0);
      const box = at + 'dataWindow\0box2i\0'.length + 4;
      buf.writeInt32LE(16383, box + 8);
      buf.writeInt32LE(8191, box + 12);
      const big = path.join(tmp, 'big.exr');
      fs.writeFileSync(big, buf);
      let err: Error | null = null;
      await readEnvMap(big, { cache: false }).catch((e: Error) => (err = e));
      expect(err).to.not.equal(null);
      expect(err!.message).to.include(big).and.match(/16384x8192, larger than the limit 8192x4096/);
    });

    it('a batch checks every map of a map folder up front, naming the field and the bad file', async function () {
      const dir = path.join(tmp, 'maps');
      fs.mkdirSync(dir);
      const plane = new Float32Array(16 * 8).fill(0.5);
      await writeExr(path.join(dir, 'a_good.exr'), { width: 16, height: 8, channels: ['B', 'G', 'R'].map((name) => ({ name, data: plane })) });
      await writeExr(path.join(dir, 'b_square.exr'), { width: 8, height: 8, channels: ['B', 'G', 'R'].map((name) => ({ name, data: plane.subarray(0, 64) })) });
      const good = parseBatchConfig({ name: 'maps-ok', envMaps: [path.join(dir, 'a_good.exr')], samples: 1 });
      await checkBatchAssets(good);
      const truncated = path.join(dir, 'c_truncated.hdr');
      fs.writeFileSync(truncated, '#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 8 +X 16\n\x02\x02\x00\x10');
      for (const [bad, why] of [
        [path.join(dir, 'b_square.exr'), /wrong aspect 8x8/],
        [truncated, /truncated/],
      ] as const) {
        const cfgDir = path.join(tmp, `maps-${path.basename(bad)}`);
        fs.mkdirSync(cfgDir);
        fs.copyFileSync(path.join(dir, 'a_good.exr'), path.join(cfgDir, 'a_good.exr'));
        fs.copyFileSync(bad, path.join(cfgDir, path.basename(bad)));
        const cfg = parseBatchConfig({ name: 'maps', envMaps: ['builtin:studio', cfgDir], samples: 1 });
        let err: Error | null = null;
        await checkBatchAssets(cfg).catch((e: Error) => (err = e));
        expect(err, `${bad} accepted`).to.not.equal(null);
        expect(err!.message).to.include('field "envMaps.1"').and.include(path.join(cfgDir, path.basename(bad))).and.match(why);
      }
    });
  });

  describe('head descriptors over HTTP stay inside the asset roots', function () {
    it('a descriptor inside the roots whose baseDir points outside is refused; one naming only files inside passes', async function () {
      const src = await resolveHead('procedural');
      const root = path.join(tmp, 'asset-root');
      fs.mkdirSync(root);
      const inside = headFolderCopy(path.join('asset-root', 'inside'), () => undefined, path.dirname(src.descriptorPath));
      const escaping = path.join(root, 'escaping');
      fs.mkdirSync(escaping);
      const desc = JSON.parse(fs.readFileSync(src.descriptorPath, 'utf8'));
      // Points at the procedural cache folder, outside the root.
      fs.writeFileSync(path.join(escaping, 'head.json'), JSON.stringify({ ...desc, baseDir: path.relative(escaping, path.dirname(src.descriptorPath)) }));
      const submit = (head: string) =>
        validateSubmission({ config: { name: 'hd', heads: [path.relative(process.cwd(), head)], envMaps: ['builtin:studio'], samples: 1 } }, { assetRoots: [root], outputRoot: path.join(tmp, 'srv-out') });
      await submit(inside);
      let err: (Error & { issues?: { path: string; message: string }[] }) | null = null;
      await submit(escaping).catch((e: Error) => (err = e));
      expect(err, 'escaping descriptor accepted').to.not.equal(null);
      expect(err!.issues?.[0].path).to.equal('config.heads.0');
      expect(err!.issues?.[0].message).to.include(path.dirname(src.descriptorPath)).and.include('not inside the server');
    });

    it('a scan folder entry is refused before the config is parsed (no folder listed, no mesh read)', async function () {
      let err: (Error & { issues?: { path: string; message: string }[] }) | null = null;
      // A folder that does not exist: the refusal must come first, not "does not exist" (which would tell what exists).
      await validateSubmission({ config: { name: 'hd', heads: ['procedural', { source: 'scans', path: '/nonexistent-vls-scans' }], envMaps: ['builtin:studio'], samples: 1 } }, { assetRoots: [tmp], outputRoot: path.join(tmp, 'srv-out') }).catch((e: Error) => (err = e));
      expect(err).to.not.equal(null);
      expect(err!.issues?.[0].path).to.equal('config.heads.1');
      expect(err!.message).to.include('not accepted over HTTP').and.not.include('does not exist');
    });
  });

  describe('rendered values are checked before a sample is written', function () {
    let renderer: Renderer;
    let sample: RenderedSample;
    before(async function () {
      try {
        await findBrowser();
      } catch (e) {
        skipBecause(this, `no Chromium/Chrome: ${(e as Error).message}`);
      }
      renderer = await Renderer.launch({});
      sample = await renderer.renderSample(parseSampleSpec({ width: 32, height: 32, lighting: { environment: [{ map: 'builtin:studio' }] } }));
    });
    after(async () => renderer?.close());

    const copyWith = (s: RenderedSample, mode: 'beauty' | 'normal', i: number, v: number): RenderedSample => {
      const m = new Float32Array(s.modes[mode]!);
      m[i] = v;
      return { ...s, modes: { ...s.modes, [mode]: m } };
    };

    it('a NaN in a pass is refused naming the head file and the pass; nothing is written', async function () {
      for (const [mode, pass] of [['beauty', 'beauty'], ['normal', 'normal']] as const) {
        const out = path.join(tmp, `nan-${mode}`);
        let err: Error | null = null;
        await writeSample(out, copyWith(sample, mode, 5, NaN), renderer.info).catch((e: Error) => (err = e));
        expect(err, `NaN ${mode} written`).to.not.equal(null);
        expect(err!.message).to.include(sample.head.descriptorPath).and.include(`pass ${pass}`).and.match(/non-finite/);
        expect(fs.readdirSync(tmp).filter((f) => f.startsWith(`nan-${mode}`)), 'folder written').to.deep.equal([]);
      }
      // The clean sample writes (so the check is not refusing everything).
      await writeSample(path.join(tmp, 'clean'), sample, renderer.info);
      expect(fs.existsSync(path.join(tmp, 'clean', 'meta.json'))).to.equal(true);
    });

    it('a point light beyond the half range (legal intensity) renders Inf and is refused, not written', async function () {
      const hot = await renderer.renderSample(parseSampleSpec({ width: 32, height: 32, lighting: { pointLights: [{ position: [0, 0, 0.3], intensity: 1e6 }] } }));
      const out = path.join(tmp, 'hot');
      let err: Error | null = null;
      await writeSample(out, hot, renderer.info).catch((e: Error) => (err = e));
      expect(err, 'Inf beauty written').to.not.equal(null);
      expect(err!.message).to.include(hot.head.descriptorPath).and.match(/pass beauty.*non-finite.*65504/);
      expect(fs.existsSync(out)).to.equal(false);
    });

    it('meta.json never holds a non-finite number: the writer names the file and the key path', async function () {
      const out = path.join(tmp, 'meta-inf');
      let err: Error | null = null;
      await writeSample(out, sample, renderer.info, { extra: { draws: { b: [0.5, Infinity] } } }).catch((e: Error) => (err = e));
      expect(err, 'Infinity serialised as null').to.not.equal(null);
      expect(err!.message).to.include('meta.json').and.include('"extra.draws.b.1"');
      expect(fs.readdirSync(tmp).filter((f) => f.startsWith('meta-inf')), 'folder written').to.deep.equal([]);
    });
  });
});

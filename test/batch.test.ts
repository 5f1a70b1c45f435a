/**
 * Batch engine (renderer/pipelines/batch): config validation, the deterministic planner, and real
 * batches in Chromium: 1 vs 2 workers give the same dataset, interrupted runs resume without
 * duplicates or gaps, a killed browser is replaced and its sample retried, and the CLI's
 * complete / Ctrl-C paths. Images are 64 px with cheap render settings to keep this short.
 */
import { expect } from 'chai';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { parseBatchConfig, loadBatchConfig, batchConfigJsonSchema, type BatchConfigInput, type BatchConfig } from '../renderer/pipelines/batch/config.js';
import { planSample, LIGHTING_INDEPENDENT_PASSES } from '../renderer/pipelines/batch/plan.js';
import { encodeLightings } from '../renderer/dataset/encodings.js';
import { cropRendered } from '../renderer/develop/crop.js';
import { runBatch, BatchAbortedError, findInconsistentRenders, type BatchProgress } from '../renderer/pipelines/batch/run.js';
import { listFiles } from '../renderer/dataset/layout.js';
import { lightingToEnv } from '../renderer/core/lighting.js';
import { loadEnvMap } from '../renderer/assets/environment.js';
import { resolveCamera } from '../renderer/core/camera.js';
import { PROJECT_ROOT } from '../renderer/io/paths.js';
import type { Renderer, RenderedSample } from '../renderer/engine/renderer.js';
import type { EnvImage } from '../renderer/core/latlong.js';
import { resolveAssetPath, SHARED_ASSETS } from '../renderer/io/asset-roots.js';

const LPS = 'assets/heads/lee_perry_smith';
const HAVE_LPS = fs.existsSync(path.join(PROJECT_ROOT, LPS, 'head.json')) && fs.existsSync(resolveAssetPath(path.join(SHARED_ASSETS, 'heads', 'lee_perry_smith', 'LeePerrySmith.glb')));

const BASE: BatchConfigInput = {
  name: 'test-batch',
  heads: HAVE_LPS ? ['procedural', LPS] : ['procedural'],
  envMaps: ['builtin:studio', 'builtin:city', 'builtin:forest'],
  width: 64,
  height: 64,
  samples: 4,
  seed: 11,
  shardSize: 2,
  augment: { cropProbability: 0.5, cropScale: [0.75, 1] },
  render: { msaa: 1, envCubeSize: 32, shadowMapSize: 256 },
  background: 'transparent',
};
const config = (over: Partial<BatchConfigInput> = {}): BatchConfig => parseBatchConfig({ ...BASE, ...over });

function strip<T extends Record<string, unknown>>(o: T, keys: string[]): Record<string, unknown> {
  const c: Record<string, unknown> = { ...o };
  for (const k of keys) delete c[k];
  return c;
}

/**
 * Every sample folder's reproducible content: sample.json minus run, meta.json minus timings, and
 * the bytes (sha256) of every other file: the pixels must not depend on which samples the same
 * renderer drew before (with 2 workers, sample 2 is a renderer's first; with 1, it follows 1).
 */
function snapshot(outDir: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of listFiles(path.join(outDir, 'samples'))) {
    const p = path.join(outDir, 'samples', f);
    if (f.endsWith('sample.json')) out[f] = strip(JSON.parse(fs.readFileSync(p, 'utf8')), ['run']);
    else if (f.endsWith('meta.json')) out[f] = strip(JSON.parse(fs.readFileSync(p, 'utf8')), ['timings', 'createdAt']);
    else out[f] = createHash('sha256').update(fs.readFileSync(p)).digest('hex');
  }
  return out;
}

function tempLeftovers(outDir: string): string[] {
  const bad: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (/\.tmp-|\.old-/.test(e.name)) bad.push(path.join(d, e.name));
      if (e.isDirectory()) walk(path.join(d, e.name));
    }
  };
  walk(outDir);
  return bad;
}

function sampleDirs(outDir: string): string[] {
  return fs.readdirSync(path.join(outDir, 'samples')).sort();
}

describe('batch engine', function () {
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vls-batch-'));
  });
  after(() => {
    if (!process.env.VLS_KEEP_TEST_OUTPUT) fs.rmSync(tmp, { recursive: true, force: true });
  });

  describe('config', () => {
    it('fills documented defaults and exports a JSON Schema', () => {
      const c = parseBatchConfig({ name: 'x' });
      expect(c.heads).to.deep.equal(['procedural']);
      expect(c.envMaps.length).to.be.greaterThan(1);
      expect(c.lighting.mode).to.equal('triplet');
      expect(c.lighting.H.count).to.deep.equal([1, 3]);
      expect(c.lighting.H.maxDistance).to.equal(1.5);
      expect(c.workers).to.equal('auto');
      const schema = batchConfigJsonSchema() as { properties: Record<string, { description?: string }> };
      for (const k of ['heads', 'envMaps', 'camera', 'augment', 'lighting', 'passes', 'workers', 'output']) expect(schema.properties[k]?.description, k).to.be.a('string');
      const onDisk = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'scenes', 'batch.schema.json'), 'utf8'));
      expect(onDisk, 'scenes/batch.schema.json is stale: npm run export-schema').to.deep.equal(JSON.parse(JSON.stringify(schema)));
      expect(() => loadBatchConfig(path.join(PROJECT_ROOT, 'scenes', 'default.json'))).not.to.throw();
    });

    it('names the file and the field path in errors', () => {
      const bad = (raw: unknown) => {
        try {
          parseBatchConfig(raw, 'batch config scenes/bad.json');
        } catch (err) {
          return (err as Error).message;
        }
        throw new Error('expected an error');
      };
      expect(bad({ camera: { yawDeg: [30, -30] } })).to.match(/batch config scenes\/bad\.json: field "camera\.yawDeg": .*lo <= hi/);
      expect(bad({ camera: { pitchDeg: [0, 95] } })).to.contain('field "camera.pitchDeg.1"');
      expect(bad({ passes: ['beauty', 'bogus'] })).to.match(/field "passes\.1": unknown pass "bogus"/);
      expect(bad({ lighting: { H: { count: [1, 9] } } })).to.contain('field "lighting.H.count.1"');
      expect(bad({ lighting: { mode: 'quad' } })).to.contain('field "lighting.mode"');
      expect(bad({ camera: { yaw: [0, 1] } })).to.match(/field "camera".*yaw/);
      expect(bad({ samples: 0 })).to.contain('field "samples"');
      const file = path.join(tmp, 'bad.json');
      fs.writeFileSync(file, JSON.stringify({ width: 64, camera: { distance: [1, 0.5] } }));
      expect(() => loadBatchConfig(file)).to.throw(`batch config ${file}: field "camera.distance"`);
      fs.writeFileSync(file, '{ "width": 64, ');
      expect(() => loadBatchConfig(file)).to.throw(`batch config ${file} is not valid JSON`);
    });

    it('rejects missing env maps and heads before starting a browser (field path named)', async () => {
      const out = path.join(tmp, 'never');
      let msg = '';
      await runBatch(config({ envMaps: ['builtin:studio', 'builtin:nope'] }), { outDir: out }).catch((e: Error) => (msg = e.message));
      expect(msg).to.match(/field "envMaps\.1": unknown builtin environment map "builtin:nope"/);
      await runBatch(config({ heads: ['procedural', 'no/such/head'] }), { outDir: out }).catch((e: Error) => (msg = e.message));
      expect(msg).to.match(/field "heads\.1": .*does not exist/);
      expect(fs.existsSync(out)).to.equal(false);
    });
  });

  describe('planner and checks', () => {
    it('is deterministic and independent of shard size, workers and sample count', () => {
      const a = config();
      const b = config({ shardSize: 1, workers: 2, samples: 1000, name: 'other' });
      const rnd = Math.random;
      Math.random = () => {
        throw new Error('the planner must not use Math.random');
      };
      try {
        for (let i = 0; i < 12; i++) {
          const p = planSample(a, i);
          expect(planSample(a, i)).to.deep.equal(p);
          expect(planSample(b, i)).to.deep.equal(p);
          expect(JSON.parse(JSON.stringify(p))).to.deep.equal(p); // plain data: survives sample.json
        }
      } finally {
        Math.random = rnd;
      }
      expect(planSample(a, 0)).not.to.deep.equal(planSample(a, 1));
      expect(planSample(config({ seed: 12 }), 0)).not.to.deep.equal(planSample(a, 0));
      // Streams are independent: other lighting options leave the camera and the crop alone.
      const c = config({ lighting: { H: { intensityRange: [1, 2] } } });
      expect(planSample(c, 3).camera).to.deep.equal(planSample(a, 3).camera);
      expect(planSample(c, 3).augment).to.deep.equal(planSample(a, 3).augment);
      expect(planSample(c, 3).lighting.draws.X_i).to.deep.equal(planSample(a, 3).lighting.draws.X_i);
    });

    it('plans a triplet: same head/camera/size, eq. 9 lightings, intrinsic passes once', () => {
      const cfg = config({ samples: 40 });
      const heads = new Set<string>();
      let cropped = 0;
      for (let i = 0; i < 40; i++) {
        const p = planSample(cfg, i);
        heads.add(p.head);
        expect(p.lightings.map((l) => l.key)).to.deep.equal(['input_i', 'input_j', 'target_k']);
        const [li, lj, lk] = p.lightings;
        for (const l of [lj, lk]) {
          expect(l.spec.head).to.equal(li.spec.head);
          expect(l.spec.camera).to.deep.equal(li.spec.camera);
          expect([l.spec.width, l.spec.height]).to.deep.equal([li.spec.width, li.spec.height]);
          expect(l.passes.some((n) => LIGHTING_INDEPENDENT_PASSES.includes(n))).to.equal(false);
          expect(l.passes).to.include('beauty');
        }
        expect(li.passes).to.deep.equal(cfg.passes);
        const d = p.lighting.draws;
        expect(li.lighting.environment).to.have.length(1);
        expect(lj.lighting.environment.map((e) => e.weight)).to.deep.equal([d.b1, 1 - d.b1!]);
        expect(lk.lighting.environment).to.have.length(3);
        expect(lk.lighting.environment[2].weight).to.be.closeTo(1 - d.b2!, 1e-12);
        expect(lk.lighting.pointLights.length).to.be.within(1, 3);
        expect(lk.spec.lighting.pointLights.length).to.equal(lk.lighting.pointLights.length);
        for (const pl of lk.lighting.pointLights) expect(pl.normalized!.distance).to.be.within(1, 2.5);
        const cam = p.camera;
        expect(cam.yawDeg).to.be.within(-30, 30);
        expect(cam.distance).to.be.within(0.65, 0.85);
        const a = p.augment;
        if (a.applied) {
          cropped++;
          expect(a.renderWidth).to.be.greaterThanOrEqual(64);
          expect(a.x0 + 64).to.be.at.most(a.renderWidth);
          expect(a.y0 + 64).to.be.at.most(a.renderHeight);
          expect(a.boxNormalized.x).to.be.at.least(0);
          expect(a.boxNormalized.x + a.boxNormalized.w).to.be.at.most(1 + 1e-12);
          expect(a.boxNormalized.w).to.be.within(0.74, 1);
        } else expect(a.box).to.deep.equal({ x: 0, y: 0, w: 64, h: 64 });
      }
      expect(cropped).to.be.within(5, 35);
      expect(heads.size).to.equal(cfg.heads.length);
      const single = planSample(config({ lighting: { mode: 'single' } }), 5);
      expect(single.lightings.map((l) => l.key)).to.deep.equal(['single']);
      expect(single.lightings[0].lighting).to.deep.equal(planSample(cfg, 5).lightings[0].lighting);
    });

    it('encodes each whole lighting like lightingToEnv (16x16 lat-long) and crops renders exactly', async () => {
      const p = planSample(config(), 2);
      const maps = new Map<string, EnvImage>();
      for (const l of p.lightings) for (const e of l.lighting.environment) maps.set(e.map, await loadEnvMap(e.map));
      const enc = await encodeLightings(p.lightings.map((l) => l.lighting), 0.1, [0, 0, 0]);
      for (const [n, l] of p.lightings.entries()) {
        const ref = lightingToEnv(l.lighting, (id) => maps.get(id)!, 16, 16, 0.1);
        expect(enc[n].latlong.length).to.equal(768);
        expect(Array.from(enc[n].latlong)).to.deep.equal(Array.from(ref.data));
        expect(enc[n].sh9.length).to.equal(27);
      }
      // crop: a 6x4 window at (3, 2) of a 10x8 render
      const W = 10;
      const H = 8;
      const ramp = (ch: number) => Float32Array.from({ length: W * H * ch }, (_, i) => i);
      const cam = resolveCamera({ yawDeg: 0, pitchDeg: 0, rollDeg: 0, distance: 1, fovYDeg: 30, target: [0, 0, 0], width: W, height: H });
      const r = { width: W, height: H, camera: cam, modes: { beauty: ramp(4), depth: ramp(1) }, mask: ramp(1), background: null } as unknown as RenderedSample;
      const plan = { ...p.augment, applied: true, renderWidth: W, renderHeight: H, x0: 3, y0: 2 };
      const c = cropRendered(r, plan, 6, 4);
      expect(c.modes.depth![0]).to.equal(2 * W + 3);
      expect(c.modes.depth![6 + 5]).to.equal(3 * W + 3 + 5);
      expect(Array.from(c.modes.beauty!.subarray(0, 4))).to.deep.equal([(2 * W + 3) * 4, (2 * W + 3) * 4 + 1, (2 * W + 3) * 4 + 2, (2 * W + 3) * 4 + 3]);
      expect(c.camera.K[0][2]).to.equal(W / 2 - 3);
      expect(c.camera.K[1][2]).to.equal(H / 2 - 2);
      expect(c.camera.K[0][0]).to.equal(cam.K[0][0]);
      expect([c.width, c.height, c.camera.width, c.camera.height]).to.deep.equal([6, 4, 6, 4]);
    });

    it('flags renders whose mask disagrees with the other lightings', () => {
      const full = new Float32Array(100).fill(0);
      full.fill(1, 20, 60);
      const partial = full.slice();
      partial.fill(0, 20, 30);
      expect(findInconsistentRenders([full, full, full]).bad).to.deep.equal([]);
      expect(findInconsistentRenders([partial, full, full]).bad).to.deep.equal([0]);
      expect(findInconsistentRenders([full, new Float32Array(100), full]).bad).to.deep.equal([1]);
      expect(findInconsistentRenders([new Float32Array(100), new Float32Array(100)]).bad).to.deep.equal([0, 1]);
      expect(findInconsistentRenders([full]).bad).to.deep.equal([]);
    });
  });

  describe('rendering (real Chromium)', function () {
    this.timeout(240_000);
    let dirA: string;
    let manifestA: Buffer;

    it('renders the same dataset with 1 and 2 workers (byte-identical manifest)', async () => {
      dirA = path.join(tmp, 'w1');
      const dirB = path.join(tmp, 'w2');
      const events: BatchProgress[] = [];
      const a = await runBatch(config({ output: { webdataset: true } }), { outDir: dirA, workers: 1, onProgress: (e) => events.push(e) });
      const b = await runBatch(config(), { outDir: dirB, workers: 2 });
      console.log(`      1 worker: ${a.secondsPerSample.toFixed(2)} s/sample; 2 workers: ${b.secondsPerSample.toFixed(2)} s/sample (64 px, 3 renders per sample)`);
      expect([a.rendered, a.skipped, a.workers, b.rendered, b.workers]).to.deep.equal([4, 0, 1, 4, 2]);
      expect(events.filter((e) => e.type === 'sample').map((e) => e.index)).to.deep.equal([0, 1, 2, 3]);
      manifestA = fs.readFileSync(path.join(dirA, 'manifest.jsonl'));
      expect(fs.readFileSync(path.join(dirB, 'manifest.jsonl')).equals(manifestA)).to.equal(true);
      expect(snapshot(dirB)).to.deep.equal(snapshot(dirA));
      expect(tempLeftovers(dirA)).to.deep.equal([]);
      expect(tempLeftovers(dirB)).to.deep.equal([]);
      expect(fs.existsSync(path.join(dirA, '.lock'))).to.equal(false);

      // manifest: one line per sample, sorted, every file listed and present
      const lines = manifestA.toString('utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(lines.map((l) => l.index)).to.deep.equal([0, 1, 2, 3]);
      for (const l of lines) {
        expect(l).not.to.have.property('run');
        const onDisk = listFiles(path.join(dirA, 'samples', l.id)).map((f) => `samples/${l.id}/${f}`);
        expect(l.files).to.deep.equal(onDisk);
        for (const f of ['sample.json', 'input_i/beauty.exr', 'input_i/albedo.exr', 'input_i/depth.exr', 'input_i/mask.png', 'input_j/beauty.exr', 'target_k/specular.exr', 'target_k/env_latlong16.f32']) {
          expect(l.files).to.include(`samples/${l.id}/${f}`);
        }
        expect(l.files).not.to.include(`samples/${l.id}/input_j/albedo.exr`);
        expect(fs.statSync(path.join(dirA, 'samples', l.id, 'input_j', 'env_latlong16.f32')).size).to.equal(768 * 4);
        expect(fs.statSync(path.join(dirA, 'samples', l.id, 'input_j', 'env_sh9.f32')).size).to.equal(27 * 4);
        expect(l.lightings[2].encodings.sh9).to.have.length(27);
        // the crop is applied to what was rendered: the written camera is the planned window
        const meta = JSON.parse(fs.readFileSync(path.join(dirA, 'samples', l.id, 'input_i', 'meta.json'), 'utf8'));
        expect([meta.camera.width, meta.camera.height]).to.deep.equal([64, 64]);
        expect(meta.camera.K[0][2]).to.be.closeTo(l.augment.renderWidth / 2 - l.augment.x0, 1e-9);
        expect([meta.spec.width, meta.spec.height]).to.deep.equal([l.augment.renderWidth, l.augment.renderHeight]);
      }
      expect(lines.some((l) => l.augment.applied)).to.equal(true);
      // WebDataset shards (shardSize 2): readable by tar, keys = sample ids, every file once
      expect(a.dataset.tars.map((t) => path.basename(t))).to.deep.equal(['test-batch-000000.tar', 'test-batch-000001.tar']);
      const entries = a.dataset.tars.flatMap((t) => execFileSync('tar', ['tf', t], { encoding: 'utf8' }).trim().split('\n'));
      expect(entries).to.have.length(lines.reduce((n, l) => n + l.files.length, 0));
      expect(entries).to.include('000001.input_j.beauty.exr');
      expect(entries).to.include('000003.sample.json');
      const card = fs.readFileSync(path.join(dirA, 'dataset_card.md'), 'utf8');
      const dataset = JSON.parse(fs.readFileSync(path.join(dirA, 'dataset.json'), 'utf8'));
      expect(dataset.samples).to.equal(4);
      expect(dataset.envMaps.every((e: { license: string }) => e.license === 'CC0-1.0')).to.equal(true);
      expect(card).to.contain('Poly Haven');
      if (HAVE_LPS) {
        expect(lines.map((l) => l.head.ref)).to.include(LPS);
        expect(card).to.contain('"Infinite, 3D Head Scan" by Lee Perry-Smith');
        expect(card).to.contain('CC BY 3.0');
        expect(card).to.contain('Required attribution');
      }
    });

    it('resumes an interrupted run without duplicates, gaps or temp folders', async () => {
      const dir = path.join(tmp, 'resume');
      const ac = new AbortController();
      let err: unknown = null;
      await runBatch(config(), {
        outDir: dir,
        workers: 1,
        signal: ac.signal,
        onProgress: (e) => {
          if (e.type === 'sample') ac.abort();
        },
      }).catch((e) => (err = e));
      expect(err).to.be.instanceOf(BatchAbortedError);
      expect((err as BatchAbortedError).done).to.equal(1);
      expect(sampleDirs(dir)).to.deep.equal(['000000']);
      expect(tempLeftovers(dir)).to.deep.equal([]);
      expect(fs.existsSync(path.join(dir, 'manifest.jsonl'))).to.equal(false);
      expect(fs.existsSync(path.join(dir, '.lock'))).to.equal(false);
      // a stale temp folder (e.g. from a killed process) is removed on resume
      fs.mkdirSync(path.join(dir, 'samples', '000002.tmp-1-abc'));
      const first = fs.statSync(path.join(dir, 'samples', '000000', 'sample.json'));
      const r = await runBatch(config(), { outDir: dir, workers: 2 });
      expect([r.rendered, r.skipped]).to.deep.equal([3, 1]);
      expect(fs.statSync(path.join(dir, 'samples', '000000', 'sample.json')).mtimeMs).to.equal(first.mtimeMs); // never re-rendered
      expect(sampleDirs(dir)).to.deep.equal(['000000', '000001', '000002', '000003']);
      expect(tempLeftovers(dir)).to.deep.equal([]);
      expect(fs.readFileSync(path.join(dir, 'manifest.jsonl')).equals(manifestA)).to.equal(true);
      // complete: a rerun renders nothing; a different content config is refused
      const again = await runBatch(config(), { outDir: dir });
      expect([again.rendered, again.skipped, again.renderersStarted]).to.deep.equal([0, 4, 0]);
      let msg = '';
      await runBatch(config({ seed: 12 }), { outDir: dir }).catch((e: Error) => (msg = e.message));
      expect(msg).to.match(/different batch config .*seed/);
    });

    it('replaces a worker whose browser is killed mid-shard and retries its sample; re-renders a lost head', async () => {
      const dir = path.join(tmp, 'kill');
      const started: { worker: number; generation: number; r: Renderer }[] = [];
      let killed = false;
      let corrupted = false;
      const res = await runBatch(config(), {
        outDir: dir,
        workers: 1,
        onWorkerStart: (r, w) => started.push({ ...w, r }),
        onRender: (r, at) => {
          // simulate the renderer losing the head in one lighting (seen with llvmpipe, see run.ts)
          if (at.index === 3 && at.key === 'input_j' && !corrupted) {
            corrupted = true;
            r.mask.fill(0);
          }
          // kill the browser mid-sample: the sample's next lighting renders on a dead browser
          if (at.index === 1 && at.key === 'input_i' && !killed) {
            killed = true;
            at.renderer.kill();
          }
        },
      });
      expect(killed).to.equal(true);
      expect(res.retries).to.be.greaterThanOrEqual(1);
      expect(started.map((s) => s.generation).slice(0, 2)).to.deep.equal([0, 1]);
      expect(res.renderersStarted).to.equal(started.length);
      expect(res.repairs).to.be.greaterThanOrEqual(1);
      const s3 = JSON.parse(fs.readFileSync(path.join(dir, 'samples', '000003', 'sample.json'), 'utf8'));
      expect(s3.run.repairs).to.be.greaterThanOrEqual(1);
      expect(sampleDirs(dir)).to.deep.equal(['000000', '000001', '000002', '000003']);
      expect(tempLeftovers(dir)).to.deep.equal([]);
      expect(fs.readFileSync(path.join(dir, 'manifest.jsonl')).equals(manifestA)).to.equal(true);
      const attempts = sampleDirs(dir).map((id) => JSON.parse(fs.readFileSync(path.join(dir, 'samples', id, 'sample.json'), 'utf8')).run.attempt);
      expect(attempts).to.include(2);
    });

    it('CLI: SIGKILL mid-batch, then the same command: no duplicates, gaps or partial files', async () => {
      const cfgFile = path.join(tmp, 'sigkill.json');
      fs.writeFileSync(cfgFile, JSON.stringify(BASE));
      const dir = path.join(tmp, 'sigkill');
      const run = (onLine?: (line: string, child: ReturnType<typeof spawn>) => void) =>
        new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
          const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'scripts', 'render-batch.ts'), cfgFile, '--out', dir, '--workers', '1'], { cwd: PROJECT_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
          let stderr = '';
          child.stderr!.on('data', (d) => {
            stderr += d;
            for (const line of String(d).split('\n')) onLine?.(line, child);
          });
          child.on('exit', (code, signal) => resolve({ code, signal, stderr }));
        });
      let killed = false;
      const r1 = await run((line, child) => {
        // killed while it renders the second sample: its temp folder and the lock stay behind
        if (!killed && /1\/4 samples/.test(line)) {
          killed = true;
          child.kill('SIGKILL');
        }
      });
      expect(killed, r1.stderr).to.equal(true);
      expect(r1.signal).to.equal('SIGKILL');
      expect(fs.existsSync(path.join(dir, '.lock')), 'a killed run leaves its lock').to.equal(true);
      const before = sampleDirs(dir).filter((d) => /^\d+$/.test(d));
      expect(before.length).to.be.within(1, 3);
      const r2 = await run();
      expect(r2.code, r2.stderr).to.equal(0);
      expect(sampleDirs(dir)).to.deep.equal(['000000', '000001', '000002', '000003']);
      expect(tempLeftovers(dir)).to.deep.equal([]);
      expect(fs.existsSync(path.join(dir, '.lock'))).to.equal(false);
      expect(fs.readFileSync(path.join(dir, 'manifest.jsonl')).equals(manifestA), 'same dataset as an uninterrupted run').to.equal(true);
    });

    it('CLI: Ctrl-C stops cleanly with a resume hint; a complete batch renders nothing', async () => {
      const cfgFile = path.join(tmp, 'cli.json');
      fs.writeFileSync(cfgFile, JSON.stringify(BASE));
      const dir = path.join(tmp, 'cli');
      const cli = (args: string[], onLine?: (line: string, child: ReturnType<typeof spawn>) => void) =>
        new Promise<{ code: number | null; stderr: string; stdout: string }>((resolve) => {
          const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'scripts', 'render-batch.ts'), ...args], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
          let stderr = '';
          let stdout = '';
          child.stdout!.on('data', (d) => (stdout += d));
          child.stderr!.on('data', (d) => {
            stderr += d;
            for (const line of String(d).split('\n')) onLine?.(line, child);
          });
          child.on('exit', (code) => resolve({ code, stderr, stdout }));
        });
      let sent = false;
      const r1 = await cli([cfgFile, '--out', dir], (line, child) => {
        if (!sent && /1\/4 samples/.test(line)) {
          sent = true;
          child.kill('SIGINT');
        }
      });
      expect(sent, r1.stderr).to.equal(true);
      expect(r1.code, r1.stderr).to.equal(130);
      expect(r1.stderr).to.match(/interrupted: \d of 4 samples complete/);
      expect(r1.stderr).to.contain(`Resume with: npm run render-batch -- ${cfgFile} --out ${dir}`);
      expect(tempLeftovers(dir)).to.deep.equal([]);
      expect(fs.existsSync(path.join(dir, '.lock'))).to.equal(false);
      const done = sampleDirs(dir).length;
      expect(done).to.be.within(1, 3);
      // resume in-process, then the CLI on the complete batch
      const r = await runBatch(config(), { outDir: dir });
      expect(r.skipped).to.equal(done);
      expect(fs.readFileSync(path.join(dir, 'manifest.jsonl')).equals(manifestA)).to.equal(true);
      const r2 = await cli([cfgFile, '--out', dir]);
      expect(r2.code, r2.stderr).to.equal(0);
      expect(r2.stderr).to.match(/is complete \(4 samples\); nothing to render/);
      expect(r2.stdout.trim()).to.equal(dir);
      expect(fs.readFileSync(path.join(dir, 'manifest.jsonl')).equals(manifestA)).to.equal(true);
    });
  });
});

/**
 * Hardening of the batch engine's dataset files and mask check (real Chromium, real files):
 * - a kill while wds/ is written leaves temp tars; the rerun removes every temp file (dataset
 *   folder, samples/, wds/), rewrites missing or truncated tars, and writes manifest.jsonl only
 *   after the tars (the manifest is what marks a dataset complete);
 * - the mask-consistency check does not misfire: a 64 px msaa 1 batch renders without repairs or
 *   browser restarts, a one-triangle OBJ head completes, and tolerances follow the image.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseBatchConfig, type BatchConfigInput } from '../renderer/pipelines/batch/config.js';
import { runBatch, finishBatch, findInconsistentRenders } from '../renderer/pipelines/batch/run.js';

const TINY: BatchConfigInput = {
  name: 'hard',
  heads: ['procedural'],
  envMaps: ['builtin:studio', 'builtin:city'],
  width: 32,
  height: 32,
  samples: 2,
  seed: 5,
  shardSize: 1,
  workers: 1,
  render: { msaa: 1, envCubeSize: 32, shadowMapSize: 256 },
  output: { webdataset: true },
};

/** A temp name as fs-atomic's tempPathFor makes it (TEMP_SUFFIX_RE), from a dead pid. */
const deadTemp = (p: string) => `${p}.tmp-999999-0123456789ab`;

function leftovers(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (/\.tmp-/.test(e.name)) out.push(path.relative(dir, path.join(d, e.name)));
      else if (e.isDirectory()) walk(path.join(d, e.name));
    }
  };
  walk(dir);
  return out;
}

describe('hardening: dataset files and mask check', function () {
  this.timeout(300_000);
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vls-hard-ds-'));
  });
  after(() => {
    if (tmp && !process.env.VLS_KEEP_TEST_OUTPUT) fs.rmSync(tmp, { recursive: true, force: true });
  });

  describe('WebDataset tars and the manifest', () => {
    const config = parseBatchConfig(TINY);
    let dir: string;
    let tars: string[];
    let original: Buffer[];
    before(async () => {
      dir = path.join(tmp, 'wds');
      const res = await runBatch(config, { outDir: dir });
      tars = res.dataset.tars;
      original = tars.map((t) => fs.readFileSync(t));
    });

    it('a rerun after a kill while wds/ was written removes every temp file and rewrites the tars', async () => {
      expect(tars.map((t) => path.basename(t))).to.deep.equal(['hard-000000.tar', 'hard-000001.tar']);
      // The kill: a half-written temp tar, tar 0 never renamed, tar 1 truncated (stale), temp
      // files of the manifest and of a sample folder.
      fs.writeFileSync(deadTemp(tars[0]), original[0].subarray(0, 1000));
      fs.rmSync(tars[0]);
      fs.writeFileSync(tars[1], original[1].subarray(0, 2048));
      fs.writeFileSync(deadTemp(path.join(dir, 'manifest.jsonl')), '{"partial');
      fs.mkdirSync(deadTemp(path.join(dir, 'samples', '000001')));
      expect(leftovers(dir)).to.have.length(3);

      const logs: string[] = [];
      const again = await runBatch(config, { outDir: dir, log: (m) => logs.push(m) });
      expect([again.rendered, again.skipped]).to.deep.equal([0, 2]);
      expect(leftovers(dir), 'temp files left').to.deep.equal([]);
      // samples/ temps go when the run starts (prepareBatch), the others when it finishes
      expect(logs.join('\n')).to.contain('000001.tmp-999999-0123456789ab');
      expect(again.dataset.removedTemps.sort()).to.deep.equal(['manifest.jsonl.tmp-999999-0123456789ab', 'wds/hard-000000.tar.tmp-999999-0123456789ab']);
      tars.forEach((t, n) => expect(fs.readFileSync(t).equals(original[n]), `${path.basename(t)} rewritten byte-identical`).to.equal(true));
      const manifestMs = fs.statSync(path.join(dir, 'manifest.jsonl')).mtimeMs;
      for (const t of tars) expect(manifestMs, `manifest.jsonl written after ${path.basename(t)}`).to.be.at.least(fs.statSync(t).mtimeMs);
      expect(fs.statSync(path.join(dir, 'dataset.json')).mtimeMs).to.be.at.least(manifestMs);
    });

    it('a kill between the tars and the manifest leaves no manifest claiming missing tars', async () => {
      const configHash = (JSON.parse(fs.readFileSync(path.join(dir, 'batch.json'), 'utf8')) as { contentHash: string }).contentHash;
      fs.rmSync(tars[1]);
      let err: Error | null = null;
      await finishBatch(config, {
        outDir: dir,
        configHash,
        hooks: {
          afterTars: () => {
            throw new Error('killed');
          },
        },
      }).catch((e: Error) => (err = e));
      expect(err, 'the injected kill').to.be.an('error');
      expect(fs.existsSync(path.join(dir, 'manifest.jsonl')), 'a manifest next to a missing tar is withdrawn before the tars are written').to.equal(false);
      expect(fs.readFileSync(tars[1]).equals(original[1])).to.equal(true);
      const res = await finishBatch(config, { outDir: dir, configHash });
      expect(fs.existsSync(res.manifest)).to.equal(true);
      expect(leftovers(dir)).to.deep.equal([]);
    });
  });

  describe('mask consistency', () => {
    it('a 64 px msaa 1 batch renders with no mask repairs and no browser restarts', async () => {
      const repairs: string[] = [];
      const res = await runBatch(
        parseBatchConfig({ ...TINY, name: 'mask64', width: 64, height: 64, samples: 4, shardSize: 2, envMaps: ['builtin:studio', 'builtin:city', 'builtin:forest'], augment: { cropProbability: 0.5, cropScale: [0.75, 1] }, output: {} }),
        { outDir: path.join(tmp, 'mask64'), onProgress: (p) => p.type === 'repair' && repairs.push(p.message ?? '') },
      );
      // Before the fix: target_k's first draw with lit point lights lost ~40 silhouette px, and
      // every repair restarted Chromium.
      expect(repairs, 'mask repairs').to.deep.equal([]);
      expect(res.repairs).to.equal(0);
      expect([res.rendered, res.retries, res.renderersStarted]).to.deep.equal([4, 0, 1]);
    });

    it('a one-triangle OBJ head batch completes', async () => {
      const head = path.join(tmp, 'tri-head');
      fs.mkdirSync(head);
      // Tilted, so that its bounding box is not flat; ~500 of 4096 px at 64 px.
      fs.writeFileSync(path.join(head, 'tri.obj'), 'v -0.1 -0.1 -0.03\nv 0.1 -0.1 -0.03\nv 0 0.12 0.05\nvn 0 -0.34 0.94\nf 1//1 2//1 3//1\n');
      fs.writeFileSync(path.join(head, 'head.json'), JSON.stringify({ id: 'one-triangle', mesh: 'tri.obj', scaleToMetres: 1, uvOrigin: 'bottom-left' }));
      const res = await runBatch(parseBatchConfig({ ...TINY, name: 'tri', heads: [head], width: 64, height: 64, samples: 2, output: {} }), { outDir: path.join(tmp, 'tri') });
      expect([res.rendered, res.repairs, res.renderersStarted]).to.deep.equal([2, 0, 1]);
    });

    it('tolerances follow the image: silhouette jitter passes, lost geometry and lost tiny heads do not', () => {
      const W = 64;
      const disc = (r: number, cx = 32, cy = 32) => {
        const m = new Float32Array(W * W);
        for (let y = 0; y < W; y++) for (let x = 0; x < W; x++) if ((x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 < r * r) m[y * W + x] = 1;
        return m;
      };
      const ref = disc(20);
      const shifted = disc(20, 32.6, 32);
      const holed = ref.slice();
      for (let y = 28; y < 34; y++) for (let x = 28; x < 34; x++) holed[y * W + x] = 0;
      // ~50 px of a 1 px silhouette shift was flagged by the old fixed tolerance (2 px at 64 px)
      expect(findInconsistentRenders([ref, shifted, ref], { width: W, msaa: 1 }).bad).to.deep.equal([]);
      expect(findInconsistentRenders([ref, holed, ref], { width: W, msaa: 1 }).bad).to.deep.equal([1]);
      const tiny = disc(1.2);
      expect(findInconsistentRenders([tiny, tiny.slice(), tiny], { width: W }).bad).to.deep.equal([]);
      expect(findInconsistentRenders([tiny, new Float32Array(W * W), tiny], { width: W }).bad).to.deep.equal([1]);
      // MSAA 4: coverage moves in steps of 0.25; one sample less on 40 edge pixels is jitter, not
      // a lost head, while a step of 0.25 is a difference and 0.05 (half-float noise) is not.
      const soft = ref.slice();
      let k = 0;
      for (let p = W; p < W * W - W && k < 40; p++) if (ref[p] === 1 && (ref[p - 1] === 0 || ref[p + 1] === 0 || ref[p - W] === 0 || ref[p + W] === 0)) (soft[p] = 0.75), k++;
      expect(k).to.equal(40);
      expect(findInconsistentRenders([ref, soft], { width: W, msaa: 4 }).bad).to.deep.equal([]);
      const dim = ref.map((v) => (v > 0 ? v - 0.05 : v));
      expect(findInconsistentRenders([ref, dim], { width: W, msaa: 4 }).bad).to.deep.equal([]);
      const quarter = ref.map((v) => (v > 0 ? 0.75 : v));
      expect(findInconsistentRenders([ref, quarter], { width: W, msaa: 4 }).bad).to.deep.equal([1]);
    });
  });
});

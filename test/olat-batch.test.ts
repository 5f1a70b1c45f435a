// The light-stage dataset mode (batch config `olat`): poses shared by consecutive samples, one
// OLAT stack captured per pose (cached), triplets relit from it in the batch layout; a relit
// lighting agrees with the same lighting rendered directly (mask exactly, beauty by PSNR).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { parseBatchConfig } from '../renderer/pipelines/batch/config.js';
import { planSample } from '../renderer/pipelines/batch/plan.js';
import { runBatch } from '../renderer/pipelines/batch/run.js';
import { readExr } from '../renderer/io/exr-read.js';
import { readPng } from '../renderer/io/image-io.js';
import { Renderer } from '../renderer/engine/renderer.js';

describe('batch OLAT mode (light stage)', function () {
  this.timeout(900_000);
  let tmp: string;
  let out: string;
  let cacheRoot: string;
  const S = 96;
  const raw = {
    name: 'olat-mode',
    heads: ['procedural'],
    envMaps: ['builtin:studio', 'builtin:city'],
    width: S,
    height: S,
    samples: 4,
    seed: 5,
    shardSize: 4,
    workers: 1,
    augment: { cropProbability: 0 },
    passes: ['beauty', 'albedo', 'normal', 'depth', 'mask', 'preview'],
    olat: { rig: 'olat114', lightingsPerPose: 2, shadowMapSize: 512 },
  };
  before(async function () {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vls-olatb-'));
    out = path.join(tmp, 'ds');
    cacheRoot = path.join(tmp, 'cache');
    await runBatch(parseBatchConfig(raw), { outDir: out, renderer: { cacheRoot } });
  });
  after(() => {
    if (tmp && !process.env.VLS_KEEP_TEST_OUTPUT) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('the config refuses what the mode cannot write, naming the field', function () {
    expect(() => parseBatchConfig({ ...raw, passes: ['beauty', 'diffuse'] })).to.throw(/passes.*olat/s);
    expect(() => parseBatchConfig({ ...raw, augment: { cropProbability: 0.5 } })).to.throw(/augment\.cropProbability/);
    expect(() => parseBatchConfig({ ...raw, lighting: { mode: 'single' } })).to.throw(/lighting\.mode/);
  });

  it('poses are shared by consecutive samples; one stack per pose; the batch layout with provenance', function () {
    const config = parseBatchConfig(raw);
    const p = [0, 1, 2, 3].map((i) => planSample(config, i));
    expect(p[1].camera).to.deep.equal(p[0].camera);
    expect(p[3].camera).to.deep.equal(p[2].camera);
    expect(p[2].camera).not.to.deep.equal(p[0].camera);
    expect(p[1].lighting.draws).not.to.deep.equal(p[0].lighting.draws);
    const stacks = fs.readdirSync(path.join(cacheRoot, 'olat')).filter((f) => f.endsWith('.olat'));
    expect(stacks, 'one stack per pose').to.have.length(2);
    const manifest = fs.readFileSync(path.join(out, 'manifest.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(manifest.map((m) => m.id)).to.deep.equal(['000000', '000001', '000002', '000003']);
    for (const m of manifest) {
      expect(m.provenance.source).to.equal('olat');
      expect(m.lightings.map((l: { key: string }) => l.key)).to.deep.equal(['input_i', 'input_j', 'target_k']);
      expect(m.lighting).to.deep.equal(p[Number(m.id)].lighting.draws);
    }
    expect(fs.existsSync(path.join(out, 'samples', '000001', 'target_k', 'beauty.exr'))).to.equal(true);
  });

  it('a relit lighting agrees with the same lighting rendered directly (mask exactly, beauty PSNR)', async () => {
    const config = parseBatchConfig(raw);
    const results: string[] = [];
    const psnrs: number[] = [];
    const r = await Renderer.launch({ cacheRoot });
    try {
      for (const [idx, k] of [[0, 0], [0, 2], [3, 0], [3, 2]]) {
        const plan = planSample(config, idx);
        const L = plan.lightings[k]; // input_i: environment only; target_k: environment + point lights
        const direct = await r.renderSample(L.spec);
        const dir = path.join(out, 'samples', plan.id, L.key);
        const mask = await readPng(path.join(dir, '..', 'input_i', 'mask.png'));
        let diff = 0;
        for (let p = 0; p < S * S; p++) diff = Math.max(diff, Math.abs(mask.data[p] / 65535 - direct.mask[p]));
        expect(diff, 'mask').to.be.lessThan(1e-3);
        const exr = await readExr(path.join(dir, 'beauty.exr'));
        const ch = (n: string) => exr.channels.find((c) => c.name === n)!.data;
        let se = 0;
        let peak = 0;
        let n = 0;
        for (let p = 0; p < S * S; p++) {
          if (direct.mask[p] < 0.999) continue;
          for (const [c, name] of ['R', 'G', 'B'].entries()) {
            const a = ch(name)[p];
            const b = direct.modes.beauty![p * 4 + c];
            se += (a - b) ** 2;
            peak = Math.max(peak, b);
            n++;
          }
        }
        const psnr = 10 * Math.log10((peak * peak) / (se / n));
        results.push(`sample ${plan.id} ${L.key}: relit vs direct PSNR ${psnr.toFixed(1)} dB over ${n / 3} px`);
        psnrs.push(psnr);
      }
    } finally {
      await r.close();
    }
    console.log(`      ${results.join('\n      ')}`);
    expect(psnrs[0], 'environment only').to.be.greaterThan(28);
    expect(psnrs[2], 'environment only').to.be.greaterThan(28);
    // Point lights go to the rig cell of their direction (114 lights, ~20 deg apart): their shadows
    // and highlights move, so the triplet's target agrees less.
    expect(psnrs[1]).to.be.greaterThan(25);
    expect(psnrs[3]).to.be.greaterThan(25);
  });
});

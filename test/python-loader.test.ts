/**
 * The Python example (scripts/load_dataset.py, numpy + Pillow + its own EXR reader) reads a real
 * rendered dataset, from the folders and from the WebDataset tars, and sees the same numbers as
 * the Node readers: a round trip across languages.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseBatchConfig } from '../renderer/node/batch/config.js';
import { runBatch } from '../renderer/node/batch/run.js';
import { readExr } from '../renderer/node/exr.js';
import { readPng } from '../renderer/node/image-io.js';
import { PROJECT_ROOT } from '../renderer/node/bundle.js';

const PY = '/usr/bin/python3';

describe('python loader example', function () {
  let tmp: string;
  let dir: string;
  before(async () => {
    try {
      execFileSync(PY, ['-c', 'import numpy, PIL']);
    } catch {
      throw new Error(`${PY} with numpy and Pillow is needed (Debian: python3-numpy python3-pil; .ci/run installs them)`);
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vls-py-'));
    dir = path.join(tmp, 'ds');
    const config = parseBatchConfig({
      name: 'py',
      envMaps: ['builtin:studio', 'builtin:city'],
      width: 48,
      height: 40,
      samples: 2,
      seed: 3,
      shardSize: 2,
      workers: 1,
      render: { msaa: 1, envCubeSize: 32, shadowMapSize: 256 },
      output: { webdataset: true, exrCompression: 'zip' },
    });
    await runBatch(config, { outDir: dir });
  });
  after(() => {
    if (tmp && !process.env.VLS_KEEP_TEST_OUTPUT) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('reads every sample with the values Node reads (EXR, 16-bit PNG, encodings)', async () => {
    const out = execFileSync(PY, [path.join(PROJECT_ROOT, 'scripts', 'load_dataset.py'), dir, '--json'], { encoding: 'utf8' });
    const stats = JSON.parse(out) as { id: string; shape: number[]; maskSum: number; normalLenMean: number; depthMean: number; beautyMean: Record<string, number>; sh9Dc: Record<string, number[]> }[];
    expect(stats.map((s) => s.id)).to.deep.equal(['000000', '000001']);
    for (const s of stats) {
      const root = path.join(dir, 'samples', s.id);
      expect(s.shape).to.deep.equal([40, 48]);
      const mask = await readPng(path.join(root, 'input_i', 'mask.png'));
      let m = 0;
      for (let i = 0; i < mask.width * mask.height; i++) m += mask.data[i * mask.channels] / 65535;
      expect(s.maskSum).to.be.closeTo(m, 1e-3);
      expect(s.normalLenMean).to.be.closeTo(1, 2e-3);
      for (const key of ['input_i', 'input_j', 'target_k']) {
        const exr = await readExr(path.join(root, key, 'beauty.exr'));
        let sum = 0;
        let n = 0;
        for (const c of exr.channels.filter((c) => c.name !== 'A')) {
          for (const v of c.data) sum += v;
          n += c.data.length;
        }
        expect(s.beautyMean[key], key).to.be.closeTo(sum / n, 1e-6 * Math.max(1, sum / n));
        const b = fs.readFileSync(path.join(root, key, 'env_sh9.f32'));
        const sh = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
        expect(s.sh9Dc[key]).to.deep.equal(Array.from(sh.slice(0, 3)));
      }
    }
  });

  it('reads the WebDataset shards', () => {
    const out = execFileSync(PY, [path.join(PROJECT_ROOT, 'scripts', 'load_dataset.py'), dir, '--tar'], { encoding: 'utf8' });
    expect(out).to.match(/^000000: \d+ files, first beauty \(40, 48, 4\)$/m);
    expect(out).to.contain('2 samples from WebDataset shards');
  });
});

/**
 * Camera simulation inside the batch engine: input lightings get a camera image next to the clean
 * linear beauty, targets do not; the record in sample.json / meta.json reproduces the image; two
 * runs of the same config give byte-identical camera images; input_i and input_j share the camera
 * and differ only in their noise.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseBatchConfig } from '../renderer/pipelines/batch/config.js';
import { runBatch } from '../renderer/pipelines/batch/run.js';
import type { CameraSimRecord } from '../renderer/develop/camera-sim.js';

describe('batch: camera simulation of the inputs', function () {
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vls-camsim-'));
  });
  after(() => {
    if (!process.env.VLS_KEEP_TEST_OUTPUT) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('writes camera.jpg for input_i and input_j only, recorded and deterministic', async () => {
    const config = parseBatchConfig({
      name: 'camsim',
      envMaps: ['builtin:studio', 'builtin:city'],
      width: 48,
      height: 48,
      samples: 2,
      seed: 21,
      shardSize: 2,
      workers: 1,
      augment: { cropProbability: 0 },
      render: { msaa: 1, envCubeSize: 32, shadowMapSize: 256 },
      cameraSim: { enabled: true },
    });
    const a = path.join(tmp, 'a');
    const b = path.join(tmp, 'b');
    await runBatch(config, { outDir: a });
    await runBatch(config, { outDir: b });
    for (const id of ['000000', '000001']) {
      const sample = JSON.parse(fs.readFileSync(path.join(a, 'samples', id, 'sample.json'), 'utf8')) as { lightings: { key: string; camera?: { file: string; record: CameraSimRecord } }[] };
      const byKey = Object.fromEntries(sample.lightings.map((l) => [l.key, l]));
      expect(byKey.target_k.camera, 'targets stay clean').to.equal(undefined);
      expect(fs.existsSync(path.join(a, 'samples', id, 'target_k', 'camera.jpg'))).to.equal(false);
      const ri = byKey.input_i.camera!.record;
      const rj = byKey.input_j.camera!.record;
      for (const key of ['input_i', 'input_j']) {
        const f = path.join(a, 'samples', id, key, 'camera.jpg');
        const bytes = fs.readFileSync(f);
        expect(bytes.subarray(0, 2).toString('hex'), 'JPEG SOI').to.equal('ffd8');
        expect(bytes.equals(fs.readFileSync(path.join(b, 'samples', id, key, 'camera.jpg'))), `${key}: same seed, same bytes`).to.equal(true);
        const meta = JSON.parse(fs.readFileSync(path.join(a, 'samples', id, key, 'meta.json'), 'utf8')) as { extra: { cameraSim?: CameraSimRecord } };
        expect(meta.extra.cameraSim).to.deep.equal(byKey[key].camera!.record);
        expect(fs.existsSync(path.join(a, 'samples', id, key, 'beauty.exr')), 'clean linear beauty kept').to.equal(true);
      }
      // one camera per sample: same ISO, curve, white balance, JPEG quality; independent noise
      expect(rj.noise).to.deep.equal(ri.noise);
      expect(rj.crf).to.deep.equal(ri.crf);
      expect(rj.whiteBalance).to.deep.equal(ri.whiteBalance);
      expect(rj.jpeg).to.deep.equal(ri.jpeg);
      expect(rj.noiseSeed).not.to.equal(ri.noiseSeed);
    }
    const s0 = JSON.parse(fs.readFileSync(path.join(a, 'samples', '000000', 'sample.json'), 'utf8'));
    const s1 = JSON.parse(fs.readFileSync(path.join(a, 'samples', '000001', 'sample.json'), 'utf8'));
    expect(s0.lightings[0].camera.record.noise.iso).not.to.equal(s1.lightings[0].camera.record.noise.iso);
    expect(fs.readFileSync(path.join(a, 'manifest.jsonl')).equals(fs.readFileSync(path.join(b, 'manifest.jsonl')))).to.equal(true);
  });
});

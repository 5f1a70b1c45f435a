/**
 * The Python example (scripts/load_dataset.py, numpy + Pillow + its own EXR reader) reads a real
 * rendered dataset, from the folders and from the WebDataset tars, and sees the same numbers as
 * the Node readers: a round trip across languages.
 */
import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseBatchConfig } from '../renderer/pipelines/batch/config.js';
import { runBatch } from '../renderer/pipelines/batch/run.js';
import { readExr } from '../renderer/io/exr-read.js';
import { readPng } from '../renderer/io/image-io.js';
import { PROJECT_ROOT } from '../renderer/io/paths.js';
import { skipBecause } from './support/skip.js';

const PY = '/usr/bin/python3';

describe('python loader example', function () {
  let tmp: string;
  let dir: string;
  before(async function () {
    try {
      execFileSync(PY, ['-c', 'import numpy, PIL']);
    } catch {
      skipBecause(this, 'python3 with numpy and Pillow not installed (Debian: python3-numpy python3-pil)');
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
    const stats = JSON.parse(out) as { id: string; shape: number[]; maskSum: number; normalLenMean: number; depthMean: number; beautyMean: Record<string, number>; sh9Dc: Record<string, number[]>; segClasses: number[] | null; landmarksVisible: number | null }[];
    expect(stats.map((s) => s.id)).to.deep.equal(['000000', '000001']);
    for (const s of stats) {
      const root = path.join(dir, 'samples', s.id);
      expect(s.shape).to.deep.equal([40, 48]);
      const mask = await readPng(path.join(root, 'input_i', 'mask.png'));
      let m = 0;
      for (let i = 0; i < mask.width * mask.height; i++) m += mask.data[i * mask.channels] / 65535;
      expect(s.maskSum).to.be.closeTo(m, 1e-3);
      expect(s.normalLenMean).to.be.closeTo(1, 2e-3);
      // Segmentation ids and landmarks: what Node wrote.
      const seg = await readPng(path.join(root, 'input_i', 'segmentation.png'));
      expect(s.segClasses).to.deep.equal([...new Set(seg.data as Uint8Array)].sort((a, b) => a - b));
      expect(s.segClasses!.length, 'background + several classes').to.be.greaterThan(3);
      const rec = JSON.parse(fs.readFileSync(path.join(root, 'sample.json'), 'utf8'));
      expect(s.landmarksVisible).to.equal((rec.landmarks.visible as boolean[]).filter(Boolean).length);
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

  const LOADER = () => path.join(PROJECT_ROOT, 'scripts', 'load_dataset.py');
  /** A copy of the dataset to damage (the other tests keep reading the intact one). */
  const copy = (name: string) => {
    const d = path.join(tmp, name);
    fs.cpSync(dir, d, { recursive: true });
    return d;
  };
  const runLoader = (args: string[]) => spawnSync(PY, [LOADER(), ...args], { encoding: 'utf8' });
  const expectOneLineError = (r: ReturnType<typeof runLoader>, ...parts: (string | RegExp)[]) => {
    expect(r.status, r.stderr).to.equal(1);
    expect(r.stderr).not.to.contain('Traceback');
    const lines = r.stderr.trim().split('\n');
    expect(lines, r.stderr).to.have.length(1);
    for (const p of parts) expect(lines[0]).to.match(typeof p === 'string' ? new RegExp(p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : p);
  };

  it('a truncated or corrupt EXR: exit 1, one line naming the file and the sample id', () => {
    const d = copy('bad-exr');
    const rel = path.join('samples', '000001', 'input_j', 'beauty.exr');
    const f = path.join(d, rel);
    const good = fs.readFileSync(f);
    // Before: "zlib.error: Error -5 ... truncated stream" / "ValueError: subsection not found"
    for (const [what, bytes] of [
      ['truncated mid-pixels', good.subarray(0, Math.floor(good.length * 0.6))],
      ['truncated mid-header', good.subarray(0, 40)],
      ['corrupt zlib data', Buffer.concat([good.subarray(0, good.length - 200), Buffer.alloc(200, 0x55)])],
    ] as const) {
      fs.writeFileSync(f, bytes);
      const r = runLoader([d]);
      expectOneLineError(r, 'sample 000001', rel, /truncated|corrupt/);
      expect(r.stderr, what).to.match(/^load_dataset\.py: error: /);
    }
    fs.writeFileSync(f, good);
    fs.writeFileSync(path.join(d, 'samples', '000000', 'target_k', 'env_sh9.f32'), Buffer.alloc(12));
    expectOneLineError(runLoader([d]), 'sample 000000', path.join('target_k', 'env_sh9.f32'), '12 bytes, expected 108');
  });

  it('--tar refuses shards that disagree with the manifest (none, or a sample missing)', () => {
    const d = copy('bad-wds');
    const wds = path.join(d, 'wds');
    const tars = fs.readdirSync(wds);
    expect(tars).to.deep.equal(['py-000000.tar']);
    // a shard with only sample 000000: members are in sample order, 000001's start after 000000's
    execFileSync(PY, ['-c', `import tarfile,sys
src, dst = sys.argv[1], sys.argv[2]
with tarfile.open(src) as a, tarfile.open(dst, 'w', format=tarfile.USTAR_FORMAT) as b:
    for m in a:
        if m.name.startswith('000000.'): b.addfile(m, a.extractfile(m))`, path.join(wds, tars[0]), path.join(wds, 'half.tar')]);
    fs.rmSync(path.join(wds, tars[0]));
    expectOneLineError(runLoader([d, '--tar']), 'wds', 'missing samples 000001 (1 of 2)');
    fs.rmSync(path.join(wds, 'half.tar'));
    // Before: "0 samples from WebDataset shards", exit 0
    expectOneLineError(runLoader([d, '--tar']), 'no .tar shards', 'lists 2 samples');
  });

  it('the torch Dataset loads a sample whose tensors match the numpy loader', function () {
    const probe = spawnSync(PY, ['-c', 'import torch']);
    if (probe.status !== 0) {
      skipBecause(this, 'python3 torch not installed (Debian: python3-torch)');
    }
    const out = execFileSync(PY, ['-c', `import sys, json
import numpy as np
sys.path.insert(0, sys.argv[1])
from load_dataset import RelightingDataset, read_manifest, load_sample
ds = RelightingDataset(sys.argv[2])
item = ds[1]
s = load_sample(sys.argv[2], read_manifest(sys.argv[2])[1])
ref = {
    'input': s['lightings']['input_i']['beauty'][..., :3].transpose(2, 0, 1),
    'target': s['lightings']['target_k']['beauty'][..., :3].transpose(2, 0, 1),
    'albedo': s['albedo'][..., :3].transpose(2, 0, 1),
    'normal': s['normal'][..., :3].transpose(2, 0, 1),
    'mask': s['mask'][None],
    'target_light': s['lightings']['target_k']['env_latlong16'].transpose(2, 0, 1),
    'segmentation': s['segmentation'].astype(np.int64),
    'landmarks': s['landmarks']['points'],
    'landmarks_visible': s['landmarks']['visible'],
}
print(json.dumps({'len': len(ds), 'items': {k: {'shape': list(v.shape), 'dtype': str(v.dtype), 'equal': bool(np.array_equal(v.numpy(), ref[k])), 'sum': float(v.double().sum())} for k, v in item.items()}}))`, path.join(PROJECT_ROOT, 'scripts'), dir], { encoding: 'utf8' });
    const r = JSON.parse(out) as { len: number; items: Record<string, { shape: number[]; dtype: string; equal: boolean; sum: number }> };
    expect(r.len).to.equal(2);
    expect(Object.keys(r.items).sort()).to.deep.equal(['albedo', 'input', 'landmarks', 'landmarks_visible', 'mask', 'normal', 'segmentation', 'target', 'target_light']);
    for (const [k, v] of Object.entries(r.items)) {
      expect(v.equal, `${k} equals the numpy loader's`).to.equal(true);
      expect(v.dtype, k).to.equal(k === 'segmentation' ? 'torch.int64' : k === 'landmarks_visible' ? 'torch.bool' : 'torch.float32');
      expect(v.sum, `${k} is not all zero`).to.not.equal(0);
    }
    expect(r.items.input.shape).to.deep.equal([3, 40, 48]);
    expect(r.items.mask.shape).to.deep.equal([1, 40, 48]);
    expect(r.items.target_light.shape).to.deep.equal([3, 16, 16]);
  });

  it('reads the WebDataset shards', () => {
    const out = execFileSync(PY, [path.join(PROJECT_ROOT, 'scripts', 'load_dataset.py'), dir, '--tar'], { encoding: 'utf8' });
    expect(out).to.match(/^000000: \d+ files, first beauty \(40, 48, 4\)$/m);
    expect(out).to.contain('2 samples from WebDataset shards');
  });
});

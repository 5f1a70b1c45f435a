/**
 * Hardening of configs: every count and size is bounded (an oversized request is a 400 naming the
 * field, not an out-of-memory death), the largest accepted batch plans in seconds, names can never
 * put a dataset outside its output root, a lock is never left half-written on a full disk, reruns
 * with fewer samples say what is left on disk, and render-one refuses before rendering what it
 * would refuse after (existing folder, a camera that sees nothing).
 */
import { expect } from 'chai';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BatchConfigSchema, parseBatchConfig, MAX_SAMPLES, MAX_SHARDS, type BatchConfigInput } from '../renderer/pipelines/batch/config.js';
import { prepareBatch, missingSamples, lockBatchDir, runBatch, type BatchProgress } from '../renderer/pipelines/batch/run.js';
import { SequenceConfigSchema } from '../renderer/pipelines/sequence.js';
import { SampleSpecSchema, parseSampleSpec } from '../renderer/core/spec.js';
import { resolveNamedDir } from '../renderer/io/paths.js';
import { Rng } from '../renderer/core/rng.js';
import { PROJECT_ROOT } from '../renderer/io/paths.js';
import { skipBecause } from './support/skip.js';

const TSX = path.join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx');

function tmpDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `vls-hard-${tag}-`));
}

/** Runs a script with tsx; a small heap so an unbounded plan dies fast instead of eating the machine. */
function runScript(script: string, args: string[], cwd: string, timeoutMs = 120_000): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const p = spawn(TSX, [path.join(PROJECT_ROOT, script), ...args], { cwd, env: { ...process.env, NODE_OPTIONS: '--max-old-space-size=512' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

/** Starts scripts/server.ts on a free port (its own process: an OOM there cannot take mocha down). */
async function startServerProcess(outputRoot: string): Promise<{ base: string; alive: () => boolean; stop: () => Promise<void>; stderr: () => string }> {
  const p = spawn(TSX, [path.join(PROJECT_ROOT, 'scripts/server.ts'), '--port', '0', '--output', outputRoot], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, NODE_OPTIONS: '--max-old-space-size=512' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let exited = false;
  p.on('exit', () => (exited = true));
  p.stderr.on('data', (d) => (out += d));
  p.stdout.on('data', (d) => (out += d));
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 60_000);
    const check = () => {
      const m = /http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(`http://127.0.0.1:${m[1]}`);
      }
    };
    p.stdout.on('data', check);
    p.stderr.on('data', check);
    p.on('exit', () => reject(new Error(`server exited: ${out}`)));
  });
  return {
    base,
    alive: () => !exited,
    stderr: () => out,
    stop: async () => {
      if (exited) return;
      const done = new Promise((r) => p.on('exit', r));
      p.kill('SIGTERM');
      await Promise.race([done, new Promise((r) => setTimeout(r, 10_000))]);
      if (!exited) p.kill('SIGKILL');
    },
  };
}

async function postJson(url: string, body: unknown): Promise<{ status: number; json: any }> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, json: await r.json().catch(() => null) };
}

const SMALL: BatchConfigInput = {
  heads: ['procedural'],
  envMaps: ['builtin:studio'],
  width: 16,
  height: 16,
  augment: { cropProbability: 0 },
  render: { msaa: 1, envCubeSize: 16, shadowMapSize: 64 },
  lighting: { mode: 'single' },
  passes: ['beauty', 'mask'],
  workers: 1,
};

describe('hardening: bounded configs', function () {
  it('rejects every oversized count and size, naming the field and the limit', () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ samples: 1e15 }, 'samples', /10000000/],
      [{ samples: MAX_SAMPLES + 1 }, 'samples', /10000000/],
      [{ shardSize: 1e12 }, 'shardSize', /10000000/],
      [{ samples: 1_000_000, shardSize: 1 }, 'shardSize', new RegExp(`${MAX_SHARDS}`)],
      [{ width: 1e6 }, 'width', /4096/],
      [{ workers: 1e6 }, 'workers', /32/],
      [{ width: 4096, augment: { cropProbability: 0.5, cropScale: [0.5, 1] } }, 'augment.cropScale', /4096/],
      [{ augment: { cropScale: [1e-300, 1] } }, 'augment.cropScale.0', /0\.1/],
      [{ camera: { distance: [1e-300, 1] } }, 'camera.distance.0', /0\.05/],
      [{ camera: { target: [0, 1e300, 0] } }, 'camera.target.1', /100/],
      [{ heads: Array.from({ length: 10_001 }, () => 'procedural') }, 'heads', /10000/],
      [{ lighting: { H: { count: [1, 1e9] } } }, 'lighting.H.count.1', /4/],
      [{ lighting: { betaShape: [1e-300, 1] } }, 'lighting.betaShape.0', /0\.01/],
    ];
    for (const [over, field, limit] of cases) {
      const r = BatchConfigSchema.safeParse({ ...SMALL, ...over });
      expect(r.success, `${JSON.stringify(over).slice(0, 80)} accepted`).to.equal(false);
      const messages = r.error!.issues.filter((i) => i.path.join('.') === field).map((i) => i.message);
      expect(messages, `${JSON.stringify(over).slice(0, 80)}: issues ${JSON.stringify(r.error!.issues.map((i) => i.path.join('.')))}`).to.not.be.empty;
      expect(messages.join('\n')).to.match(limit);
    }
    // the limits themselves are accepted
    expect(() => parseBatchConfig({ ...SMALL, samples: MAX_SAMPLES, shardSize: MAX_SAMPLES / MAX_SHARDS })).to.not.throw();
  });

  it('bounds the sample spec and the sequence config (sizes, counts, camera)', () => {
    const spec: [Record<string, unknown>, string][] = [
      [{ width: 1e9 }, 'width'],
      [{ render: { shadowMapSize: 1e9 } }, 'render.shadowMapSize'],
      [{ render: { envCubeSize: 1e9 } }, 'render.envCubeSize'],
      [{ camera: { distance: 1e-300 } }, 'camera.distance'],
      [{ camera: { distance: 1e300 } }, 'camera.distance'],
      [{ camera: { target: [1e300, 0, 0] } }, 'camera.target.0'],
      [{ camera: { yawDeg: 1e300 } }, 'camera.yawDeg'],
      [{ seed: 1e300 }, 'seed'],
      [{ lighting: { environment: Array.from({ length: 65 }, () => ({ map: 'builtin:studio' })) } }, 'lighting.environment'],
    ];
    for (const [over, field] of spec) {
      const r = SampleSpecSchema.safeParse(over);
      expect(r.success, JSON.stringify(over).slice(0, 80)).to.equal(false);
      expect(r.error!.issues.map((i) => i.path.join('.'))).to.include(field);
    }
    expect(() => parseSampleSpec({ camera: { distance: 1e-300 } }, 'spec x.json')).to.throw(/spec x\.json: field "camera\.distance"/);
    for (const [over, field] of [
      [{ frames: 1e12 }, 'frames'],
      [{ fps: 1e300 }, 'fps'],
      [{ width: 1e6 }, 'width'],
      [{ camera: { distance: 0 } }, 'camera.distance'],
    ] as [Record<string, unknown>, string][]) {
      const r = SequenceConfigSchema.safeParse(over);
      expect(r.success, JSON.stringify(over)).to.equal(false);
      expect(r.error!.issues.map((i) => i.path.join('.'))).to.include(field);
    }
  });

  it('plans the largest accepted batch (10M samples) in seconds, without per-shard quadratic work', async function () {
    this.timeout(120_000);
    const out = tmpDir('big');
    try {
      const config = parseBatchConfig({ ...SMALL, name: 'big', samples: MAX_SAMPLES, shardSize: MAX_SAMPLES / MAX_SHARDS });
      const t0 = performance.now();
      const prep = await prepareBatch(config, { outDir: out });
      const ms = performance.now() - t0;
      expect(prep.missing.length).to.equal(MAX_SAMPLES);
      expect(prep.shards.length).to.equal(MAX_SHARDS);
      expect(prep.shards[1]).to.deep.include({ start: 100, end: 200 });
      expect(prep.shards[1].indices).to.have.length(100);
      const t1 = performance.now();
      expect(missingSamples(config, out)).to.have.length(MAX_SAMPLES);
      console.log(`      prepareBatch(10M samples, ${MAX_SHARDS} shards): ${ms.toFixed(0)} ms; missingSamples: ${(performance.now() - t1).toFixed(0)} ms`);
      expect(ms).to.be.below(30_000);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  it('the server survives an oversized POST: 400 naming config.samples and its limit, then still answers', async function () {
    this.timeout(120_000);
    const root = tmpDir('srv');
    const srv = await startServerProcess(path.join(root, 'out'));
    try {
      const r = await postJson(`${srv.base}/api/jobs`, { config: { name: 'dos', samples: 1000000000000000 } });
      expect(r.status, JSON.stringify(r.json)).to.equal(400);
      const issue = r.json.issues.find((i: { path: string }) => i.path === 'config.samples');
      expect(issue, JSON.stringify(r.json)).to.not.equal(undefined);
      expect(issue.message).to.contain('10000000');
      expect(r.json.error).to.contain('config.samples');
      const shards = await postJson(`${srv.base}/api/jobs`, { config: { name: 'dos2', samples: 5_000_000, shardSize: 1 } });
      expect(shards.status).to.equal(400);
      expect(shards.json.issues.map((i: { path: string }) => i.path)).to.include('config.shardSize');
      const list = await fetch(`${srv.base}/api/jobs`);
      expect(list.status).to.equal(200);
      expect((await list.json()).jobs).to.deep.equal([]);
      expect(srv.alive()).to.equal(true);
    } finally {
      await srv.stop();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('render-batch --samples 1e15 exits non-zero naming the field, and leaves no .lock', async function () {
    this.timeout(180_000);
    const dir = tmpDir('cli');
    try {
      fs.writeFileSync(path.join(dir, 'c.json'), JSON.stringify({ ...SMALL, name: 'c', samples: 2 }));
      const out = path.join(dir, 'out');
      const r = await runScript('scripts/render-batch.ts', ['c.json', '--out', out, '--samples', '1e15'], dir);
      expect(r.code, r.stderr).to.not.equal(0);
      expect(r.stderr).to.match(/samples/);
      expect(r.stderr).to.contain('10000000');
      expect(r.stderr).to.not.match(/heap out of memory/i);
      expect(fs.existsSync(path.join(out, '.lock'))).to.equal(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('hardening: names stay under the output root', function () {
  /** Names mixing the pieces that have broken path joins: dots, dashes, separators, dot-only names. */
  function generatedNames(n: number, seed: number): string[] {
    const pieces = ['.', '..', '...', '-', '_', 'a', 'Z', '0', 'x.y', '/', '\\', ' ', '~', '%2e', '\0'];
    const rng = new Rng(seed);
    const names = ['.', '..', '...', '....', '.a', '-', '_', 'a..b', 'a.', '..a', 'a/..', '../a'];
    while (names.length < n) {
      const k = rng.int(1, 4);
      let s = '';
      for (let i = 0; i < k; i++) s += pieces[rng.int(0, pieces.length - 1)];
      names.push(s);
    }
    return names;
  }

  it('every name the schemas accept (batch name, sequence name, spec id) resolves strictly under the root', () => {
    const root = path.resolve(os.tmpdir(), 'vls-root', 'output');
    const names = generatedNames(400, 20261201);
    let accepted = 0;
    const rejectedDots: string[] = [];
    for (const name of names) {
      const ok = [
        BatchConfigSchema.safeParse({ name }).success,
        SequenceConfigSchema.safeParse({ name }).success,
        SampleSpecSchema.safeParse({ id: name }).success,
      ];
      expect(new Set(ok).size, `schemas disagree on ${JSON.stringify(name)}`).to.equal(1);
      if (!ok[0]) {
        if (/^\.+$/.test(name)) rejectedDots.push(name);
        expect(() => resolveNamedDir(root, name)).to.throw(/not a valid name/);
        continue;
      }
      accepted++;
      const dir = path.resolve(root, name);
      const rel = path.relative(root, dir);
      expect(rel, JSON.stringify(name)).to.not.equal('');
      expect(rel.startsWith('..'), JSON.stringify(name)).to.equal(false);
      expect(path.isAbsolute(rel)).to.equal(false);
      expect(path.dirname(dir), JSON.stringify(name)).to.equal(root);
      expect(resolveNamedDir(root, name)).to.equal(dir);
    }
    expect(rejectedDots).to.include.members(['.', '..', '...']);
    expect(accepted, 'the generator should also produce valid names').to.be.greaterThan(20);
  });

  it('the server answers 400 for name ".." and writes nothing next to the output root', async function () {
    this.timeout(120_000);
    const root = tmpDir('dots');
    const outputRoot = path.join(root, 'out');
    const srv = await startServerProcess(outputRoot);
    try {
      for (const name of ['..', '.', '.hidden']) {
        const r = await postJson(`${srv.base}/api/jobs`, { config: { ...SMALL, name, samples: 1 } });
        expect(r.status, `${name}: ${JSON.stringify(r.json)}`).to.equal(400);
        expect(r.json.issues.map((i: { path: string }) => i.path)).to.include('config.name');
      }
      expect(fs.readdirSync(root)).to.deep.equal(['out']);
      expect(fs.readdirSync(outputRoot).filter((f) => f !== '.jobs')).to.deep.equal([]);
    } finally {
      await srv.stop();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('hardening: lock and reruns', function () {
  it('a lock on a full disk: the error names the file, and no 0-byte .lock is left', function () {
    const mnt = tmpDir('full');
    try {
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt], { stdio: 'pipe' });
      } catch (err) {
        skipBecause(this, `needs root (mount tmpfs) for a really full filesystem: ${(err as Error).message.split('\n')[0]}`);
      }
      try {
        const outDir = path.join(mnt, 'ds');
        fs.mkdirSync(outDir);
        // Fill every block: new inodes still work (an empty file can be created), writes fail.
        const fd = fs.openSync(path.join(mnt, 'fill'), 'w');
        try {
          for (;;) fs.writeSync(fd, Buffer.alloc(4096, 1));
        } catch (err) {
          expect((err as NodeJS.ErrnoException).code).to.equal('ENOSPC');
        } finally {
          fs.closeSync(fd);
        }
        expect(() => lockBatchDir(outDir)).to.throw(/ENOSPC/).with.property('message').that.contains(path.join(outDir, '.lock'));
        expect(fs.readdirSync(outDir)).to.deep.equal([]);
        // With space again the lock works, and releasing removes it.
        fs.rmSync(path.join(mnt, 'fill'));
        const release = lockBatchDir(outDir);
        expect(JSON.parse(fs.readFileSync(path.join(outDir, '.lock'), 'utf8')).pid).to.equal(process.pid);
        expect(() => lockBatchDir(outDir)).to.throw(/another batch run/);
        release();
        expect(fs.readdirSync(outDir)).to.deep.equal([]);
      } finally {
        execFileSync('umount', [mnt]);
      }
    } finally {
      fs.rmSync(mnt, { recursive: true, force: true });
    }
  });

  it('prepareBatch reports sample folders beyond `samples`', async () => {
    const out = tmpDir('extra');
    try {
      for (const id of ['000001', '000003', '000004']) {
        fs.mkdirSync(path.join(out, 'samples', id), { recursive: true });
        fs.writeFileSync(path.join(out, 'samples', id, 'sample.json'), '{}');
      }
      const prep = await prepareBatch(parseBatchConfig({ ...SMALL, name: 'x', samples: 2 }), { outDir: out });
      expect(prep.missing).to.deep.equal([0]);
      expect(prep.extra).to.deep.equal([3, 4]);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  it('a rerun with fewer samples warns about the extra folders and prunes them only when asked', async function () {
    this.timeout(300_000);
    const out = tmpDir('prune');
    try {
      const logs: string[] = [];
      const starts: BatchProgress[] = [];
      const log = (m: string) => logs.push(m);
      await runBatch(parseBatchConfig({ ...SMALL, name: 'p', samples: 2 }), { outDir: out, log });
      const fewer = parseBatchConfig({ ...SMALL, name: 'p', samples: 1 });
      await runBatch(fewer, { outDir: out, log, onProgress: (p) => p.type === 'start' && starts.push(p) });
      expect(fs.existsSync(path.join(out, 'samples', '000001'))).to.equal(true);
      const warning = logs.find((m) => /beyond/.test(m));
      expect(warning, logs.join('\n')).to.match(/1 sample folder/);
      expect(warning).to.contain('--prune');
      expect(starts[0].message).to.match(/1 sample folder/);
      expect(fs.readFileSync(path.join(out, 'manifest.jsonl'), 'utf8').trim().split('\n')).to.have.length(1);
      logs.length = 0;
      const res = await runBatch(fewer, { outDir: out, log, prune: true });
      expect(res.rendered).to.equal(0);
      expect(fs.readdirSync(path.join(out, 'samples'))).to.deep.equal(['000000']);
      expect(logs.join('\n')).to.match(/pruned 1 sample folder/);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('hardening: render-one checks before it renders', function () {
  it('an existing output folder is refused before any browser starts', async function () {
    this.timeout(120_000);
    const dir = tmpDir('one');
    try {
      fs.writeFileSync(path.join(dir, 's.json'), JSON.stringify({ width: 16, height: 16 }));
      fs.mkdirSync(path.join(dir, 'exists'));
      fs.writeFileSync(path.join(dir, 'exists', 'keep.txt'), 'mine');
      const r = await runScript('scripts/render-one.ts', ['s.json', '--out', 'exists'], dir);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.match(/already exists/);
      expect(r.stderr, 'a browser was launched before the check').to.not.match(/browser|renderer backend/i);
      expect(fs.readFileSync(path.join(dir, 'exists', 'keep.txt'), 'utf8')).to.equal('mine');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a camera that sees no head is refused (exit 1, nothing written), a bad camera value before rendering', async function () {
    this.timeout(180_000);
    const dir = tmpDir('cam');
    try {
      fs.writeFileSync(path.join(dir, 'away.json'), JSON.stringify({ width: 16, height: 16, passes: ['beauty', 'mask'], render: { msaa: 1, envCubeSize: 16 }, camera: { target: [5, 0, 0] } }));
      const r = await runScript('scripts/render-one.ts', ['away.json', '--out', 'o'], dir);
      expect(r.code, r.stderr).to.equal(1);
      expect(r.stderr).to.match(/empty mask|not visible/);
      expect(fs.existsSync(path.join(dir, 'o'))).to.equal(false);
      fs.writeFileSync(path.join(dir, 'tiny.json'), JSON.stringify({ camera: { distance: 1e-300 } }));
      const t = await runScript('scripts/render-one.ts', ['tiny.json', '--out', 'o'], dir);
      expect(t.code).to.equal(1);
      expect(t.stderr).to.match(/field "camera\.distance"/);
      expect(t.stderr).to.not.match(/browser/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * The one environment-map resolver and cache (renderer/io/envmap-io.ts), and the batch identity
 * over the EXPANDED map list (renderer/dataset/output-folder.ts): a map added to a folder that a
 * config names between two runs changes the identity, so the resume is refused with a message
 * that says why. No browser: prepareBatch checks assets and identity before anything renders.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseBatchConfig } from '../renderer/pipelines/batch/config.js';
import { prepareBatch } from '../renderer/pipelines/batch/run.js';
import { contentHashOf, envMapFilesIdentity } from '../renderer/dataset/output-folder.js';
import { envMapPathCandidates, loadEnvMap, locateEnvMapPath, resolveEnvMapSync } from '../renderer/io/envmap-io.js';
import { loadEnvMap as loadFromAssets } from '../renderer/assets/environment.js';
import { PROJECT_ROOT } from '../renderer/io/paths.js';

/** A flat (not run-length encoded) Radiance file, w x h, every pixel the same RGBE bytes. */
function writeHdr(file: string, w: number, h: number, rgbe: [number, number, number, number] = [128, 128, 128, 129]): void {
  const header = Buffer.from(`#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y ${h} +X ${w}\n`, 'latin1');
  const px = Buffer.alloc(w * h * 4);
  for (let i = 0; i < w * h; i++) px.set(rgbe, i * 4);
  fs.writeFileSync(file, Buffer.concat([header, px]));
}

describe('environment maps: one resolver, one cache, identity over the expanded list', function () {
  this.timeout(60_000);
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vls-env-resolve-'));
  });
  after(() => {
    if (tmp && !process.env.VLS_KEEP_TEST_OUTPUT) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('resolves relative paths against the working directory, then the project root', () => {
    const c = envMapPathCandidates('assets/x.hdr', { cwd: tmp });
    expect(c[0]).to.equal(path.join(tmp, 'assets/x.hdr'));
    expect(c).to.include(path.join(PROJECT_ROOT, 'assets/x.hdr'));
    expect(envMapPathCandidates('/abs/m.exr')[0]).to.equal('/abs/m.exr');
    expect(locateEnvMapPath('package.json', { cwd: tmp })).to.equal(path.join(PROJECT_ROOT, 'package.json'));
    expect(locateEnvMapPath('no-such-map.hdr', { cwd: tmp })).to.equal(null);
  });

  it('loads through one shared cache that notices a rewritten file', async () => {
    const file = path.join(tmp, 'one.hdr');
    writeHdr(file, 8, 4);
    const a = await loadEnvMap(file);
    const b = await loadFromAssets(file);
    expect(b).to.equal(a); // the same cached instance, whichever module asks
    const [c, d] = await Promise.all([loadEnvMap(path.relative(process.cwd(), file)), loadEnvMap(file)]);
    expect(c).to.equal(a);
    expect(d).to.equal(a);
    writeHdr(file, 8, 4, [128, 128, 128, 130]);
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(file, later, later);
    const e = await loadEnvMap(file);
    expect(e).to.not.equal(a);
    expect(e.data[0]).to.be.closeTo(2 * a.data[0], 1e-6);
    const err = await loadEnvMap('no-such-map.hdr').then(() => null, (x: Error) => x);
    expect(err?.message).to.match(/no-such-map\.hdr: cannot load environment map: file not found \(looked at: /);
  });

  it('expands a folder to its files with content hashes (builtins by name only)', () => {
    const dir = path.join(tmp, 'ids');
    fs.mkdirSync(dir);
    writeHdr(path.join(dir, 'b.hdr'), 8, 4);
    writeHdr(path.join(dir, 'a.hdr'), 8, 4, [100, 100, 100, 129]);
    expect(resolveEnvMapSync(dir).map((m) => m.name)).to.deep.equal(['a', 'b']);
    expect(envMapFilesIdentity(['builtin:studio', 'builtin:city'])).to.equal(null);
    const id = envMapFilesIdentity(['builtin:studio', dir])!;
    expect(id).to.have.length(1);
    expect(id[0].files.map((f) => f.name)).to.deep.equal(['a.hdr', 'b.hdr']);
    expect(id[0].files[0].sha256).to.match(/^[0-9a-f]{64}$/).and.not.equal(id[0].files[1].sha256);
    // builtin-only configs hash exactly as before (their batch.json is unchanged)
    const content = { envMaps: ['builtin:studio'], seed: 1 };
    const before = contentHashOf(content);
    expect(contentHashOf({ ...content })).to.equal(before);
    const withDir = { envMaps: [dir], seed: 1 };
    const h1 = contentHashOf(withDir);
    fs.writeFileSync(path.join(dir, 'b.hdr'), fs.readFileSync(path.join(dir, 'a.hdr')));
    fs.utimesSync(path.join(dir, 'b.hdr'), new Date(Date.now() + 9000), new Date(Date.now() + 9000));
    expect(contentHashOf(withDir)).to.not.equal(h1); // an edited map changes the identity too
  });

  it('refuses to resume a batch after a map was added to its folder, saying why', async () => {
    const maps = path.join(tmp, 'maps');
    fs.mkdirSync(maps);
    writeHdr(path.join(maps, 'a.hdr'), 16, 8);
    const config = parseBatchConfig({ name: 'resolve', heads: ['procedural'], envMaps: [maps], width: 32, height: 32, samples: 2, shardSize: 1, workers: 1 });
    const outDir = path.join(tmp, 'out');
    const first = await prepareBatch(config, { outDir });
    expect(first.missing).to.deep.equal([0, 1]);
    // the same folder, unchanged: resuming is fine
    const again = await prepareBatch(config, { outDir });
    expect(again.configHash).to.equal(first.configHash);

    writeHdr(path.join(maps, 'b.hdr'), 16, 8, [90, 90, 90, 129]);
    const err = await prepareBatch(config, { outDir }).then(() => null, (e: Error) => e);
    expect(err, 'resume after adding a map must be refused').to.be.instanceOf(Error);
    expect(err!.message).to.include(outDir);
    expect(err!.message).to.include('different set of environment maps');
    expect(err!.message).to.include('added, removed or changed');
    expect(err!.message).to.include('2 file(s): a.hdr, b.hdr');
    expect(err!.message).to.include('use another --out');

    // taking the map out again restores the identity
    fs.rmSync(path.join(maps, 'b.hdr'));
    expect((await prepareBatch(config, { outDir })).configHash).to.equal(first.configHash);
  });
});

/**
 * `npm run fetch-assets` against a real loopback HTTP server that serves ../shared/assets (a
 * mirror, via --base-url): checksums verified, a corrupted file rejected by name and not kept,
 * an interrupted transfer leaves no partial file in the cache and a rerun completes (resuming
 * with HTTP Range when the server supports it, restarting when it does not).
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../renderer/io/paths.js';
import { SHARED_ASSETS, skipBecause } from './support/skip.js';

const SCRIPT = path.join(PROJECT_ROOT, 'scripts', 'fetch-assets.ts');
const HDR_A = 'envmaps/lebombo_1k.hdr';
const HDR_B = 'envmaps/venice_sunset_1k.hdr';
const SMALL = 'heads/ict_facekit/LICENSE';
const MIRROR_ONLY = 'heads/ict_facekit/README.md';

interface Behaviour {
  corrupt: Set<string>;
  cutFirst: Set<string>;
  ranges: boolean;
}
const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

function run(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', SCRIPT, ...args], { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, out }));
  });
}

/** Every file under `dir` (relative, '/'-separated). */
function walk(dir: string, base = dir): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name), base) : [path.relative(base, path.join(dir, e.name)).split(path.sep).join('/')]));
}

describe('fetch-assets (loopback mirror of ../shared/assets)', function () {
  let server: http.Server;
  let baseUrl: string;
  let tmp: string;
  const log: { path: string; range?: string }[] = [];
  const b: Behaviour = { corrupt: new Set(), cutFirst: new Set(), ranges: true };

  before(async function () {
    if (!fs.existsSync(path.join(SHARED_ASSETS, HDR_A))) skipBecause(this, '../shared/assets is absent (the mirror the test serves)');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vls-fetch-'));
    server = http.createServer((req, res) => {
      const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/+/, '');
      log.push({ path: rel, range: req.headers.range });
      const file = path.join(SHARED_ASSETS, ...rel.split('/'));
      if (rel.includes('..') || !fs.existsSync(file)) {
        res.writeHead(404).end();
        return;
      }
      let buf = fs.readFileSync(file);
      if (b.corrupt.has(rel)) {
        buf = Buffer.from(buf);
        buf[buf.length >> 1] ^= 0xff;
      }
      if (b.cutFirst.delete(rel)) {
        // Full length announced, half sent, then the connection drops.
        res.writeHead(200, { 'Content-Length': buf.length });
        res.write(buf.subarray(0, buf.length >> 1), () => setTimeout(() => req.socket.destroy(), 50));
        return;
      }
      const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      if (m && b.ranges) {
        const start = Number(m[1]);
        res.writeHead(206, { 'Content-Length': buf.length - start, 'Content-Range': `bytes ${start}-${buf.length - 1}/${buf.length}`, 'Accept-Ranges': 'bytes' });
        res.end(buf.subarray(start));
        return;
      }
      res.writeHead(200, { 'Content-Length': buf.length });
      res.end(buf);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    if (tmp && !process.env.VLS_KEEP_TEST_OUTPUT) fs.rmSync(tmp, { recursive: true, force: true });
  });
  beforeEach(() => {
    log.length = 0;
    b.corrupt.clear();
    b.cutFirst.clear();
    b.ranges = true;
  });

  it('fetches a subset byte-identical to the mirror, prints the licences, and skips what is present', async () => {
    const dest = path.join(tmp, 'ok');
    const r = await run(['--dest', dest, '--base-url', baseUrl, '--only', `lebombo,venice_sunset,${SMALL},${MIRROR_ONLY}`]);
    expect(r.code, r.out).to.equal(0);
    expect(walk(dest).sort()).to.deep.equal([HDR_A, HDR_B, SMALL, MIRROR_ONLY].sort());
    for (const f of [HDR_A, HDR_B, SMALL, MIRROR_ONLY]) {
      expect(sha(fs.readFileSync(path.join(dest, f))), f).to.equal(sha(fs.readFileSync(path.join(SHARED_ASSETS, f))));
    }
    expect(r.out).to.match(/4 fetched, 0 already present/);
    expect(r.out).to.include('MIT').and.include('CC0-1.0');
    const again = await run(['--dest', dest, '--base-url', baseUrl, '--only', `lebombo,venice_sunset,${SMALL},${MIRROR_ONLY}`]);
    expect(again.code, again.out).to.equal(0);
    expect(again.out).to.match(/0 fetched, 4 already present/);
    expect(log.filter((l) => l.path !== '')).to.have.length(4); // the rerun requested nothing
  });

  it('rejects a corrupted file by name with the expected and the got hash, and does not keep it', async () => {
    const dest = path.join(tmp, 'corrupt');
    b.corrupt.add(HDR_A);
    const bad = Buffer.from(fs.readFileSync(path.join(SHARED_ASSETS, HDR_A)));
    bad[bad.length >> 1] ^= 0xff;
    const r = await run(['--dest', dest, '--base-url', baseUrl, '--only', `lebombo,${SMALL}`]);
    expect(r.code, r.out).to.equal(1);
    expect(r.out).to.include(HDR_A).and.include('SHA-256 mismatch');
    expect(r.out).to.include(sha(fs.readFileSync(path.join(SHARED_ASSETS, HDR_A)))).and.include(sha(bad));
    expect(walk(dest)).to.deep.equal([SMALL]); // the good one is kept, no trace of the bad one
  });

  for (const ranges of [true, false]) {
    it(`an interrupted transfer leaves no partial file; a rerun ${ranges ? 'resumes with HTTP Range' : 'restarts (server without Range)'}`, async () => {
      const dest = path.join(tmp, `cut-${ranges}`);
      b.ranges = ranges;
      b.cutFirst.add(HDR_B);
      const first = await run(['--dest', dest, '--base-url', baseUrl, '--only', 'venice_sunset', '--retries', '0']);
      expect(first.code, first.out).to.equal(1);
      expect(first.out).to.include(HDR_B).and.match(/interrupted/);
      expect(fs.existsSync(path.join(dest, HDR_B))).to.equal(false);
      expect(walk(dest).every((f) => f.startsWith('.partial/'))).to.equal(true); // resume state only, outside the asset tree
      const second = await run(['--dest', dest, '--base-url', baseUrl, '--only', 'venice_sunset', '--retries', '0']);
      expect(second.code, second.out).to.equal(0);
      expect(walk(dest)).to.deep.equal([HDR_B]);
      expect(sha(fs.readFileSync(path.join(dest, HDR_B)))).to.equal(sha(fs.readFileSync(path.join(SHARED_ASSETS, HDR_B))));
      const size = fs.statSync(path.join(SHARED_ASSETS, HDR_B)).size;
      // The resume starts at what arrived before the drop (at most the half that was sent).
      expect(log).to.have.length(2);
      expect(log[0].range).to.equal(undefined);
      const resumedAt = Number(/^bytes=(\d+)-$/.exec(log[1].range ?? '')?.[1]);
      expect(resumedAt).to.be.greaterThan(0).and.at.most(size >> 1);
    });
  }

  it('retries within one run by default; --only with an unknown name is an error naming it', async () => {
    const dest = path.join(tmp, 'retry');
    b.cutFirst.add(SMALL);
    const r = await run(['--dest', dest, '--base-url', baseUrl, '--only', SMALL]);
    expect(r.code, r.out).to.equal(0);
    expect(walk(dest)).to.deep.equal([SMALL]);
    const bad = await run(['--dest', dest, '--only', 'no_such_hdri']);
    expect(bad.code).to.equal(1);
    expect(bad.out).to.include('"no_such_hdri" matches no asset');
  });
});

/**
 * Node-side IO: half floats, our OpenEXR writer/reader, PNG via sharp, atomic writes,
 * colour helpers and environment-map loading. Written files are checked against
 * independent readers where available: OpenEXR's `exrheader`, OpenImageIO's
 * `oiiotool`/`iinfo`, numpy (float16 rounding) and PIL (PNG) under /usr/bin/python3.
 * Tests needing a missing tool are skipped, not failed.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as THREE from 'three';
import { EXRLoader } from 'three/examples/jsm/loaders/EXRLoader.js';
import { fromHalf, toHalf, floatsToHalf, halfsToFloat } from '../renderer/core/half.js';
import { srgbEncode, srgbDecode, linearToSrgb8, tonemapToSrgb8, acesFilmic } from '../renderer/core/color.js';
import { writeExr, encodeExr } from '../renderer/io/exr-write.js';
import { readExr } from '../renderer/io/exr-read.js';
import { parseExrHeader } from '../renderer/io/exr-header.js';
import type { ExrChannelInput } from '../renderer/io/exr-format.js';
import { writePng, readPng } from '../renderer/io/image-io.js';
import { writeFileAtomic, writeJsonAtomic } from '../renderer/io/fs-atomic.js';
import {
  listBuiltinEnvMaps,
  readBuiltinEnvMap,
  readBuiltinEnvMapBytes,
  readEnvMap,
  resolveEnvMap,
  contentHash,
} from '../renderer/io/envmap-io.js';
import { skipBecause } from './support/skip.js';
import { resolveAssetPath, SHARED_ASSETS } from '../renderer/io/asset-roots.js';

const PY = '/usr/bin/python3';
const REAL_HDR = resolveAssetPath(path.join(SHARED_ASSETS, 'envmaps', 'studio_small_03_1k.hdr'));

function hasTool(p: string): boolean {
  try {
    execFileSync(p.includes('/') ? p : 'which', p.includes('/') ? ['--version'] : [p], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const NO_PY = 'python3 with numpy and Pillow not installed (Debian: python3-numpy python3-pil)';
const NO_EXRHEADER = 'exrheader not installed (Debian: openexr)';
const NO_OIIO = 'OpenImageIO oiiotool/iinfo not installed (Debian: openimageio-tools)';
const HAVE = {
  exrheader: hasTool('exrheader'),
  oiiotool: hasTool('oiiotool'),
  iinfo: hasTool('iinfo'),
  py: existsSync(PY) && (() => {
    try {
      execFileSync(PY, ['-c', 'import numpy, PIL'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })(),
};

function run(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 << 20, input, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Parse `oiiotool --dumpdata` output -> values[y][x][c]. */
function parseDump(text: string, width: number, height: number): number[][][] {
  const out: number[][][] = Array.from({ length: height }, () => new Array<number[]>(width));
  let n = 0;
  for (const line of text.split('\n')) {
    const m = /Pixel \((\d+), (\d+)\):\s*(.*)$/.exec(line);
    if (!m) continue;
    // Integer formats print native values, then normalised ones in parentheses: keep the native ones.
    const vals = m[3].replace(/\(.*\)/, '').trim().split(/\s+/).map((s) => (/nan/i.test(s) ? NaN : /inf/i.test(s) ? (s.startsWith('-') ? -Infinity : Infinity) : Number(s)));
    out[+m[2]][+m[1]] = vals;
    n++;
  }
  expect(n, 'dumpdata pixel count').to.equal(width * height);
  return out;
}

/** OIIO's channel order for a file (it may reorder B,G,R -> R,G,B). */
function oiioChannels(file: string): string[] {
  const m = /channel list: (.*)/.exec(run('iinfo', ['-v', file]));
  if (!m) throw new Error(`iinfo: no channel list for ${file}`);
  return m[1].split(',').map((s) => s.trim());
}

function close(a: number, b: number, rel: number, abs: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  return Math.abs(a - b) <= abs + rel * Math.abs(b);
}

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Test image: gradients, values > 1 (37.5), negatives, a few exact specials. */
function makeChannels(names: string[], w: number, h: number, seed = 1): ExrChannelInput[] {
  const r = rng(seed);
  return names.map((name, k) => {
    const d = new Float32Array(w * h);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = y * w + x;
        d[i] = (x / w) * (k + 1) + y * 0.37 - 2 + (r() - 0.5) * 0.01;
      }
    }
    d[0] = 37.5;
    d[1] = -3.25;
    d[w * h - 1] = 1000 + k;
    return { name, data: d };
  });
}

/** Await a promise that must reject; return its error. */
async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(Error);
    return e as Error;
  }
  throw new Error('expected the promise to reject');
}

async function noTempFiles(dir: string): Promise<void> {
  const files = await fsp.readdir(dir);
  expect(files.filter((f) => f.includes('.tmp-')), `temp files left in ${dir}`).to.deep.equal([]);
}

let tmp: string;
before(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'vls-io-test-'));
});
after(async () => {
  if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
});

// =====================================================================================

describe('half float conversion', () => {
  it('round-trips every half bit pattern exactly (NaN stays NaN)', () => {
    const all = new Uint16Array(65536);
    for (let i = 0; i < 65536; i++) all[i] = i;
    const f = halfsToFloat(all);
    const back = floatsToHalf(f);
    for (let h = 0; h < 65536; h++) {
      const isNaN = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      if (isNaN) {
        expect(Number.isNaN(fromHalf(h)), `fromHalf(${h})`).to.equal(true);
        expect(back[h] & 0x7c00).to.equal(0x7c00);
        expect(back[h] & 0x3ff).to.not.equal(0);
      } else {
        expect(back[h], `bits 0x${h.toString(16)}`).to.equal(h);
        expect(toHalf(fromHalf(h))).to.equal(h);
        expect(fromHalf(h)).to.equal(f[h]);
      }
    }
  });

  it('handles known values, ties-to-even, overflow, Inf/NaN and denormals', () => {
    const cases: [number, number][] = [
      [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [0.5, 0x3800], [37.5, 0x50b0],
      [65504, 0x7bff], [65519.99, 0x7bff], [65520, 0x7c00], [1e6, 0x7c00], [-1e6, 0xfc00],
      [Infinity, 0x7c00], [-Infinity, 0xfc00],
      [2 ** -14, 0x0400], [2 ** -24, 0x0001], [5 * 2 ** -24, 0x0005], [1023 * 2 ** -24, 0x03ff],
      [2 ** -25, 0x0000], // exactly half the smallest denormal: tie -> even (0)
      [2 ** -25 * 1.0001, 0x0001], [3 * 2 ** -25, 0x0002], [2 ** -26, 0x0000], [1e-30, 0x0000], [-1e-30, 0x8000],
      [1 + 2 ** -11, 0x3c00], // tie -> even
      [1 + 3 * 2 ** -11, 0x3c02], // tie -> even (up)
      [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just above the tie
      [2 ** -14 - 2 ** -25, 0x0400], // rounds up from the largest denormal into the smallest normal
    ];
    for (const [f, h] of cases) expect(toHalf(f), `toHalf(${f})`).to.equal(h);
    const nan = toHalf(NaN);
    expect(nan & 0x7c00).to.equal(0x7c00);
    expect(nan & 0x3ff).to.not.equal(0);
    expect(fromHalf(0x7c00)).to.equal(Infinity);
    expect(fromHalf(0xfc00)).to.equal(-Infinity);
    expect(fromHalf(0x0001)).to.equal(2 ** -24);
    expect(Object.is(fromHalf(0x8000), -0)).to.equal(true);
    expect(fromHalf(0x7bff)).to.equal(65504);
  });

  it('has relative error <= 2^-11 on random normal-range floats', () => {
    const r = rng(7);
    const n = 200_000;
    const src = new Float32Array(n);
    for (let i = 0; i < n; i++) src[i] = (r() < 0.5 ? -1 : 1) * 2 ** (-14 + r() * 29.9); // [2^-14, ~60000]
    const back = halfsToFloat(floatsToHalf(src));
    let maxRel = 0;
    for (let i = 0; i < n; i++) maxRel = Math.max(maxRel, Math.abs(back[i] - src[i]) / Math.abs(src[i]));
    expect(maxRel).to.be.at.most(2 ** -11);
    expect(maxRel).to.be.greaterThan(2 ** -12); // sanity: we did sample near-ties
  });

  it('matches numpy float16 (RNE) bit-for-bit, incl. denormals and overflow', async function () {
    if (!HAVE.py) skipBecause(this, NO_PY);
    this.timeout(10000);
    const r = rng(11);
    const n = 100_000;
    const src = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const mode = i % 4;
      const sign = r() < 0.5 ? -1 : 1;
      if (mode === 0) src[i] = sign * 2 ** (-27 + r() * 14); // denormal / underflow range
      else if (mode === 1) src[i] = sign * 2 ** (14 + r() * 3); // around overflow
      else if (mode === 2) src[i] = sign * (Math.round(r() * 4096) + 0.5) / 1024; // many exact ties
      else src[i] = sign * 2 ** (-14 + r() * 30);
    }
    const inFile = path.join(tmp, 'f32.bin');
    const outFile = path.join(tmp, 'f16.bin');
    await fsp.writeFile(inFile, new Uint8Array(src.buffer));
    run(PY, ['-c', `import numpy as np, warnings\nwarnings.simplefilter('ignore')\nnp.fromfile('${inFile}', dtype='<f4').astype('<f2').view('<u2').tofile('${outFile}')`]);
    const ref = new Uint16Array((await fsp.readFile(outFile)).buffer.slice(0));
    const ours = floatsToHalf(src);
    let mismatches = 0;
    let first = -1;
    for (let i = 0; i < n; i++) {
      if (ours[i] !== ref[i]) {
        if (mismatches++ === 0) first = i;
      }
    }
    expect(mismatches, mismatches ? `first: ${src[first]} ours 0x${ours[first].toString(16)} numpy 0x${ref[first].toString(16)}` : '').to.equal(0);
  });
});

// =====================================================================================

describe('colour helpers', () => {
  it('linearToSrgb8 equals round(255*srgbEncode(x)); encode/decode invert', () => {
    const r = rng(3);
    for (let i = 0; i < 20000; i++) {
      const x = i < 10000 ? r() : r() * 0.01;
      expect(linearToSrgb8(x), `x=${x}`).to.equal(Math.round(255 * srgbEncode(x)));
      expect(srgbDecode(srgbEncode(x))).to.be.closeTo(x, 1e-9);
    }
    expect(linearToSrgb8(-1)).to.equal(0);
    expect(linearToSrgb8(NaN)).to.equal(0);
    expect(linearToSrgb8(5)).to.equal(255);
    expect(linearToSrgb8(0.5)).to.equal(188); // sRGB 0.5 linear -> 187.5 -> 188
  });

  it('tonemapToSrgb8: exposure, ACES curve, alpha passthrough', () => {
    const px = new Float32Array([0, 0.18, 1, 0.5, 100, 2, NaN, 0.25]);
    const out = tonemapToSrgb8(px, 4, 0);
    expect(out[0]).to.equal(0);
    expect(out[1]).to.equal(linearToSrgb8(acesFilmic(0.18)));
    expect(out[3]).to.equal(128); // alpha 0.5, linear quantisation
    expect(out[4]).to.equal(255); // 100 saturates
    expect(out[6]).to.equal(0); // NaN -> 0
    expect(out[7]).to.equal(64); // alpha 0.25
    const brighter = tonemapToSrgb8(px, 4, 1);
    expect(brighter[1]).to.equal(linearToSrgb8(acesFilmic(0.36)));
    expect(brighter[3]).to.equal(128); // alpha unaffected by exposure
    const clamp = tonemapToSrgb8(new Float32Array([0.5]), 1, 0, { curve: 'clamp' });
    expect(clamp[0]).to.equal(188);
  });
});

// =====================================================================================

describe('OpenEXR writer', function () {
  this.timeout(20000);

  interface Case {
    file: string;
    w: number;
    h: number;
    names: string[];
    pixelType: 'half' | 'float';
    compression: 'none' | 'zip';
  }
  const cases: Case[] = [
    { file: 'rgb_half_zip.exr', w: 37, h: 21, names: ['R', 'G', 'B'], pixelType: 'half', compression: 'zip' },
    { file: 'rgb_float_none.exr', w: 37, h: 21, names: ['R', 'G', 'B'], pixelType: 'float', compression: 'none' },
    { file: 'y_float_zip.exr', w: 53, h: 19, names: ['Y'], pixelType: 'float', compression: 'zip' },
    { file: 'rgba_half_zip.exr', w: 29, h: 33, names: ['R', 'G', 'B', 'A'], pixelType: 'half', compression: 'zip' },
  ];
  const expected = new Map<string, { ch: ExrChannelInput[]; c: Case }>();

  before(async () => {
    for (const c of cases) {
      // Deliberately pass channels unsorted: the writer must sort them.
      const ch = makeChannels(c.names, c.w, c.h, c.w).reverse();
      await writeExr(path.join(tmp, c.file), { width: c.w, height: c.h, channels: ch }, {
        pixelType: c.pixelType,
        compression: c.compression,
        attributes: { 'vls:pass': c.file.replace('.exr', '') },
      });
      expected.set(c.file, { ch, c });
    }
  });

  function expectedValue(e: { ch: ExrChannelInput[]; c: Case }, name: string, i: number): number {
    const d = e.ch.find((x) => x.name === name)!.data as Float32Array;
    return e.c.pixelType === 'half' ? fromHalf(toHalf(d[i])) : Math.fround(d[i]);
  }

  it('exrheader lists sorted channels, pixel types, compression, dataWindow and attributes', function () {
    if (!HAVE.exrheader) skipBecause(this, NO_EXRHEADER);
    for (const c of cases) {
      const out = run('exrheader', [path.join(tmp, c.file)]);
      const chans = [...out.matchAll(/^\s+(\S+), (16|32)-bit floating-point, sampling 1 1$/gm)].map((m) => [m[1], m[2]]);
      const sorted = [...c.names].sort();
      expect(chans.map((x) => x[0]), c.file).to.deep.equal(sorted);
      expect(new Set(chans.map((x) => x[1]))).to.deep.equal(new Set([c.pixelType === 'half' ? '16' : '32']));
      expect(out).to.match(c.compression === 'zip' ? /compression \(type compression\): zip, multi-scanline blocks/ : /compression \(type compression\): none/);
      expect(out).to.include(`dataWindow (type box2i): (0 0) - (${c.w - 1} ${c.h - 1})`);
      expect(out).to.include(`displayWindow (type box2i): (0 0) - (${c.w - 1} ${c.h - 1})`);
      expect(out).to.include('lineOrder (type lineOrder): increasing y');
      expect(out).to.include(`vls:pass (type string): "${c.file.replace('.exr', '')}"`);
    }
  });

  it('OpenImageIO reads back every pixel (values > 1, negatives, short last zip block)', function () {
    if (!HAVE.oiiotool || !HAVE.iinfo) skipBecause(this, NO_OIIO);
    for (const c of cases) {
      const file = path.join(tmp, c.file);
      const e = expected.get(c.file)!;
      const order = oiioChannels(file);
      expect([...order].sort()).to.deep.equal([...c.names].sort());
      const dump = parseDump(run('oiiotool', ['--dumpdata', file]), c.w, c.h);
      for (let y = 0; y < c.h; y++) {
        for (let x = 0; x < c.w; x++) {
          order.forEach((name, k) => {
            const want = expectedValue(e, name, y * c.w + x);
            const got = dump[y][x][k];
            if (!close(got, want, 1e-7, 2e-9)) {
              throw new Error(`${c.file} (${x},${y}) ${name}: oiio ${got} vs expected ${want}`);
            }
          });
        }
      }
      expect(dump[0][0][order.indexOf(c.names[0])]).to.equal(37.5);
      expect(dump[0][1][order.indexOf(c.names[0])]).to.equal(-3.25);
    }
  });

  it("three.js EXRLoader reads back every pixel (bottom-up output flipped)", async () => {
    for (const c of cases) {
      const buf = await fsp.readFile(path.join(tmp, c.file));
      const e = expected.get(c.file)!;
      const loader = new EXRLoader();
      loader.setDataType(THREE.FloatType);
      const tex = loader.parse(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer) as unknown as {
        width: number;
        height: number;
        data: Float32Array;
      };
      expect([tex.width, tex.height]).to.deep.equal([c.w, c.h]);
      for (let y = 0; y < c.h; y++) {
        for (let x = 0; x < c.w; x++) {
          const o = ((c.h - 1 - y) * c.w + x) * 4;
          c.names.forEach((name) => {
            const comp = name === 'Y' ? 0 : 'RGBA'.indexOf(name);
            expect(tex.data[o + comp], `${c.file} (${x},${y}) ${name}`).to.equal(expectedValue(e, name, y * c.w + x));
          });
        }
      }
    }
  });

  it('readExr round-trips with both decoders (three and built-in)', async () => {
    for (const c of cases) {
      const e = expected.get(c.file)!;
      for (const decoder of ['three', 'builtin'] as const) {
        const r = await readExr(path.join(tmp, c.file), { decoder });
        expect(r.decoder).to.equal(decoder);
        expect([r.width, r.height]).to.deep.equal([c.w, c.h]);
        expect(r.channels.map((x) => x.name)).to.deep.equal([...c.names].sort());
        expect(r.header.attributes['vls:pass'].value).to.equal(c.file.replace('.exr', ''));
        for (const ch of r.channels) {
          for (let i = 0; i < c.w * c.h; i++) {
            if (ch.data[i] !== expectedValue(e, ch.name, i)) throw new Error(`${decoder} ${c.file} ${ch.name}[${i}]`);
          }
        }
      }
    }
  });

  it('built-in decoder reads files compressed by OpenEXR itself (zip, zips, none; half and float)', async function () {
    if (!HAVE.oiiotool) skipBecause(this, NO_OIIO);
    const src = path.join(tmp, 'rgba_half_zip.exr');
    const e = expected.get('rgba_half_zip.exr')!;
    for (const [comp, depth] of [['zip', 'half'], ['zips', 'half'], ['none', 'float'], ['zip', 'float']] as const) {
      const out = path.join(tmp, `oiio_${comp}_${depth}.exr`);
      run('oiiotool', [src, '-d', depth, '--compression', comp, '-o', out]);
      const r = await readExr(out, { decoder: 'builtin' });
      expect(r.header.compression).to.equal(comp);
      expect([r.width, r.height]).to.deep.equal([29, 33]);
      for (const ch of r.channels) {
        for (let i = 0; i < 29 * 33; i++) {
          if (ch.data[i] !== expectedValue(e, ch.name, i)) throw new Error(`${comp}/${depth} ${ch.name}[${i}]: ${ch.data[i]}`);
        }
      }
    }
  });

  it('writes a lone depth channel Z and mixed pixel types (read by the built-in decoder and OIIO)', async function () {
    const w = 17;
    const h = 18;
    const z = new Float32Array(w * h).map((_, i) => 1.5 + i * 0.125);
    const file = path.join(tmp, 'depth.exr');
    await writeExr(file, { width: w, height: h, channels: [{ name: 'Z', data: z }] }, { pixelType: 'float' });
    const r = await readExr(file);
    expect(r.decoder).to.equal('builtin');
    expect(Array.from(r.channels[0].data)).to.deep.equal(Array.from(z));
    const mixed = path.join(tmp, 'mixed.exr');
    await writeExr(mixed, {
      width: w,
      height: h,
      channels: [{ name: 'Z', data: z, pixelType: 'float' }, { name: 'A', data: new Float32Array(w * h).fill(0.5) }],
    });
    const m = await readExr(mixed);
    expect(m.channels.map((c) => `${c.name}:${c.pixelType}`)).to.deep.equal(['A:half', 'Z:float']);
    expect(Array.from(m.channels[1].data)).to.deep.equal(Array.from(z));
    if (HAVE.oiiotool) {
      const dump = parseDump(run('oiiotool', ['--dumpdata', file]), w, h);
      expect(dump[h - 1][w - 1][0]).to.equal(z[w * h - 1]);
    }
  });

  it('Uint16Array input is taken as half bits; incompressible blocks are stored raw', async function () {
    const w = 64;
    const h = 40;
    const r = rng(5);
    const bits = new Uint16Array(w * h);
    for (let i = 0; i < bits.length; i++) bits[i] = Math.floor(r() * 0x7bff); // random finite positive halves
    const buf = encodeExr({ width: w, height: h, channels: [{ name: 'Y', data: bits }] });
    const hdr = parseExrHeader(buf);
    // Walk the offset table: at least one chunk must be stored uncompressed (size == raw size).
    const sizes: number[] = [];
    for (let b = 0; b < Math.ceil(h / 16); b++) {
      const off = Number(buf.readBigUInt64LE(hdr.headerSize + 8 * b));
      sizes.push(buf.readInt32LE(off + 4));
    }
    expect(sizes).to.include(16 * w * 2);
    const file = path.join(tmp, 'noise.exr');
    await fsp.writeFile(file, buf);
    const back = await readExr(file);
    expect(Array.from(floatsToHalf(back.channels[0].data))).to.deep.equal(Array.from(bits));
    if (HAVE.oiiotool) {
      const dump = parseDump(run('oiiotool', ['--dumpdata', file]), w, h);
      for (let i = 0; i < w * h; i += 97) {
        expect(dump[Math.floor(i / w)][i % w][0]).to.be.closeTo(fromHalf(bits[i]), 1e-9 + 1e-7 * fromHalf(bits[i]));
      }
    }
  });

  it('rejects bad input with clear errors', async () => {
    const d = new Float32Array(4);
    expect(() => encodeExr({ width: 2, height: 3, channels: [{ name: 'R', data: d }] })).to.throw(/expected 2\*3=6/);
    expect(() => encodeExr({ width: 2, height: 2, channels: [{ name: 'R', data: d }, { name: 'R', data: d }] })).to.throw(/duplicate/);
    expect(() => encodeExr({ width: 2, height: 2, channels: [] })).to.throw(/no channels/);
    expect(() => encodeExr({ width: 2, height: 2, channels: [{ name: 'R', data: d }] }, { attributes: { compression: 'x' } })).to.throw(/reserved/);
    const p = path.join(tmp, 'bad-size.exr');
    const err = await rejection(writeExr(p, { width: 0, height: 2, channels: [{ name: 'R', data: d }] }));
    expect(err.message).to.include(p);
    expect(existsSync(p)).to.equal(false);
  });

  it('leaves no temp files; writing into a missing directory rejects naming the path', async () => {
    await noTempFiles(tmp);
    const missingDir = path.join(tmp, 'does', 'not', 'exist');
    const target = path.join(missingDir, 'x.exr');
    const err = await rejection(writeExr(target, { width: 1, height: 1, channels: [{ name: 'Y', data: new Float32Array(1) }] }));
    expect(err.message).to.include(target);
    expect(existsSync(path.join(tmp, 'does'))).to.equal(false);
    await noTempFiles(tmp);
  });

  it('reports truncated / non-EXR files naming the file', async () => {
    const good = await fsp.readFile(path.join(tmp, 'rgb_half_zip.exr'));
    const trunc = path.join(tmp, 'trunc.exr');
    await fsp.writeFile(trunc, good.subarray(0, Math.floor(good.length * 0.6)));
    for (const decoder of ['three', 'builtin'] as const) {
      const err = await rejection(readExr(trunc, { decoder }));
      expect(err.message, decoder).to.include(trunc);
    }
    const notExr = path.join(tmp, 'not.exr');
    await fsp.writeFile(notExr, 'hello world, definitely not an EXR');
    const err = await rejection(readExr(notExr));
    expect(err.message).to.include(notExr).and.to.match(/magic/);
  });
});

// =====================================================================================

describe('PNG IO (sharp) and atomic writes', function () {
  this.timeout(20000);

  const W = 13;
  const H = 7;
  function pattern(n: number, max: number, seed: number): number[] {
    const r = rng(seed);
    return Array.from({ length: n }, (_, i) => (i < 3 ? [0, max, 1][i] : Math.floor(r() * (max + 1))));
  }

  for (const bitDepth of [8, 16] as const) {
    for (const channels of [1, 3, 4] as const) {
      it(`${bitDepth}-bit ${channels}-channel round-trips through sharp and an independent reader`, async function () {
        const max = bitDepth === 16 ? 65535 : 255;
        const vals = pattern(W * H * channels, max, bitDepth * 10 + channels);
        const data = bitDepth === 16 ? Uint16Array.from(vals) : Uint8Array.from(vals);
        const file = path.join(tmp, `img_${bitDepth}_${channels}.png`);
        await writePng(file, data, { width: W, height: H, channels, bitDepth });
        // IHDR: bit depth and colour type straight from the file bytes.
        const bytes = await fsp.readFile(file);
        expect(bytes[24], 'IHDR bit depth').to.equal(bitDepth);
        expect(bytes[25], 'IHDR colour type').to.equal({ 1: 0, 3: 2, 4: 6 }[channels]);
        const back = await readPng(file);
        expect([back.width, back.height, back.channels, back.bitDepth]).to.deep.equal([W, H, channels, bitDepth]);
        expect(Array.from(back.data)).to.deep.equal(vals);

        if (bitDepth === 16 && channels !== 1) {
          // PIL cannot hold 16-bit RGB(A); use OpenImageIO (libpng) instead.
          if (!HAVE.oiiotool) skipBecause(this, NO_OIIO);
          // Keep alpha unassociated (OIIO premultiplies PNG colour on read by default).
          const dump = parseDump(run('oiiotool', ['--iconfig', 'oiio:UnassociatedAlpha', '1', '--dumpdata', file]), W, H);
          for (let i = 0; i < W * H; i++) {
            for (let c = 0; c < channels; c++) {
              expect(dump[Math.floor(i / W)][i % W][c]).to.equal(vals[i * channels + c]);
            }
          }
        } else {
          if (!HAVE.py) skipBecause(this, NO_PY);
          const out = run(PY, [
            '-c',
            'import sys, json, numpy as np\nfrom PIL import Image\nim = Image.open(sys.argv[1])\na = np.asarray(im)\n' +
              'print(json.dumps({"mode": im.mode, "size": im.size, "vals": a.astype(np.int64).ravel().tolist()}))',
            file,
          ]);
          const j = JSON.parse(out) as { mode: string; size: [number, number]; vals: number[] };
          expect(j.size).to.deep.equal([W, H]);
          expect(j.mode).to.be.oneOf(bitDepth === 16 ? ['I;16', 'I;16B', 'I'] : [{ 1: 'L', 3: 'RGB', 4: 'RGBA' }[channels]]);
          expect(j.vals).to.deep.equal(vals);
        }
      });
    }
  }

  it('writePng rejects wrong array types / sizes naming the path', async () => {
    const p = path.join(tmp, 'bad.png');
    let err = await rejection(writePng(p, new Uint8Array(10), { width: 2, height: 2, channels: 3, bitDepth: 8 }));
    expect(err.message).to.include(p).and.to.include('expected 2*2*3=12');
    err = await rejection(writePng(p, new Uint8Array(12), { width: 2, height: 2, channels: 3, bitDepth: 16 }));
    expect(err.message).to.include(p).and.to.include('Uint16Array');
    expect(existsSync(p)).to.equal(false);
  });

  it('atomic writes: no temp files remain; missing directory rejects naming the path', async () => {
    await writeFileAtomic(path.join(tmp, 'a.txt'), 'hello');
    await writeJsonAtomic(path.join(tmp, 'a.json'), { a: 1 });
    await writeFileAtomic(path.join(tmp, 'a.txt'), 'world'); // overwrite
    expect(await fsp.readFile(path.join(tmp, 'a.txt'), 'utf8')).to.equal('world');
    expect(JSON.parse(await fsp.readFile(path.join(tmp, 'a.json'), 'utf8'))).to.deep.equal({ a: 1 });
    await noTempFiles(tmp);
    const target = path.join(tmp, 'nope', 'x.png');
    const err = await rejection(writePng(target, new Uint8Array(3), { width: 1, height: 1, channels: 3, bitDepth: 8 }));
    expect(err.message).to.include(target);
    expect(existsSync(path.join(tmp, 'nope'))).to.equal(false);
    await noTempFiles(tmp);
  });
});

// =====================================================================================

describe('environment maps', function () {
  this.timeout(30000);

  it('every builtin map decodes to 2:1, finite, non-negative', async () => {
    const ids = await listBuiltinEnvMaps();
    expect(ids.length).to.equal(18);
    expect(ids).to.include('builtin:studio');
    for (const id of ids) {
      const img = await readBuiltinEnvMap(id);
      expect(img.width, id).to.equal(2 * img.height);
      expect(img.data.length).to.equal(img.width * img.height * 3);
      let max = 0;
      for (let i = 0; i < img.data.length; i++) {
        const v = img.data[i];
        if (!(v >= 0 && v < Infinity)) throw new Error(`${id}: bad value ${v} at ${i}`);
        if (v > max) max = v;
      }
      expect(max, `${id} is not black`).to.be.greaterThan(0.1);
    }
  });

  it('builtin:studio matches OpenImageIO per pixel (negatives clamped) and in orientation', async function () {
    if (!HAVE.oiiotool) skipBecause(this, NO_OIIO);
    // three's DWAB decoder and OpenEXR's disagree on the *negative* ringing lobes around
    // the lights (e.g. (117,64): three -13.2 vs OpenEXR -136.4), but after clamping
    // negatives to 0 they agree within ~0.5% everywhere (sums within 0.1%).
    const exr = path.join(tmp, 'studio.exr');
    await fsp.writeFile(exr, await readBuiltinEnvMapBytes('builtin:studio'));
    const env = await readBuiltinEnvMap('builtin:studio');
    const W = 512;
    const H = 256;
    expect([env.width, env.height]).to.deep.equal([W, H]);
    const dump = parseDump(run('oiiotool', ['--dumpdata', exr]), W, H);
    const sums = [0, 0, 0, 0, 0, 0];
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        for (let c = 0; c < 3; c++) {
          const got = env.data[(y * W + x) * 3 + c];
          const ref = Math.max(0, dump[y][x][c]);
          if (Math.abs(got - ref) > 0.01 * (ref + 0.05)) throw new Error(`(${x},${y})[${c}]: ours ${got}, OpenImageIO ${ref}`);
          sums[c] += got;
          sums[c + 3] += ref;
        }
      }
    }
    for (let c = 0; c < 3; c++) expect(sums[c] / sums[c + 3]).to.be.closeTo(1, 2e-3);
  });

  it('loads the real studio_small_03_1k.hdr as 1024x512, matching OpenImageIO', async function () {
    if (!existsSync(REAL_HDR)) skipBecause(this, 'studio_small_03_1k.hdr absent (../shared/assets or npm run fetch-assets)');
    const img = await readEnvMap(REAL_HDR);
    expect([img.width, img.height]).to.deep.equal([1024, 512]);
    if (!HAVE.oiiotool) return;
    for (const [x0, y0] of [[0, 0], [600, 100], [1020, 509]]) {
      const cut = path.join(tmp, `hdr_cut_${x0}_${y0}.exr`);
      run('oiiotool', [REAL_HDR, '--cut', `4x3+${x0}+${y0}`, '-d', 'float', '-o', cut]);
      const dump = parseDump(run('oiiotool', ['--dumpdata', cut]), 4, 3);
      for (let y = 0; y < 3; y++) {
        for (let x = 0; x < 4; x++) {
          for (let c = 0; c < 3; c++) {
            const got = img.data[((y0 + y) * 1024 + x0 + x) * 3 + c];
            expect(close(got, dump[y][x][c], 1e-6, 2e-9), `(${x0 + x},${y0 + y})[${c}] ours ${got} oiio ${dump[y][x][c]}`).to.equal(true);
          }
        }
      }
    }
  });

  describe('bad maps are rejected with the file path and the reason', () => {
    async function expectReject(file: string, reason: RegExp): Promise<void> {
      const err = await rejection(readEnvMap(file, { cache: false }));
      expect(err.message).to.include(file);
      expect(err.message).to.match(reason);
    }

    function envChannels(w: number, h: number, poke?: (r: Float32Array, i: (x: number, y: number) => number) => void): ExrChannelInput[] {
      const ch = ['R', 'G', 'B'].map((name) => ({ name, data: new Float32Array(w * h).fill(0.25) }));
      if (poke) poke(ch[1].data, (x, y) => y * w + x); // G channel
      return ch;
    }

    it('truncated .hdr (first 40% of the bytes)', async function () {
      let src = REAL_HDR;
      if (!existsSync(src)) {
        if (!HAVE.oiiotool) skipBecause(this, NO_OIIO);
        src = path.join(tmp, 'gen.hdr');
        run('oiiotool', ['--pattern', 'noise:type=uniform:min=0:max=2', '64x32', '3', '-o', src]);
      }
      const bytes = await fsp.readFile(src);
      const file = path.join(tmp, 'truncated.hdr');
      await fsp.writeFile(file, bytes.subarray(0, Math.floor(bytes.length * 0.4)));
      await expectReject(file, /truncated/);
    });

    it('wrong header / magic (.hdr and .exr), empty file, missing file', async () => {
      const badHdr = path.join(tmp, 'wrong-header.hdr');
      await fsp.writeFile(badHdr, 'P6\n2 1\n255\nabcdef');
      await expectReject(badHdr, /bad header\/magic/);
      const badExr = path.join(tmp, 'wrong-header.exr');
      await fsp.writeFile(badExr, Buffer.from('89504e470d0a1a0a0000', 'hex'));
      await expectReject(badExr, /bad header\/magic 0x89504e47.*0x762f3101/);
      const empty = path.join(tmp, 'empty.hdr');
      await fsp.writeFile(empty, '');
      await expectReject(empty, /empty file/);
      await expectReject(path.join(tmp, 'missing.exr'), /not found/);
    });

    it('EXR with a NaN pixel / a negative pixel', async () => {
      const nanFile = path.join(tmp, 'nan.exr');
      await writeExr(nanFile, { width: 16, height: 8, channels: envChannels(16, 8, (d, i) => (d[i(3, 2)] = NaN)) });
      await expectReject(nanFile, /1 non-finite \(NaN\/Inf\) value\(s\), first at \(x=3, y=2, channel G\)/);
      const negFile = path.join(tmp, 'negative.exr');
      await writeExr(negFile, { width: 16, height: 8, channels: envChannels(16, 8, (d, i) => { d[i(5, 1)] = -1; d[i(7, 6)] = -2; }) });
      await expectReject(negFile, /2 negative value\(s\), first at \(x=5, y=1, channel G\) = -1/);
    });

    it('3:1 map', async () => {
      const file = path.join(tmp, 'three-to-one.exr');
      await writeExr(file, { width: 24, height: 8, channels: envChannels(24, 8) });
      await expectReject(file, /wrong aspect 24x8.*2:1/);
    });
  });

  it('resolveEnvMap: builtin, file, bare name via searchDirs, folder', async () => {
    expect(await resolveEnvMap('builtin:studio')).to.deep.equal([{ kind: 'builtin', ref: 'builtin:studio', name: 'studio' }]);
    expect((await resolveEnvMap('builtin:*')).length).to.equal(18);
    let err = await rejection(resolveEnvMap('builtin:nope'));
    expect(err.message).to.include('builtin:nope').and.to.include('studio');

    const dir = path.join(tmp, 'envs');
    await fsp.mkdir(dir);
    const ch = ['R', 'G', 'B'].map((name) => ({ name, data: new Float32Array(8 * 4).fill(1) }));
    await writeExr(path.join(dir, 'b.exr'), { width: 8, height: 4, channels: ch });
    await writeExr(path.join(dir, 'a.exr'), { width: 8, height: 4, channels: ch });
    await fsp.writeFile(path.join(dir, 'notes.txt'), 'x');
    const listed = await resolveEnvMap(dir);
    expect(listed.map((r) => r.name)).to.deep.equal(['a', 'b']);
    const byName = await resolveEnvMap('a', { searchDirs: [path.join(tmp, 'nothing-here'), dir] });
    expect(byName[0].ref).to.equal(path.join(dir, 'a.exr'));
    err = await rejection(resolveEnvMap('zzz', { searchDirs: [dir] }));
    expect(err.message).to.include('zzz').and.to.include('not found');
  });

  it('cache keyed by path+mtime returns copies and notices rewrites', async () => {
    const file = path.join(tmp, 'cached.exr');
    const mk = (v: number) => ['R', 'G', 'B'].map((name) => ({ name, data: new Float32Array(8 * 4).fill(v) }));
    await writeExr(file, { width: 8, height: 4, channels: mk(1) });
    const a = await readEnvMap(file);
    a.data[0] = 99; // mutating the copy must not poison the cache
    const b = await readEnvMap(file);
    expect(b.data[0]).to.equal(1);
    await new Promise((r) => setTimeout(r, 20));
    await writeExr(file, { width: 8, height: 4, channels: mk(2) });
    const later = new Date(Date.now() + 5000);
    await fsp.utimes(file, later, later); // make sure mtime differs even on coarse clocks
    const c = await readEnvMap(file);
    expect(c.data[0]).to.equal(2);
  });

  it('contentHash is sha256', () => {
    expect(contentHash(Buffer.from('abc'))).to.equal('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('page bundle cache', function () {
  this.timeout(60_000);
  it('rebuilds into a cache folder that was deleted or is new, in the same process', async () => {
    const { ensurePageBundle } = await import('../renderer/engine/bundle.js');
    const a = await fsp.mkdtemp(path.join(os.tmpdir(), 'vls-bundle-a-'));
    const b = await fsp.mkdtemp(path.join(os.tmpdir(), 'vls-bundle-b-'));
    try {
      const da = await ensurePageBundle(a);
      expect(existsSync(path.join(da, 'main.js'))).to.equal(true);
      expect(await ensurePageBundle(a)).to.equal(da);
      // another cache root gets its own bundle, not the first root's folder
      const db = await ensurePageBundle(b);
      expect(db.startsWith(b)).to.equal(true);
      expect(existsSync(path.join(db, 'main.js'))).to.equal(true);
      // a deleted root (the bench removes each run's cache) is rebuilt
      await fsp.rm(a, { recursive: true, force: true });
      const again = await ensurePageBundle(a);
      expect(again).to.equal(da);
      expect(existsSync(path.join(again, 'main.js'))).to.equal(true);
    } finally {
      await fsp.rm(a, { recursive: true, force: true });
      await fsp.rm(b, { recursive: true, force: true });
    }
  });
});

/**
 * Browser start: a browser path that is missing, not executable, lacks a library or dies at once
 * gives one sentence naming it and render-batch / render-one exit 1 at once (no retries, no stack
 * trace); with the system browsers really hidden (a mount namespace), the npm fallback
 * @sparticuz/chromium is unpacked and renders a sample.
 */
import { expect } from 'chai';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { Context } from 'mocha';
import { PROJECT_ROOT } from '../renderer/io/paths.js';
import { SYSTEM_BROWSERS } from '../renderer/engine/browser.js';

const TINY = {
  name: 'browser-fallback',
  heads: ['procedural'],
  envMaps: ['builtin:studio'],
  width: 64,
  height: 64,
  samples: 1,
  seed: 3,
  shardSize: 1,
  workers: 1,
  render: { msaa: 1, envCubeSize: 32, shadowMapSize: 256 },
  background: 'transparent',
};

interface CliResult {
  code: number | null;
  stderr: string;
  lines: { ms: number; text: string }[];
  ms: number;
}

/** Runs a CLI like `npx tsx scripts/X.ts`, timestamping each stderr line. */
function runCli(argv: string[], env: NodeJS.ProcessEnv, prefix: string[] = []): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const cmd = [...prefix, process.execPath, '--import', 'tsx', ...argv];
    const child = spawn(cmd[0], cmd.slice(1), { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let pending = '';
    const lines: CliResult['lines'] = [];
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      pending += d;
      let i;
      while ((i = pending.indexOf('\n')) >= 0) {
        lines.push({ ms: performance.now() - t0, text: pending.slice(0, i) });
        pending = pending.slice(i + 1);
      }
    });
    child.stdout.resume();
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr, lines, ms: performance.now() - t0 }));
  });
}

function envWith(over: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.PUPPETEER_EXECUTABLE_PATH;
  delete env.CHROME_PATH;
  delete env.VLS_CHROMIUM;
  delete env.VLS_BACKEND;
  for (const [k, v] of Object.entries(over)) if (v !== undefined) env[k] = v;
  return env;
}

function skipWith(ctx: Context, reason: string): never {
  if (ctx.test) ctx.test.title += ` [skipped: ${reason}]`;
  ctx.skip();
}

/** One sentence naming the path, exit 1, no stack frames, no retries. */
function expectOneSentence(r: CliResult, exe: string, cause: RegExp): string {
  expect(r.code, r.stderr).to.equal(1);
  expect(r.stderr, 'no stack trace').not.to.match(/^\s+at /m);
  expect(r.stderr, 'no retries').not.to.match(/attempt \d+ failed|restarting the renderer/);
  const naming = r.lines.filter((l) => l.text.includes(exe));
  expect(naming, r.stderr).to.have.length(1);
  expect(naming[0].text).to.match(cause);
  return naming[0].text;
}

describe('browser start failures and the npm fallback', function () {
  let tmp: string;
  let cfgFile: string;
  const report: Record<string, unknown> = {};

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vls-browser-'));
    cfgFile = path.join(tmp, 'tiny.json');
    fs.writeFileSync(cfgFile, JSON.stringify(TINY));
  });
  after(() => {
    if (Object.keys(report).length) console.log(`      browser measurements: ${JSON.stringify(report)}`);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** render-batch with VLS_CHROMIUM=exe; times the error from the batch's start line. */
  async function batchWith(exe: string, cause: RegExp, key: string): Promise<void> {
    const out = fs.mkdtempSync(path.join(tmp, 'out-'));
    const r = await runCli(['scripts/render-batch.ts', cfgFile, '--samples', '1', '--out', out], envWith({ VLS_CHROMIUM: exe }));
    const line = expectOneSentence(r, exe, cause);
    const start = r.lines.find((l) => l.text.includes(' samples, '));
    const err = r.lines.find((l) => l.text === line)!;
    // The process also pays for tsx and loading the modules (seconds on a busy 2-core machine);
    // from the batch's start to the sentence nothing but the browser check may run.
    const afterStart = err.ms - (start?.ms ?? 0);
    report[key] = { totalMs: Math.round(r.ms), afterStartMs: Math.round(afterStart) };
    expect(afterStart).to.be.below(5000);
    expect(r.ms).to.be.below(30_000);
  }

  it('a non-executable VLS_CHROMIUM: one line naming it, exit 1, no stack trace', async function () {
    const exe = path.join(tmp, 'not-executable-chromium');
    fs.writeFileSync(exe, 'not a browser\n', { mode: 0o644 });
    fs.chmodSync(exe, 0o644);
    await batchWith(exe, /is not executable \(mode 644\)/, 'notExecutable');
  });

  it('a missing VLS_CHROMIUM: one sentence naming it, no retries', async function () {
    await batchWith(path.join(tmp, 'no-such-chromium'), /does not exist/, 'missing');
  });

  it('a browser that dies at launch: one sentence with its exit code and last words, no retries', async function () {
    const exe = path.join(tmp, 'dying-chromium');
    fs.writeFileSync(exe, '#!/bin/sh\necho "fatal: this browser refuses to start" >&2\nexit 1\n', { mode: 0o755 });
    await batchWith(exe, /exited with code 1 at launch: fatal: this browser refuses to start/, 'diesAtLaunch');
  });

  it('a browser that lacks a shared library: names the library', async function () {
    const cc = spawnSync('cc', ['--version']);
    if (cc.status !== 0) skipWith(this, 'no C compiler (cc) to build a binary linked to a library that is then removed');
    // A real ELF whose library is gone: the dynamic loader's own message, as with a missing libnss3.
    const dir = fs.mkdtempSync(path.join(tmp, 'lib-'));
    fs.writeFileSync(path.join(dir, 'lib.c'), 'int vls_answer(void) { return 42; }\n');
    fs.writeFileSync(path.join(dir, 'main.c'), 'int vls_answer(void);\nint main(void) { return vls_answer() == 42 ? 0 : 1; }\n');
    execFileSync('cc', ['-shared', '-fPIC', '-o', path.join(dir, 'libvlsgone.so'), path.join(dir, 'lib.c')]);
    const exe = path.join(dir, 'chromium-needs-lib');
    execFileSync('cc', ['-o', exe, path.join(dir, 'main.c'), `-L${dir}`, '-lvlsgone']);
    fs.rmSync(path.join(dir, 'libvlsgone.so'));
    await batchWith(exe, /the shared library libvlsgone\.so is missing/, 'missingLibrary');
  });

  it('render-one prints the same sentence as one line and exits 1', async function () {
    const exe = path.join(tmp, 'not-executable-chromium-2');
    fs.writeFileSync(exe, 'not a browser\n', { mode: 0o644 });
    const r = await runCli(['scripts/render-one.ts', 'scenes/one-procedural.json', '--out', path.join(tmp, 'one')], envWith({ VLS_CHROMIUM: exe }));
    expectOneSentence(r, exe, /^render-one: VLS_CHROMIUM=.* is not executable/);
  });

  it('with the system browsers hidden (mount namespace), the npm fallback is unpacked and renders a sample', async function () {
    if (process.platform !== 'linux' || process.arch !== 'x64') skipWith(this, '@sparticuz/chromium ships a Linux x64 browser only');
    try {
      createRequire(import.meta.url).resolve('@sparticuz/chromium');
    } catch {
      skipWith(this, '@sparticuz/chromium (optional dependency) is not installed: npm skips it on Node < 20.11');
    }
    if (process.getuid?.() !== 0) skipWith(this, 'needs root for unshare -m and mounts');
    const probe = spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', 'd=$(mktemp -d) && mkdir $d/u $d/w $d/l && mount -t overlay overlay -o lowerdir=$d/l,upperdir=$d/u,workdir=$d/w $d/l && umount $d/l; r=$?; rm -rf $d; exit $r'], { encoding: 'utf8' });
    if (probe.status !== 0) skipWith(this, `unshare -m with an overlay mount is not permitted here: ${(probe.stderr || probe.error?.message || '').trim()}`);

    // Inside a private mount namespace: each system browser's folder gets an overlay in which the
    // browser is deleted (so the lookup really does not find it), Puppeteer's cache and the npm
    // browser's unpack folder are empty tmpfs (a real first run). Nothing leaks to the host.
    const hidden = SYSTEM_BROWSERS.filter((p) => fs.existsSync(p));
    const scratch = fs.mkdtempSync(path.join(tmp, 'ns-'));
    const unpackDir = path.join(PROJECT_ROOT, 'output', '.cache', 'chromium-npm');
    fs.mkdirSync(unpackDir, { recursive: true });
    const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    const steps = ['set -e', `mount -t tmpfs vls-scratch ${q(scratch)}`];
    hidden.forEach((p, i) => {
      const u = path.join(scratch, `u${i}`);
      const w = path.join(scratch, `w${i}`);
      steps.push(`mkdir ${q(u)} ${q(w)}`, `mount -t overlay overlay -o lowerdir=${q(path.dirname(p))},upperdir=${q(u)},workdir=${q(w)} ${q(path.dirname(p))}`, `rm -f ${q(p)}`);
    });
    const pupCache = path.join(os.homedir(), '.cache', 'puppeteer');
    if (fs.existsSync(pupCache)) steps.push(`mount -t tmpfs vls-nocache ${q(pupCache)}`);
    steps.push(`mount -t tmpfs vls-unpack ${q(unpackDir)}`);
    steps.push(`for p in ${hidden.map(q).join(' ')}; do if [ -e "$p" ]; then echo "still visible: $p" >&2; exit 3; fi; done`);
    steps.push('exec "$@"');
    const out = path.join(tmp, 'fallback-out');
    const r = await runCli(['scripts/render-batch.ts', cfgFile, '--samples', '1', '--out', out], envWith({}), ['unshare', '-m', '--propagation', 'private', 'sh', '-c', steps.join('\n'), 'vls-ns']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/unpacking the npm Chromium \(@sparticuz\/chromium [\d.]+\)/);
    const unpacked = /unpacked the npm Chromium in ([\d.]+) s/.exec(r.stderr);
    expect(unpacked, r.stderr).to.not.equal(null);
    const chosen = r.lines.find((l) => l.text.includes('renderer backend:'));
    expect(chosen?.text, r.stderr).to.match(/renderer backend: swiftshader \(ANGLE \(Google, Vulkan [^)]*\(SwiftShader/);
    expect(chosen!.text).to.include('(npm fallback @sparticuz/chromium');
    expect(chosen!.text).to.include('sudo apt-get install -y chromium libegl1 libegl-mesa0 libgl1-mesa-dri');
    expect(r.stderr).to.include('the first sample also compiles the shaders');
    const beauty = path.join(out, 'samples', '000000', 'input_i', 'beauty.exr');
    expect(fs.statSync(beauty).size).to.be.greaterThan(1000);
    const meta = JSON.parse(fs.readFileSync(path.join(out, 'samples', '000000', 'input_i', 'meta.json'), 'utf8')) as Record<string, unknown>;
    expect(JSON.stringify(meta)).to.match(/SwiftShader/);
    const sample = /1\/1 samples \(sample 000000 by worker 0 in ([\d.]+) s\)/.exec(r.stderr);
    report.fallback = { unpackS: Number(unpacked![1]), firstSampleS: sample ? Number(sample[1]) : null, totalS: Math.round(r.ms / 100) / 10 };
    // The host still sees its browser: the namespace changed nothing outside.
    for (const p of hidden) expect(fs.existsSync(p), p).to.equal(true);
  });
});

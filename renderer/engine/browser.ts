// Node-only. Finds a Chromium (or unpacks the npm one), picks the fastest WebGL2 backend by
// probing, launches it. Start failures that no retry fixes are BrowserLaunchErrors (one sentence).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { execFile, spawnSync } from 'node:child_process';
import puppeteer, { TimeoutError, type Browser } from 'puppeteer-core';
import { PROJECT_ROOT } from '../io/paths.js';

import { BACKENDS, type Backend } from '../core/backend.js';

export { BACKENDS, type Backend };

const FAST_CMD = 'sudo apt-get install -y chromium libegl1 libegl-mesa0 libgl1-mesa-dri';
const FIX_HINT =
  `Install one with \`${FAST_CMD}\` (Debian/Ubuntu), or \`npx puppeteer browsers install chrome\`, ` +
  'or point VLS_CHROMIUM (or PUPPETEER_EXECUTABLE_PATH) at a Chrome/Chromium binary.';

/** Why the browser cannot start: a cause no retry fixes, said in one sentence naming the path. */
export class BrowserLaunchError extends Error {
  constructor(
    message: string,
    readonly reason: 'not-found' | 'missing' | 'not-executable' | 'missing-libraries' | 'died' | 'no-webgl' | 'backend',
    readonly path?: string,
  ) {
    super(message);
    this.name = 'BrowserLaunchError';
  }
}

export interface BrowserChoice {
  path: string;
  /** VLS_CHROMIUM, PUPPETEER_EXECUTABLE_PATH, CHROME_PATH, system, puppeteer-cache or npm. */
  source: string;
  /** A chrome-headless-shell (the npm fallback) needs puppeteer's headless: 'shell'. */
  headless: true | 'shell';
  /** Backends this build can have: the npm fallback ships SwiftShader only (no Mesa EGL). */
  backends: Backend[];
  /** e.g. '@sparticuz/chromium 147.0.0' for the npm fallback. */
  label: string;
}

export const SYSTEM_BROWSERS = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/snap/bin/chromium',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
];

const NPM_BROWSER = '@sparticuz/chromium';

/** A path we can exec: one sentence when it is missing, not a file, or not executable. */
export function checkExecutable(p: string, label = 'browser '): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch {
    throw new BrowserLaunchError(`${label}${p} does not exist. ${FIX_HINT}`, 'missing', p);
  }
  if (!st.isFile()) throw new BrowserLaunchError(`${label}${p} is not a file (a Chrome/Chromium executable is needed). ${FIX_HINT}`, 'not-executable', p);
  try {
    fs.accessSync(p, fs.constants.X_OK);
  } catch {
    // Checked here: puppeteer's spawn would emit an unhandled EACCES 'error' event and crash.
    throw new BrowserLaunchError(`${label}${p} is not executable (mode ${(st.mode & 0o777).toString(8)}); \`chmod +x\` it or point VLS_CHROMIUM at a Chrome/Chromium binary.`, 'not-executable', p);
  }
}

function cachedOrSystem(env: NodeJS.ProcessEnv): BrowserChoice | null {
  const all = (p: string, source: string): BrowserChoice => ({ path: p, source, headless: true, backends: BACKENDS, label: source === 'system' ? 'system browser' : source });
  for (const name of ['VLS_CHROMIUM', 'PUPPETEER_EXECUTABLE_PATH', 'CHROME_PATH']) {
    const p = env[name];
    if (p) {
      checkExecutable(p, `${name}=`);
      const shell = path.basename(p).startsWith('chrome-headless-shell');
      return { ...all(p, name), headless: shell ? 'shell' : true };
    }
  }
  for (const p of SYSTEM_BROWSERS) if (fs.existsSync(p)) return all(p, 'system');
  const cache = env.PUPPETEER_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'puppeteer');
  for (const product of ['chrome', 'chromium', 'chrome-headless-shell']) {
    const dir = path.join(cache, product);
    if (!fs.existsSync(dir)) continue;
    for (const version of fs.readdirSync(dir).sort().reverse()) {
      for (const rel of ['chrome-linux64/chrome', 'chrome-linux/chrome', 'chrome-headless-shell-linux64/chrome-headless-shell']) {
        const p = path.join(dir, version, rel);
        if (fs.existsSync(p)) return { ...all(p, 'puppeteer-cache'), headless: rel.includes('headless-shell') ? 'shell' : true };
      }
    }
  }
  return null;
}

/** The installed npm fallback package (optional dependency): its version and entry file, or null. */
function npmBrowserPackage(): { version: string; entry: string } | null {
  const require = createRequire(import.meta.url);
  try {
    const entry = require.resolve(NPM_BROWSER);
    const pkg = JSON.parse(fs.readFileSync(path.join(entry.slice(0, entry.lastIndexOf(`${path.sep}build${path.sep}`)), 'package.json'), 'utf8')) as { version: string };
    return { version: pkg.version, entry };
  } catch {
    return null;
  }
}

let unpacking: Promise<string> | null = null;

/**
 * Unpacks the npm Chromium once per machine into output/.cache/chromium-npm/<version>/. The
 * package unpacks into os.tmpdir() and reuses any `chromium` found there (another version, or a
 * half-written one after a kill), so it runs in a child with TMPDIR set to a private staging
 * folder that is renamed into place when complete (atomic, safe with several processes).
 */
function unpackNpmBrowser(pkg: { version: string; entry: string }, log?: (m: string) => void): Promise<string> {
  const dir = path.join(PROJECT_ROOT, 'output', '.cache', 'chromium-npm', pkg.version);
  const exe = path.join(dir, 'chromium');
  if (fs.existsSync(exe)) return Promise.resolve(exe);
  unpacking ??= (async () => {
    log?.(`unpacking the npm Chromium (${NPM_BROWSER} ${pkg.version}) into ${path.relative(process.cwd(), dir) || dir}: first run only, ~3-5 s`);
    const t0 = performance.now();
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    const stage = fs.mkdtempSync(`${dir}.tmp-`);
    try {
      const script = 'const c = require(process.argv[1]); (c.default ?? c).executablePath().then((p) => console.log(p), (e) => { console.error(e.message); process.exit(1); });';
      const out = await new Promise<string>((resolve, reject) => {
        execFile(process.execPath, ['-e', script, pkg.entry], { env: { ...process.env, TMPDIR: stage, TMP: stage, TEMP: stage }, timeout: 120_000 }, (err, stdout, stderr) => {
          if (err) reject(new BrowserLaunchError(`unpacking ${NPM_BROWSER} ${pkg.version} failed: ${(stderr || err.message).trim().split('\n')[0]}`, 'missing', dir));
          else resolve(stdout.trim());
        });
      });
      if (path.resolve(out) !== path.join(stage, 'chromium')) throw new BrowserLaunchError(`${NPM_BROWSER} ${pkg.version} unpacked to ${out}, not into ${stage}`, 'missing', out);
      try {
        fs.renameSync(stage, dir);
      } catch (err) {
        if (!fs.existsSync(exe)) throw err; // else another process finished first: use its copy
      }
      log?.(`unpacked the npm Chromium in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      return exe;
    } finally {
      fs.rmSync(stage, { recursive: true, force: true });
    }
  })().finally(() => {
    unpacking = null;
  });
  return unpacking;
}

/**
 * The Chromium to use, in order: VLS_CHROMIUM (or PUPPETEER_EXECUTABLE_PATH, CHROME_PATH), a
 * system Chromium/Chrome, Puppeteer's cache, then the npm package @sparticuz/chromium (an
 * optional dependency: a headless shell with SwiftShader only, unpacked on first use).
 */
export async function findBrowser(opts: { env?: NodeJS.ProcessEnv; log?: (m: string) => void } = {}): Promise<BrowserChoice> {
  const found = cachedOrSystem(opts.env ?? process.env);
  if (found) return found;
  const pkg = process.platform === 'linux' && process.arch === 'x64' ? npmBrowserPackage() : null;
  if (!pkg) {
    throw new BrowserLaunchError(
      `No Chrome or Chromium found, nor the npm fallback ${NPM_BROWSER} (Linux x64 only; \`npm install\` skips this optional dependency on Node older than 20.11). ${FIX_HINT}`,
      'not-found',
    );
  }
  const exe = await unpackNpmBrowser(pkg, opts.log);
  return { path: exe, source: 'npm', headless: 'shell', backends: ['swiftshader'], label: `${NPM_BROWSER} ${pkg.version}` };
}

const COMMON_ARGS = [
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--disable-dev-shm-usage',
  '--disable-background-timer-throttling',
  '--disable-renderer-backgrounding',
  '--disable-backgrounding-occluded-windows',
  '--disable-extensions',
  '--mute-audio',
  '--hide-scrollbars',
];

export function backendLaunchConfig(backend: Backend): { args: string[]; env: Record<string, string> } {
  const threads = String(Math.max(1, Math.min(os.availableParallelism(), 16)));
  switch (backend) {
    case 'gpu':
      return { args: ['--ignore-gpu-blocklist', '--enable-gpu'], env: {} };
    case 'llvmpipe':
      return {
        args: ['--ignore-gpu-blocklist', '--use-gl=angle', '--use-angle=gl-egl'],
        env: { EGL_PLATFORM: 'surfaceless', GALLIUM_DRIVER: 'llvmpipe', LP_NUM_THREADS: process.env.LP_NUM_THREADS ?? threads },
      };
    case 'swiftshader':
      return { args: ['--use-angle=swiftshader', '--enable-unsafe-swiftshader'], env: {} };
  }
}

/** Runs `exe --version` to say why a browser would not start; null when it runs (cause unknown). */
function diagnoseLaunch(exe: string): BrowserLaunchError | null {
  const r = spawnSync(exe, ['--headless', '--version'], { encoding: 'utf8', timeout: 20_000 });
  const err = r.error as NodeJS.ErrnoException | undefined;
  if (err?.code === 'ETIMEDOUT') return null;
  if (err) return new BrowserLaunchError(`browser ${exe} cannot be started: ${err.code ?? err.message}.`, 'not-executable', exe);
  if (r.status === 0) return null;
  const lines = (r.stderr + '\n' + r.stdout).split('\n').map((l) => l.trim()).filter(Boolean);
  const lib = /error while loading shared libraries: ([^:\s]+)/.exec(r.stderr);
  if (lib) {
    return new BrowserLaunchError(
      `browser ${exe} cannot start: the shared library ${lib[1]} is missing (on Debian/Ubuntu \`${FAST_CMD}\` installs a browser with its libraries; for the npm fallback alone, \`sudo apt-get install -y libnss3\`).`,
      'missing-libraries',
      exe,
    );
  }
  const how = r.signal ? `was killed by ${r.signal}` : `exited with code ${r.status}`;
  const said = lines.length ? `: ${lines[lines.length - 1].slice(0, 300)}` : ' without output';
  return new BrowserLaunchError(`browser ${exe} ${how} at launch${said}`, 'died', exe);
}

export async function launchBrowser(backend: Backend, opts: { executable?: string; browser?: BrowserChoice; userDataDir?: string } = {}): Promise<Browser> {
  const choice = opts.browser ?? (opts.executable ? null : await findBrowser());
  const exe = opts.executable ?? choice!.path;
  checkExecutable(exe);
  const cfg = backendLaunchConfig(backend);
  const args = [...COMMON_ARGS, ...cfg.args];
  if (typeof process.getuid === 'function' && process.getuid() === 0) args.push('--no-sandbox');
  try {
    return await puppeteer.launch({
      executablePath: exe,
      headless: choice?.headless ?? true,
      args,
      env: { ...process.env, ...cfg.env } as Record<string, string>,
      userDataDir: opts.userDataDir,
      protocolTimeout: 300_000,
      // No Network domain: the render page needs no request events, and with it on, the DevTools
      // agent kept every upload and fetch of a long batch (measured: the page's process grew by
      // ~190 MiB over 160 samples at 64 px, and stays flat without it).
      networkEnabled: false,
      // CDP over a pipe: the browser exits with this process even when it is SIGKILLed (no orphans).
      pipe: true,
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
    });
  } catch (err) {
    // Over a pipe puppeteer only sees "Target closed": ask the binary itself what is wrong. A
    // timeout (busy machine) or a browser that runs but died now stays a plain, retryable error.
    if (err instanceof TimeoutError) throw err;
    throw diagnoseLaunch(exe) ?? err;
  }
}

export interface ProbeResult {
  backend: Backend;
  renderer: string;
  reason: string;
  /** The browser the probe ran (launch the same one). */
  browser: BrowserChoice;
}

/** One log line: browser and backend, plus the command to the faster one when on SwiftShader without a GPU. */
export function describeChoice(p: ProbeResult): string {
  const where = p.browser.source === 'npm' ? `npm fallback ${p.browser.label}` : p.browser.source;
  let s = `renderer backend: ${p.backend} (${p.renderer}; ${p.reason}); browser ${p.browser.path} (${where})`;
  if (p.backend === 'swiftshader' && !hasGpuDevice()) {
    s += `. This browser has SwiftShader only; Mesa llvmpipe, usually the faster CPU backend, comes with: ${FAST_CMD}`;
  }
  return s;
}

/** Is this WebGL renderer string what the backend promises (not a silent software fallback)? */
function matches(backend: Backend, renderer: string): boolean {
  const r = renderer.toLowerCase();
  const software = r.includes('swiftshader') || r.includes('llvmpipe') || r.includes('lavapipe') || r.includes('softpipe');
  if (backend === 'gpu') return !software;
  if (backend === 'llvmpipe') return r.includes('llvmpipe');
  return r.includes('swiftshader');
}

async function probeOne(backend: Backend, browser: BrowserChoice): Promise<string | null> {
  let b: Browser | null = null;
  try {
    b = await launchBrowser(backend, { browser });
    const page = await b.newPage();
    const info = await page.evaluate(() => {
      const gl = document.createElement('canvas').getContext('webgl2');
      if (!gl) return null;
      const ext = gl.getExtension('WEBGL_debug_renderer_info');
      const float = !!gl.getExtension('EXT_color_buffer_float');
      return { renderer: String(ext ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER)), float };
    });
    if (!info || !info.float) return null;
    return matches(backend, info.renderer) ? info.renderer : null;
  } catch (err) {
    if (err instanceof BrowserLaunchError) throw err; // the binary itself does not start: no backend will
    return null;
  } finally {
    await b?.close().catch(() => undefined);
  }
}

function hasGpuDevice(): boolean {
  try {
    if (fs.readdirSync('/dev').some((d) => d.startsWith('nvidia'))) return true;
    // A render node from a real driver (not only vgem/virtio without 3D) suggests a GPU.
    return fs.existsSync('/dev/dri') && fs.readdirSync('/dev/dri').some((d) => d.startsWith('renderD'));
  } catch {
    return false;
  }
}

let probeCache: Promise<ProbeResult> | null = null;

/**
 * The fastest working backend, in order GPU > llvmpipe (3-4x faster than SwiftShader on CPU)
 * > SwiftShader, among those the browser can have. `forced` (or VLS_BACKEND) skips probing of
 * the others but still checks it works.
 */
export function probeBackend(forced?: Backend | 'auto', opts: { log?: (m: string) => void } = {}): Promise<ProbeResult> {
  const want = forced && forced !== 'auto' ? forced : (process.env.VLS_BACKEND as Backend | undefined);
  if (want && !BACKENDS.includes(want)) {
    return Promise.reject(new Error(`unknown backend "${want}" (VLS_BACKEND or --backend): use one of ${BACKENDS.join(', ')}, auto`));
  }
  if (!want && probeCache) return probeCache;
  const run = async (): Promise<ProbeResult> => {
    const browser = await findBrowser({ log: opts.log });
    const exe = browser.path;
    if (want && !browser.backends.includes(want)) {
      throw new BrowserLaunchError(
        `backend ${want} is not available in ${exe} (${browser.label}: ${browser.backends.join(', ')} only); use --backend auto, or for llvmpipe install a system browser: ${FAST_CMD}`,
        'backend',
        exe,
      );
    }
    const order: Backend[] = want ? [want] : (hasGpuDevice() ? BACKENDS : (['llvmpipe', 'swiftshader'] as Backend[])).filter((b) => browser.backends.includes(b));
    const tried: string[] = [];
    for (const b of order) {
      const renderer = await probeOne(b, browser);
      if (renderer) return { backend: b, renderer, reason: want ? 'forced' : `probed: ${[...tried, b].join(' -> ')}`, browser };
      tried.push(`${b} (unavailable)`);
    }
    throw new BrowserLaunchError(
      `no WebGL2 backend with float render targets works in ${exe} (tried ${order.join(', ')}). ` +
        `On Debian/Ubuntu: \`${FAST_CMD}\`.`,
      'no-webgl',
      exe,
    );
  };
  const p = run();
  if (!want) {
    probeCache = p;
    p.catch(() => {
      if (probeCache === p) probeCache = null; // a later start may find what is missing now
    });
  }
  return p;
}

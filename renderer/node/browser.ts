// Node-only. Finds a Chromium, picks the fastest WebGL2 backend by probing, launches it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';

export type Backend = 'gpu' | 'llvmpipe' | 'swiftshader';
export const BACKENDS: Backend[] = ['gpu', 'llvmpipe', 'swiftshader'];

const FIX_HINT =
  'Install one with `sudo apt-get install -y chromium` (Debian/Ubuntu), or `npx puppeteer browsers install chrome`, ' +
  'or point VLS_CHROMIUM (or PUPPETEER_EXECUTABLE_PATH) at a Chrome/Chromium binary.';

const SYSTEM_BROWSERS = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/snap/bin/chromium',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
];

/** Chromium executable: an explicit env var, else a system Chromium/Chrome, else Puppeteer's cache. */
export function findBrowser(env: NodeJS.ProcessEnv = process.env): { path: string; source: string } {
  for (const name of ['VLS_CHROMIUM', 'PUPPETEER_EXECUTABLE_PATH', 'CHROME_PATH']) {
    const p = env[name];
    if (p) {
      if (!fs.existsSync(p)) throw new Error(`${name}=${p} does not exist. ${FIX_HINT}`);
      return { path: p, source: name };
    }
  }
  for (const p of SYSTEM_BROWSERS) if (fs.existsSync(p)) return { path: p, source: 'system' };
  const cache = env.PUPPETEER_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'puppeteer');
  for (const product of ['chrome', 'chromium', 'chrome-headless-shell']) {
    const dir = path.join(cache, product);
    if (!fs.existsSync(dir)) continue;
    for (const version of fs.readdirSync(dir).sort().reverse()) {
      for (const rel of ['chrome-linux64/chrome', 'chrome-linux/chrome', 'chrome-headless-shell-linux64/chrome-headless-shell']) {
        const p = path.join(dir, version, rel);
        if (fs.existsSync(p)) return { path: p, source: 'puppeteer-cache' };
      }
    }
  }
  throw new Error(`No Chrome or Chromium found. ${FIX_HINT}`);
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

export async function launchBrowser(backend: Backend, opts: { executable?: string; userDataDir?: string } = {}): Promise<Browser> {
  const exe = opts.executable ?? findBrowser().path;
  const cfg = backendLaunchConfig(backend);
  const args = [...COMMON_ARGS, ...cfg.args];
  if (typeof process.getuid === 'function' && process.getuid() === 0) args.push('--no-sandbox');
  return puppeteer.launch({
    executablePath: exe,
    headless: true,
    args,
    env: { ...process.env, ...cfg.env } as Record<string, string>,
    userDataDir: opts.userDataDir,
    protocolTimeout: 300_000,
    // CDP over a pipe: the browser exits with this process even when it is SIGKILLed (no orphans).
    pipe: true,
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  });
}

export interface ProbeResult {
  backend: Backend;
  renderer: string;
  reason: string;
}

/** Is this WebGL renderer string what the backend promises (not a silent software fallback)? */
function matches(backend: Backend, renderer: string): boolean {
  const r = renderer.toLowerCase();
  const software = r.includes('swiftshader') || r.includes('llvmpipe') || r.includes('lavapipe') || r.includes('softpipe');
  if (backend === 'gpu') return !software;
  if (backend === 'llvmpipe') return r.includes('llvmpipe');
  return r.includes('swiftshader');
}

async function probeOne(backend: Backend, exe: string): Promise<string | null> {
  let browser: Browser | null = null;
  try {
    browser = await launchBrowser(backend, { executable: exe });
    const page = await browser.newPage();
    const info = await page.evaluate(() => {
      const gl = document.createElement('canvas').getContext('webgl2');
      if (!gl) return null;
      const ext = gl.getExtension('WEBGL_debug_renderer_info');
      const float = !!gl.getExtension('EXT_color_buffer_float');
      return { renderer: String(ext ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER)), float };
    });
    if (!info || !info.float) return null;
    return matches(backend, info.renderer) ? info.renderer : null;
  } catch {
    return null;
  } finally {
    await browser?.close().catch(() => undefined);
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
 * > SwiftShader. `forced` (or VLS_BACKEND) skips probing of the others but still checks it works.
 */
export function probeBackend(forced?: Backend | 'auto'): Promise<ProbeResult> {
  const want = forced && forced !== 'auto' ? forced : (process.env.VLS_BACKEND as Backend | undefined);
  if (want && !BACKENDS.includes(want)) {
    return Promise.reject(new Error(`unknown backend "${want}" (VLS_BACKEND or --backend): use one of ${BACKENDS.join(', ')}, auto`));
  }
  if (!want && probeCache) return probeCache;
  const run = async (): Promise<ProbeResult> => {
    const exe = findBrowser().path;
    const order: Backend[] = want ? [want] : hasGpuDevice() ? BACKENDS : ['llvmpipe', 'swiftshader'];
    const tried: string[] = [];
    for (const b of order) {
      const renderer = await probeOne(b, exe);
      if (renderer) return { backend: b, renderer, reason: want ? 'forced' : `probed: ${[...tried, b].join(' -> ')}` };
      tried.push(`${b} (unavailable)`);
    }
    throw new Error(
      `no WebGL2 backend with float render targets works in ${exe} (tried ${order.join(', ')}). ` +
        'On Debian/Ubuntu: `sudo apt-get install -y chromium libegl1 libegl-mesa0 libgl1-mesa-dri`.',
    );
  };
  const p = run();
  if (!want) probeCache = p;
  return p;
}

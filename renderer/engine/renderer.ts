// Node-only. One renderer worker: one headless Chromium with one warm Babylon page. Heads and
// environment maps stay cached in the page across samples. Every page call has a timeout, and a
// crashed page, lost WebGL context or closed browser rejects instead of hanging.
import path from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { launchBrowser, probeBackend, describeChoice, type Backend, type ProbeResult } from './browser.js';
import { ensurePageBundle } from './bundle.js';
import { PROJECT_ROOT } from '../io/paths.js';
import { PageServer } from './page-server.js';
import { resolveHead, toPageHead, type ResolvedHead } from '../assets/head.js';
import { prepareEnvironment, renderBackground } from '../assets/environment.js';
import { halfsToFloat } from '../core/half.js';
import { resolveCamera, type ResolvedCamera } from '../core/camera.js';
import { modesFor } from '../develop/passes/index.js';
import type { SampleSpec } from '../core/spec.js';
import { VIS_STRIDE, type PageRenderRequest, type PageRenderResult, type PageOlatLight, type PageOlatResult, type PageHead } from '../core/protocol.js';
import { createOccluder, type VisibilityInput, type VisibilityResult, type Occluder } from '../assets/visibility.js';
import { cachedVisibility } from '../assets/visibility-cache.js';
import { bounceShading } from '../assets/bounce.js';
import sharp from 'sharp';

/** What the bounce of each render needs of a head (Renderer.ensureVisibility). */
interface HeadLightTransport {
  input: VisibilityInput;
  vis: VisibilityResult;
  occluder: Occluder;
  albedo: [number, number, number];
  bias: number;
}

/** Mean linear albedo of a head: its albedo map (sRGB decoded exactly) times the descriptor's factor. */
async function meanAlbedo(file: string | undefined, factor: [number, number, number]): Promise<[number, number, number]> {
  if (!file) return [...factor];
  const { data, info } = await sharp(file).removeAlpha().resize(256, 256, { fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
  const lin = (c: number) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
  const sum = [0, 0, 0];
  const n = info.width * info.height;
  for (let p = 0; p < n; p++) for (let c = 0; c < 3; c++) sum[c] += lin(data[p * info.channels + c] / 255);
  return [(sum[0] / n) * factor[0], (sum[1] / n) * factor[1], (sum[2] / n) * factor[2]];
}

function bboxDiagonal(p: Float32Array): number {
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < p.length; i++) {
    lo[i % 3] = Math.min(lo[i % 3], p[i]);
    hi[i % 3] = Math.max(hi[i % 3], p[i]);
  }
  return Math.hypot(hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]);
}

/** Rays per vertex of the environment visibility (renderer/assets/visibility.ts). */
const VISIBILITY_RAYS = 128;

import type { OrbitCamera } from '../core/camera.js';
import type { RendererInfo, RenderedSample } from '../develop/rendered.js';
import type { RenderModeName } from '../core/render-modes.js';

export interface RendererOptions {
  /** 'auto' probes GPU > llvmpipe > SwiftShader. Also VLS_BACKEND. */
  backend?: Backend | 'auto';
  /** Where bundles, generated heads and env caches live (default output/.cache). */
  cacheRoot?: string;
  /** Timeout for each page call, ms (default 120 s; first renders compile shaders). */
  timeoutMs?: number;
  log?: (msg: string) => void;
}

export type { RendererInfo, RenderedSample } from '../develop/rendered.js';

export interface OlatCaptureRequest {
  head: string;
  width: number;
  height: number;
  camera: Omit<OrbitCamera, 'width' | 'height'>;
  /** The rig's lights as the page draws them (position, aim point, colour, intensity, radius). */
  lights: PageOlatLight[];
  /** Light indices on together per image; default one image per light. */
  shots?: number[][];
  /** MSAA of the mask draw (default 4). */
  msaa?: number;
  /** Side of each light's shadow map (default 1024). */
  shadowMapSize?: number;
  subsurface?: boolean;
}

export interface OlatCaptureResult {
  camera: ResolvedCamera;
  head: ResolvedHead;
  headBounds: { min: number[]; max: number[] };
  width: number;
  height: number;
  shots: number[][];
  /** Number of covered pixels (pixel centre on the head). */
  pixelCount: number;
  /** Covered pixel indices y*width + x (row 0 = top), increasing. */
  indices: Uint32Array;
  /** Full-frame intrinsics, row 0 = top: RGB, RGB, metres (0 off the head), coverage. */
  albedo: Float32Array;
  normal: Float32Array;
  depth: Float32Array;
  mask: Float32Array;
  /** shots x pixelCount x 3 half-float bits (linear RGB radiance), covered pixels in `indices` order. */
  images: Uint16Array;
  leakedPixels: number;
  uploadBytes: number;
  timings: { totalMs: number; pageMs: number; page: PageOlatResult['timings'] };
}

export class RendererError extends Error {
  constructor(message: string, readonly kind: 'timeout' | 'crash' | 'context-lost' | 'closed' | 'page') {
    super(message);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RendererError(`${what} timed out after ${ms} ms`, 'timeout')), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

export class Renderer {
  private failure: RendererError | null = null;
  private failureWaiters = new Set<(e: RendererError) => void>();
  private headCache = new Map<string, Promise<ResolvedHead>>();
  private closed = false;

  private constructor(
    private browser: Browser,
    private page: Page,
    private server: PageServer,
    readonly info: RendererInfo,
    private opts: Required<Pick<RendererOptions, 'timeoutMs' | 'cacheRoot'>> & RendererOptions,
  ) {
    const fail = (e: RendererError) => {
      if (this.failure) return;
      this.failure = e;
      for (const w of this.failureWaiters) w(e);
    };
    page.on('error', (err) => fail(new RendererError(`render page crashed: ${err.message}`, 'crash')));
    browser.on('disconnected', () => {
      if (!this.closed) fail(new RendererError('browser process exited', 'closed'));
    });
    page.on('console', (msg) => {
      if (msg.type() === 'error') opts.log?.(`[page] ${msg.text()}`);
    });
  }

  static async launch(options: RendererOptions = {}): Promise<Renderer> {
    const opts = { timeoutMs: 120_000, cacheRoot: path.join(PROJECT_ROOT, 'output', '.cache'), ...options };
    // Finds (or unpacks) the browser first: a BrowserLaunchError names the path and the fix.
    const [probe, bundleDir] = await Promise.all([probeBackend(opts.backend, { log: opts.log }), ensurePageBundle(opts.cacheRoot)]);
    opts.log?.(describeChoice(probe));
    const server = new PageServer(bundleDir);
    const origin = await server.start();
    const t0 = performance.now();
    let browser: Browser | null = null;
    try {
      browser = await launchBrowser(probe.backend, { browser: probe.browser });
      const launchMs = performance.now() - t0;
      const page = await browser.newPage();
      const t1 = performance.now();
      await withTimeout(page.goto(origin + '/', { waitUntil: 'load' }), opts.timeoutMs, 'loading the render page');
      await withTimeout(page.waitForFunction(() => (window as unknown as { vls?: { ready: boolean } }).vls?.ready === true, { timeout: opts.timeoutMs }), opts.timeoutMs, 'starting the render page');
      const pageReadyMs = performance.now() - t1;
      const pageInfo = await page.evaluate(() => window.vls.info());
      const info: RendererInfo = {
        backend: probe.backend,
        webglRenderer: pageInfo.renderer,
        backendReason: probe.reason,
        chromium: await browser.version(),
        babylon: pageInfo.babylon,
        launchMs,
        pageReadyMs,
      };
      return new Renderer(browser, page, server, info, opts as Renderer['opts']);
    } catch (err) {
      await browser?.close().catch(() => undefined);
      await server.close();
      throw err;
    }
  }

  /** Resolves and checks a head once per renderer. */
  resolveHead(ref: string): Promise<ResolvedHead> {
    let p = this.headCache.get(ref);
    if (!p) {
      p = resolveHead(ref, { cacheRoot: this.opts.cacheRoot });
      p.catch(() => this.headCache.delete(ref));
      this.headCache.set(ref, p);
    }
    return p;
  }

  get failed(): RendererError | null {
    return this.failure;
  }

  /** Races a page call against the timeout and against page/browser failure. */
  private guard<T>(p: Promise<T>, what: string, timeoutMs = this.opts.timeoutMs): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    let waiter: (e: RendererError) => void = () => undefined;
    const failed = new Promise<never>((_, reject) => {
      waiter = reject;
      this.failureWaiters.add(waiter);
    });
    return withTimeout(Promise.race([p, failed]), timeoutMs, what).finally(() => this.failureWaiters.delete(waiter));
  }

  private visibility = new Map<string, Promise<HeadLightTransport>>();
  private positions = new Map<string, Promise<Float32Array>>();
  private bounceSerial = 0;

  /**
   * Once per head and page: the page's vertices go to renderer/assets/visibility.ts (ray traced,
   * cached on disk by geometry) and the per-vertex transfer comes back as vertex attributes; the
   * geometry, its occluder and the head's mean albedo stay here for the bounce of each render.
   */
  private ensureVisibility(head: PageHead, albedoFile: string | undefined): Promise<HeadLightTransport> {
    let p = this.visibility.get(head.key);
    if (!p) {
      p = (async () => {
        const g = await this.page.evaluate((h) => window.vls.headGeometry(h), head);
        const buf = (b64: string) => Buffer.from(b64, 'base64');
        const bytes = (b: Buffer) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
        const input = { positions: new Float32Array(bytes(buf(g.positions))), normals: new Float32Array(bytes(buf(g.normals))), indices: new Uint32Array(bytes(buf(g.indices))) };
        const t0 = performance.now();
        const vis = await cachedVisibility(input, path.join(this.opts.cacheRoot, 'visibility'), { rays: VISIBILITY_RAYS });
        const n = vis.vertexCount;
        if (!g.hasVisibility) {
          const packed = new Float32Array(n * VIS_STRIDE);
          for (let i = 0; i < n; i++) {
            packed.set(vis.transfer.subarray(i * 9, i * 9 + 9), i * VIS_STRIDE);
            packed[i * VIS_STRIDE + 9] = vis.ao[i];
          }
          const key = `vis:${head.key}`;
          this.server.putBlob(key, Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength));
          await this.page.evaluate((h, url) => window.vls.setHeadVisibility(h, url), head, this.server.blobUrl(key));
        }
        const albedo = await meanAlbedo(albedoFile, head.material.albedoFactor);
        this.opts.log?.(`light transport of head ${head.key}: ${n} vertices, ${vis.fromCache ? 'cached' : `ray traced in ${((performance.now() - t0) / 1000).toFixed(1)} s`}, mean albedo ${albedo.map((v) => v.toFixed(3)).join(' ')}`);
        return { input, vis, occluder: createOccluder(input), albedo, bias: 1e-4 * bboxDiagonal(input.positions) };
      })();
      p.catch(() => this.visibility.delete(head.key));
      this.visibility.set(head.key, p);
    }
    return p;
  }

  /** World positions of a head's vertices as the page draws them (loads it in the page; cached per head). */
  private headPositions(head: PageHead): Promise<Float32Array> {
    let p = this.positions.get(head.key);
    if (!p) {
      p = this.page.evaluate((h) => window.vls.headGeometry(h), head).then((g) => {
        const b = Buffer.from(g.positions, 'base64');
        return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
      });
      p.catch(() => this.positions.delete(head.key));
      this.positions.set(head.key, p);
      // A sequence walks forward: keep the few heads around the current frame.
      if (this.positions.size > 4) this.positions.delete(this.positions.keys().next().value!);
    }
    return p;
  }

  /**
   * Renders one sample. `extras.motion`: the head refs of the previous and next frames of a
   * deforming head (same topology; null = this frame's own): the render adds the motionPrev and
   * motionNext modes, where each pixel's surface point is in those frames (renderer/develop/flow.ts).
   */
  async renderSample(spec: SampleSpec, extras: { motion?: { prevHead: string | null; nextHead: string | null } } = {}): Promise<RenderedSample> {
    const t0 = performance.now();
    const head = await this.resolveHead(spec.head);
    const camera = resolveCamera({ ...spec.camera, width: spec.width, height: spec.height });
    const env = await prepareEnvironment(spec.lighting.environment, spec.render.envCubeSize, spec.render.envLights);
    const pageHead = toPageHead(head, (f) => this.server.fileUrl(f), spec.render.subsurface);
    const lit = env !== null || spec.lighting.pointLights.length > 0;
    const transport = lit && (spec.render.envVisibility || spec.render.bounce) ? await this.guard(this.ensureVisibility(pageHead, head.files.albedo), "computing the head's light transport", 600_000) : null;
    let bounceUrl: string | null = null;
    if (transport && spec.render.bounce) {
      const k = env?.intensity ?? 0;
      const indirect = bounceShading(transport.input, transport.vis, transport.occluder, transport.albedo, {
        sh: env ? Array.from(env.sh, (v) => v * k) : null,
        distant: env ? env.lights.map((l) => ({ direction: l.direction, irradiance: [l.irradiance[0] * k, l.irradiance[1] * k, l.irradiance[2] * k] as [number, number, number] })) : [],
        points: spec.lighting.pointLights.map((l) => ({ position: l.position, color: l.color, intensity: l.intensity })),
      }, transport.bias);
      const key = `bounce:${head.contentHash}`;
      this.server.putBlob(key, Buffer.from(indirect.buffer, indirect.byteOffset, indirect.byteLength));
      bounceUrl = `${this.server.blobUrl(key)}?r=${++this.bounceSerial}`;
    }
    let environment: PageRenderRequest['environment'] = null;
    if (env) {
      if (!this.server.hasBlob(env.key)) this.server.putBlob(env.key, env.blob);
      environment = {
        url: this.server.blobUrl(env.key),
        cubeSize: env.cubeSize,
        sh: Array.from(env.sh),
        intensity: env.intensity,
        lights: env.lights.map((l) => ({ direction: l.direction, irradiance: l.irradiance, spreadRad: l.spread })),
        visibility: spec.render.envVisibility,
      };
    }
    const modes = modesFor(spec.passes);
    let motion: PageRenderRequest['motion'];
    if (extras.motion) {
      const url = async (ref: string | null, role: string) => {
        if (ref === null) return null;
        const h = toPageHead(await this.resolveHead(ref), (f) => this.server.fileUrl(f), spec.render.subsurface);
        const pos = await this.guard(this.headPositions(h), `loading the ${role} frame's head`);
        const key = `motion:${h.key}`;
        if (!this.server.hasBlob(key)) this.server.putBlob(key, Buffer.from(pos.buffer, pos.byteOffset, pos.byteLength));
        return this.server.blobUrl(key);
      };
      motion = { prevUrl: await url(extras.motion.prevHead, 'previous'), nextUrl: await url(extras.motion.nextHead, 'next') };
      modes.push('motionPrev', 'motionNext');
    }
    const upload = this.server.expectUpload();
    const req: PageRenderRequest = {
      width: spec.width,
      height: spec.height,
      msaa: spec.render.msaa,
      head: pageHead,
      camera: { position: camera.position, target: camera.target, up: camera.up, fovYRad: camera.fovYRad, near: camera.near, far: camera.far },
      environment,
      pointLights: spec.lighting.pointLights.map((l) => ({ position: l.position, color: l.color, intensity: l.intensity, radius: l.radius })),
      lightSlots: Math.max(spec.render.lightSlots, spec.lighting.pointLights.length),
      envLightSlots: environment ? spec.render.envLights : 0,
      bounceUrl,
      ...(motion ? { motion } : {}),
      shadowMapSize: spec.render.shadowMapSize,
      envShadowMapSize: spec.render.envShadowMapSize,
      modes,
      uploadUrl: upload.url,
    };
    const tPage = performance.now();
    let result: PageRenderResult;
    let body: Buffer;
    try {
      result = await this.guard(
        this.page.evaluate((r) => window.vls.render(r), req).catch((err: Error) => {
          const msg = err.message ?? String(err);
          if (/context lost/i.test(msg)) throw new RendererError(`WebGL context lost while rendering: ${msg}`, 'context-lost');
          throw new RendererError(`render page error: ${msg}`, 'page');
        }),
        'rendering a sample',
      );
      body = await this.guard(upload.body, 'receiving pixels');
    } finally {
      upload.cancel();
    }
    const pageMs = performance.now() - tPage;
    const tDecode = performance.now();
    const decoded = decodeModes(body, result, spec.width, spec.height);
    const beauty = decoded.beauty!;
    const n = spec.width * spec.height;
    const mask = new Float32Array(n);
    for (let p = 0; p < n; p++) mask[p] = Math.min(1, Math.max(0, beauty[p * 4 + 3]));
    let background: Float32Array | null = null;
    if (spec.background === 'environment') background = await renderBackground(spec.lighting.environment, camera);
    else if (spec.background !== 'transparent') {
      background = new Float32Array(n * 3);
      for (let p = 0; p < n; p++) background.set(spec.background.color, p * 3);
    }
    const decodeMs = performance.now() - tDecode;
    const readMs = Object.values(result.timings.readMs).reduce((a, b) => a + b, 0);
    return {
      spec,
      camera,
      head,
      headBounds: { min: result.head.bboxMin, max: result.head.bboxMax },
      ...(result.head.landmarks ? { landmarks: result.head.landmarks } : {}),
      width: spec.width,
      height: spec.height,
      modes: decoded,
      mask,
      background,
      timings: {
        totalMs: performance.now() - t0,
        pageMs,
        // Moving pixels out: readPixels + packing in the page, then the HTTP upload.
        transferMs: readMs + result.timings.uploadMs,
        decodeMs,
        page: result.timings,
      },
      uploadBytes: result.uploadBytes,
    };
  }

  /**
   * OLAT capture in one page call (renderer/page/olat.ts): the lighting-independent
   * intrinsics once (albedo, normal, depth, mask), then one linear HDR beauty image per shot
   * (each shot = the lights on together, default one per light), without MSAA, as RGB half
   * floats of the covered pixels only (pixels whose centre hits the head; every other pixel of
   * a shot is 0, which the page checks: `leakedPixels`).
   */
  async captureOlat(req: OlatCaptureRequest): Promise<OlatCaptureResult> {
    const t0 = performance.now();
    const head = await this.resolveHead(req.head);
    const camera = resolveCamera({ ...req.camera, width: req.width, height: req.height });
    const shots = req.shots ?? req.lights.map((_, i) => [i]);
    if (shots.length === 0) throw new Error('captureOlat: no shots');
    // Chunks of ~16 MiB stream to Node while the page keeps rendering.
    const shotBytesMax = req.width * req.height * 3 * 2;
    const shotsPerChunk = Math.max(1, Math.min(shots.length, Math.floor((16 << 20) / shotBytesMax)));
    const nChunks = Math.ceil(shots.length / shotsPerChunk);
    const intrUpload = this.server.expectUpload();
    const chunkUploads = Array.from({ length: nChunks }, () => this.server.expectUpload());
    const pageReq = {
      width: req.width,
      height: req.height,
      msaa: req.msaa ?? 4,
      head: toPageHead(head, (f) => this.server.fileUrl(f), req.subsurface ?? false),
      camera: { position: camera.position, target: camera.target, up: camera.up, fovYRad: camera.fovYRad, near: camera.near, far: camera.far },
      lights: req.lights,
      shots,
      shadowMapSize: req.shadowMapSize ?? 1024,
      intrinsicsUrl: intrUpload.url,
      chunkUrls: chunkUploads.map((u) => u.url),
      shotsPerChunk,
    };
    // Generous: ~1 s per shot on top of the usual page timeout (first calls compile shaders).
    const timeoutMs = this.opts.timeoutMs + shots.length * 1000;
    let result: PageOlatResult;
    let intrBody: Buffer;
    let chunkBodies: Buffer[];
    try {
      result = await this.guard(
        this.page.evaluate((r) => window.vls.olat(r), pageReq).catch((err: Error) => {
          const msg = err.message ?? String(err);
          if (/context lost/i.test(msg)) throw new RendererError(`WebGL context lost during the OLAT capture: ${msg}`, 'context-lost');
          throw new RendererError(`render page error: ${msg}`, 'page');
        }),
        'capturing OLAT images',
        timeoutMs,
      );
      intrBody = await this.guard(intrUpload.body, 'receiving OLAT intrinsics');
      chunkBodies = await this.guard(Promise.all(chunkUploads.map((u) => u.body)), 'receiving OLAT images');
    } finally {
      intrUpload.cancel();
      for (const u of chunkUploads) u.cancel();
    }
    const pageMs = performance.now() - t0;
    const n = req.width * req.height;
    const part = (name: string) => {
      const l = result.intrinsics.find((x) => x.name === name);
      if (!l) throw new RendererError(`OLAT capture: page sent no ${name}`, 'page');
      return Buffer.from(intrBody.subarray(l.offset, l.offset + l.bytes)); // aligned copy
    };
    const halfPart = (name: string) => {
      const b = part(name);
      return halfsToFloat(new Uint16Array(b.buffer, b.byteOffset, b.byteLength / 2));
    };
    const depthBuf = part('depth');
    const idxBuf = part('indices');
    const P = result.pixelCount;
    const shotsHalf = new Uint16Array(shots.length * P * 3);
    let at = 0;
    for (const b of chunkBodies) {
      if (b.byteLength % 2) throw new RendererError('OLAT capture: odd chunk size', 'page');
      const u16 = new Uint16Array(b.byteLength / 2);
      new Uint8Array(u16.buffer).set(b);
      shotsHalf.set(u16, at);
      at += u16.length;
    }
    if (at !== shotsHalf.length) throw new RendererError(`OLAT capture: received ${at * 2} of ${shotsHalf.length * 2} image bytes`, 'page');
    const uploadBytes = intrBody.byteLength + chunkBodies.reduce((a, b) => a + b.byteLength, 0);
    return {
      camera,
      head,
      headBounds: { min: result.head.bboxMin, max: result.head.bboxMax },
      width: req.width,
      height: req.height,
      shots,
      pixelCount: P,
      indices: new Uint32Array(idxBuf.buffer, idxBuf.byteOffset, P),
      albedo: halfPart('albedo'),
      normal: halfPart('normal'),
      depth: new Float32Array(depthBuf.buffer, depthBuf.byteOffset, n),
      mask: halfPart('mask'),
      images: shotsHalf,
      leakedPixels: result.leakedPixels,
      uploadBytes,
      timings: { totalMs: performance.now() - t0, pageMs, page: result.timings },
    };
  }

  /** Runs a function in the page (tests use it to simulate failures). */
  evaluate<T>(fn: () => T | Promise<T>): Promise<T> {
    return this.guard(this.page.evaluate(fn) as Promise<T>, 'page evaluate');
  }

  /** Kills the browser process abruptly (tests: crash handling). */
  kill(): void {
    this.browser.process()?.kill('SIGKILL');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.browser.close().catch(() => this.browser.process()?.kill('SIGKILL'));
    await this.server.close();
  }
}

/** Page pixels (bottom-up rows, half or float32) -> Float32 interleaved, row 0 = top. */
function decodeModes(body: Buffer, result: PageRenderResult, width: number, height: number): Partial<Record<RenderModeName, Float32Array>> {
  const out: Partial<Record<RenderModeName, Float32Array>> = {};
  for (const l of result.layout) {
    const bytes = body.subarray(l.offset, l.offset + l.bytes);
    const aligned = Buffer.from(bytes); // copy: typed arrays need aligned offsets
    const src = l.float32
      ? new Float32Array(aligned.buffer, aligned.byteOffset, l.bytes / 4)
      : halfsToFloat(new Uint16Array(aligned.buffer, aligned.byteOffset, l.bytes / 2));
    const row = width * l.channels;
    const flipped = new Float32Array(src.length);
    for (let y = 0; y < height; y++) flipped.set(src.subarray((height - 1 - y) * row, (height - y) * row), y * row);
    out[l.mode] = flipped;
  }
  return out;
}

export type { ProbeResult };

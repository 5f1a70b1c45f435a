// Node-only. The dashboard's light-stage routes, on the OLAT modules (renderer/pipelines/olat/:
// stack-io.ts reads a stack, relight.ts relights it; renderer/core/rig.ts gives the weights of an
// environment map). A stack is any file under the output root (at most 4 folders deep, not in
// dot-folders or sample folders) that starts with the stack magic "VLSOLAT1"; its id is its path
// relative to the output root (URL-encoded as one segment). Ids are checked segment by segment
// ([A-Za-z0-9._-]+, no dot-files), resolved with resolveUnderRoot and must be a listed stack:
// anything else is a 404 JSON answer.
//
//   GET /api/olat                                   stacks: id, size, lights, head
//   GET /api/olat/:stack                            header: rig lights (direction, position, colour), camera, head, renderer
//   GET /api/olat/:stack/images/:i.png?exposure     OLAT image i (one light), tonemapped (exposure in stops or "auto")
//   GET /api/olat/:stack/relight?map&rotation&intensity&exposure
//                                                   the stack relit by a lat-long map rotated about +Y (PNG; X-Relight-Ms,
//                                                   X-Exposure headers). map = builtin:NAME or a file in an asset root.
//   GET /api/envmaps                                the built-in maps
//   GET /api/envmaps/preview.png?map&rotation&width&exposure
//                                                   a map as the relighting sees it (rotated), tonemapped
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type express from 'express';
import type { Response } from 'express';
import type { AppContext } from './context.js';
import { resolveUnderRoot } from './files.js';
import { notFound, wrap } from './routes/http.js';
import type { OlatStack, StackHeader } from '../renderer/pipelines/olat/stack-io.js';
import type { Relighter } from '../renderer/pipelines/olat/relight.js';
import { listBuiltinEnvMaps, loadEnvMap } from '../renderer/io/envmap-io.js';
import { allowedEnvMap } from './env-preview.js';
import { floatsToHalf, halfsToFloat } from '../renderer/core/half.js';
import type { EnvImage } from '../renderer/core/latlong.js';
import { layerImage } from '../renderer/core/env-layers.js';
import { autoExposure } from '../renderer/core/color.js';
import { displayRgba, rgbaToRgb } from '../renderer/core/display.js';

// The OLAT modules load on first use: the rest of the server never depends on them.
let olatModules: Promise<{ io: typeof import('../renderer/pipelines/olat/stack-io.js'); relight: typeof import('../renderer/pipelines/olat/relight.js'); rig: typeof import('../renderer/core/rig.js') }> | null = null;
function olat() {
  olatModules ??= Promise.all([import('../renderer/pipelines/olat/stack-io.js'), import('../renderer/pipelines/olat/relight.js'), import('../renderer/core/rig.js')]).then(([io, relight, rig]) => ({ io, relight, rig }));
  return olatModules;
}
const STACK_MAGIC = 'VLSOLAT1';

const SEGMENT_RE = /^[A-Za-z0-9._-]+$/;
const SKIP_EXT = new Set(['.exr', '.png', '.jpg', '.jpeg', '.webp', '.json', '.jsonl', '.md', '.f32', '.tar', '.hdr', '.glb', '.gltf', '.obj', '.txt', '.csv', '.py', '.log']);
const MAX_DEPTH = 4;

async function hasMagic(file: string): Promise<boolean> {
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(file, 'r');
    const b = Buffer.alloc(8);
    const { bytesRead } = await fh.read(b, 0, 8, 0);
    return bytesRead === 8 && b.toString('latin1') === STACK_MAGIC;
  } catch {
    return false;
  } finally {
    await fh?.close();
  }
}

interface StackEntry {
  id: string;
  file: string;
  mtimeMs: number;
  header: StackHeader;
}

/** Loaded stacks (and their relighters): a couple at a time, they can be large. */
interface Loaded {
  file: string;
  mtimeMs: number;
  stack: OlatStack;
  relighter: Promise<Relighter>;
  /** P x 3 float32 per image, made on demand */
  mask: Float32Array;
}

export function mountOlatRoutes(app: express.Express, ctx: AppContext): void {
  const root = ctx.outputRoot;
  let listCache: { at: number; entries: StackEntry[] } | null = null;
  let listing: Promise<StackEntry[]> | null = null;
  const loaded: Loaded[] = [];

  async function scan(): Promise<StackEntry[]> {
    const out: StackEntry[] = [];
    if (!fs.existsSync(root)) return out;
    const rootReal = fs.realpathSync(root);
    const walk = async (dir: string, rel: string[], depth: number) => {
      let entries: fs.Dirent[];
      try {
        entries = await fsp.readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      // A dataset's sample folders hold thousands of images and never a stack.
      if (rel.length > 0 && entries.some((e) => e.isDirectory() && e.name === 'samples') && entries.some((e) => e.name === 'batch.json')) return;
      for (const e of entries) {
        if (e.name.startsWith('.') || !SEGMENT_RE.test(e.name) || /\.tmp-/.test(e.name)) continue;
        const p = path.join(dir, e.name);
        if (e.isDirectory()) {
          if (depth < MAX_DEPTH) await walk(p, [...rel, e.name], depth + 1);
        } else if (e.isFile() && !SKIP_EXT.has(path.extname(e.name).toLowerCase()) && (await hasMagic(p))) {
          try {
            const st = await fsp.stat(p);
            out.push({ id: [...rel, e.name].join('/'), file: p, mtimeMs: st.mtimeMs, header: (await olat()).io.readStackHeader(p) });
          } catch {
            /* unreadable or truncated: not listed */
          }
        }
      }
    };
    await walk(rootReal, [], 1);
    return out.sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  async function list(): Promise<StackEntry[]> {
    if (listCache && Date.now() - listCache.at < 2000) return listCache.entries;
    listing ??= scan()
      .then((entries) => {
        listCache = { at: Date.now(), entries };
        return entries;
      })
      .finally(() => {
        listing = null;
      });
    return listing;
  }

  /** A listed stack for a URL id, or null. */
  async function find(id: unknown): Promise<StackEntry | null> {
    if (typeof id !== 'string' || id.length > 500) return null;
    const parts = id.split('/');
    if (!parts.every((s) => SEGMENT_RE.test(s) && !s.startsWith('.'))) return null;
    const file = fs.existsSync(root) ? resolveUnderRoot(root, id) : null;
    if (!file) return null;
    let e = (await list()).find((x) => x.id === id && x.file === file);
    if (!e) {
      // A stack written since the last scan.
      listCache = null;
      e = (await list()).find((x) => x.id === id && x.file === file);
    }
    return e ?? null;
  }

  async function load(e: StackEntry): Promise<Loaded> {
    const st = await fsp.stat(e.file);
    const hit = loaded.find((l) => l.file === e.file && l.mtimeMs === st.mtimeMs);
    if (hit) return hit;
    const { io, relight } = await olat();
    const stack = io.readStack(e.file);
    const l: Loaded = {
      file: e.file,
      mtimeMs: st.mtimeMs,
      stack,
      relighter: relight.Relighter.create({ imageCount: stack.header.imageCount, pixelCount: stack.header.pixelCount, images: stack.images }, { threads: 1 }),
      mask: stack.mask,
    };
    l.relighter.catch(() => undefined);
    loaded.unshift(l);
    while (loaded.length > 2) {
      const old = loaded.pop()!;
      void old.relighter.then((r) => r.close()).catch(() => undefined);
    }
    return l;
  }

  /** Covered-pixel RGB -> tonemapped PNG of the full frame. */
  async function coveredPng(l: Loaded, covered: Float32Array, exposureParam: unknown): Promise<{ png: Buffer; exposure: number }> {
    const { width, height } = l.stack.header;
    const full = (await olat()).io.expandCovered(l.stack, covered);
    const exposure = exposureParam === 'auto' || exposureParam === undefined ? autoExposure(full, l.mask) : clampExposure(exposureParam);
    const rgba = displayRgba({ width, height, channels: 3, data: floatsToHalf(full) }, 'radiance', exposure);
    const png = await sharp(rgbaToRgb(rgba), { raw: { width, height, channels: 3 } }).png({ compressionLevel: 3 }).toBuffer();
    return { png, exposure };
  }

  /** builtin:NAME or a file inside an asset root (no absolute paths): env-preview.ts allowedEnvMap. */
  function allowedMap(ref: unknown): string | null {
    return allowedEnvMap(ref, ctx.assetRoots.map((r) => r.dir), { absolute: false });
  }

  async function mapOr404(res: Response, ref: unknown): Promise<EnvImage | null> {
    const m = allowedMap(ref);
    if (!m) {
      notFound(res, 'unknown environment map (builtin:NAME or a file inside an asset root)');
      return null;
    }
    try {
      return await loadEnvMap(m);
    } catch {
      notFound(res, 'environment map cannot be read');
      return null;
    }
  }

  app.get(
    '/api/olat',
    wrap(async (_req, res) => {
      const entries = await list();
      res.json({
        stacks: entries.map((e) => ({
          id: e.id,
          width: e.header.width,
          height: e.header.height,
          images: e.header.imageCount,
          lights: e.header.rig.lights.length,
          rig: e.header.rig.name,
          head: e.header.head?.name ?? e.header.head?.ref ?? null,
          bytes: e.header.bytes?.file ?? null,
          createdAt: e.header.createdAt ?? null,
        })),
      });
    }),
  );

  app.get(
    '/api/olat/:stack',
    wrap(async (req, res) => {
      const e = await find(req.params.stack);
      if (!e) return notFound(res, 'no such stack');
      const h = e.header;
      const rig = h.rig;
      const { rigLightPosition } = (await olat()).rig;
      res.json({
        id: e.id,
        width: h.width,
        height: h.height,
        pixelCount: h.pixelCount,
        imageCount: h.imageCount,
        shots: h.shots,
        rig: {
          name: rig.name,
          description: rig.description,
          centre: rig.centre,
          lights: rig.lights.map((l, i) => ({ index: i, direction: l.direction, distance: l.distance, position: rigLightPosition(rig, i), color: l.color, intensity: l.intensity, size: l.size })),
        },
        camera: h.camera,
        head: h.head,
        render: h.render,
        renderer: h.renderer,
        units: h.units,
        bytes: h.bytes,
        createdAt: h.createdAt,
      });
    }),
  );

  app.get(
    '/api/olat/:stack/images/:file',
    wrap(async (req, res) => {
      const e = await find(req.params.stack);
      if (!e) return notFound(res, 'no such stack');
      const m = /^(\d{1,6})\.png$/.exec(String(req.params.file));
      const i = m ? Number(m[1]) : -1;
      if (!(i >= 0 && i < e.header.imageCount)) return notFound(res, 'no such image');
      const l = await load(e);
      const P = l.stack.header.pixelCount;
      const covered = halfsToFloat(l.stack.images.subarray(i * P * 3, (i + 1) * P * 3));
      const { png, exposure } = await coveredPng(l, covered, req.query.exposure);
      res.set({ 'Cache-Control': 'no-cache', 'X-Exposure': exposure.toFixed(3), 'X-Content-Type-Options': 'nosniff' });
      res.type('image/png').send(png);
    }),
  );

  app.get(
    '/api/olat/:stack/relight',
    wrap(async (req, res) => {
      const e = await find(req.params.stack);
      if (!e) return notFound(res, 'no such stack');
      const rotation = Number(req.query.rotation ?? 0);
      const intensity = Number(req.query.intensity ?? 1);
      if (!Number.isFinite(rotation) || !Number.isFinite(intensity) || intensity < 0 || intensity > 1e6) return void res.status(400).json({ error: 'rotation and intensity must be numbers (intensity >= 0)' });
      const env = await mapOr404(res, req.query.map ?? 'builtin:studio');
      if (!env) return;
      const t0 = performance.now();
      const l = await load(e);
      const h = l.stack.header;
      if (h.shots.some((s) => s.length !== 1) || h.imageCount !== h.rig.lights.length) return void res.status(409).json({ error: 'stack images are not one light each: relighting needs an OLAT stack' });
      // Image i holds light shots[i][0]: permute the per-light weights into image order.
      const wl = (await olat()).rig.envWeights(h.rig, env, ((rotation % 360) + 360) % 360, intensity);
      const w = new Float32Array(h.imageCount * 3);
      h.shots.forEach((s, i) => w.set(wl.subarray(s[0] * 3, s[0] * 3 + 3), i * 3));
      const [covered] = await (await l.relighter).relight([w]);
      const ms = performance.now() - t0;
      const { png, exposure } = await coveredPng(l, covered, req.query.exposure);
      res.set({ 'Cache-Control': 'no-cache', 'X-Relight-Ms': ms.toFixed(1), 'X-Exposure': exposure.toFixed(3), 'X-Content-Type-Options': 'nosniff' });
      res.type('image/png').send(png);
    }),
  );

  app.get(
    '/api/envmaps',
    wrap(async (_req, res) => {
      res.json({ maps: await listBuiltinEnvMaps() });
    }),
  );

  app.get(
    '/api/envmaps/preview.png',
    wrap(async (req, res) => {
      const width = Number(req.query.width ?? 256);
      if (![64, 128, 256, 512].includes(width)) return notFound(res, 'width must be 64, 128, 256 or 512');
      const rotation = Number(req.query.rotation ?? 0);
      if (!Number.isFinite(rotation)) return void res.status(400).json({ error: 'rotation must be a number' });
      const env = await mapOr404(res, req.query.map);
      if (!env) return;
      const small = layerImage(env, ((rotation % 360) + 360) % 360, width, width / 2);
      const exposure = clampExposure(req.query.exposure ?? 0);
      const rgba = displayRgba({ width, height: width / 2, channels: 3, data: floatsToHalf(small.data) }, 'radiance', exposure);
      const png = await sharp(rgbaToRgb(rgba), { raw: { width, height: width / 2, channels: 3 } }).png().toBuffer();
      res.set({ 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' });
      res.type('image/png').send(png);
    }),
  );

  app.all('/api/olat/*rest', (_req, res) => notFound(res));
}

function clampExposure(v: unknown): number {
  const n = Number(v);
  return Number.isFinite(n) ? Math.max(-20, Math.min(20, n)) : 0;
}

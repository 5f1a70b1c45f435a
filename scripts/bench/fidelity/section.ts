// Bench section "fidelity": our renderer against Blender Cycles on the same scenes.
//
// Per scene (a sample spec): ours renders beauty + mask in-process (Renderer, MSAA default); the
// same spec becomes a JSON scene description for scripts/blender/cycles_reference.py (head via
// the glTF importer moved into our frame, Principled BSDF from the head descriptor, camera from
// the resolved pose and fov, point lights with P = 4*pi*I, world = an environment EXR). The
// environment Blender gets is resampled here from OUR combined lighting through OUR lat-long
// functions (renderer/core/latlong.ts), so Blender's lookup of a direction returns what our
// renderer uses for it whatever our convention is: the scenes compare shading, not orientation.
// Orientation is measured separately (background check: Blender gets the original file).
//
// Metrics on mask = both coverages > 0.99: PSNR/SSIM display-referred (ACES fit + sRGB as in
// preview.png, both at OUR auto exposure), PSNR on linear values / the reference's 99th
// percentile, energy ratio (sum ours / sum Cycles), mask IoU (coverage >= 0.5), seconds per
// frame; Cycles' noise floor from two seeds at the same spp.
//
//   npm run bench -- --only fidelity [--spp 128 --size 512 --scenes lps-studio-front,proc-mix-turned]
import fs from 'node:fs';
import path from 'node:path';
import { Renderer } from '../../../renderer/engine/renderer.js';
import { PROJECT_ROOT } from '../../../renderer/io/paths.js';
import type { BenchContext, BenchOptions, Section, Table } from '../lib.js';
import { BACKGROUND_SCENE, BACKGROUND_SPP, LPS, NOISE_FLOOR_SCENES, SCENES } from './scenes.js';
import { findBlender, type BlenderResult } from './blender.js';
import { runBackgroundCheck, runScene, type BackgroundResult, type SceneResult } from './run.js';

type FidelityOptions = BenchOptions & { spp?: number; size?: number; scenes?: string };

const f2 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '–');
const f3 = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : '–');

export const fidelitySection: Section = {
  name: 'fidelity',
  title: 'Fidelity against Cycles',
  async run(ctx: BenchContext) {
    const o = ctx.opts as FidelityOptions;
    const spp = o.spp ?? 128;
    const size = o.size ?? 512;
    const startedAt = new Date();
    const blender = findBlender();
    if (!blender) {
      ctx.log('[fidelity] blender not found (PATH or VLS_BLENDER): section skipped');
      return {
        intro: ['**Skipped: Blender not found** (no `blender` on PATH and no `VLS_BLENDER`). Install it (Debian: `apt-get install -y --no-install-recommends blender`) and rerun.'],
        tables: [],
        notes: [],
        data: { skipped: 'blender not found' },
      };
    }
    let scenes = SCENES;
    if (o.scenes) {
      const names = o.scenes.split(',').map((s) => s.trim()).filter(Boolean);
      for (const n of names) if (!SCENES.some((s) => s.name === n) && n !== BACKGROUND_SCENE.name) throw new Error(`--scenes: unknown scene "${n}" (known: ${[...SCENES, BACKGROUND_SCENE].map((s) => s.name).join(', ')})`);
      scenes = SCENES.filter((s) => names.includes(s.name));
    }
    const withBackground = !o.scenes || o.scenes.split(',').map((s) => s.trim()).includes(BACKGROUND_SCENE.name);
    const needsShared = [...scenes, ...(withBackground ? [BACKGROUND_SCENE] : [])].some((s) => s.head === LPS || s.environment.some((l) => !l.map.startsWith('builtin:')));
    if (needsShared && !fs.existsSync(path.join(PROJECT_ROOT, '..', 'shared', 'assets'))) {
      return { intro: ['**Skipped: ../shared/assets not found** (the real scan and the Poly Haven maps).'], tables: [], notes: [], data: { skipped: 'no ../shared/assets' } };
    }
    const outDir = path.join(PROJECT_ROOT, 'output', 'bench');
    const pngDir = path.join(outDir, 'fidelity');
    const workDir = path.join(ctx.tmpDir, 'fidelity');
    const renderer = await Renderer.launch({ log: ctx.opts.quiet ? undefined : (m) => ctx.log(`[fidelity] ${m}`) });
    const results: SceneResult[] = [];
    let background: BackgroundResult | null = null;
    const t0 = performance.now();
    try {
      for (const s of scenes) {
        results.push(await runScene(renderer, s, { size, spp, blender, workDir, pngDir, noiseFloor: NOISE_FLOOR_SCENES.includes(s.name), log: ctx.log }));
      }
      if (withBackground) background = await runBackgroundCheck(renderer, BACKGROUND_SCENE, { size, spp, blender, workDir, pngDir, log: ctx.log });
    } finally {
      await renderer.close();
    }
    const elapsedS = (performance.now() - t0) / 1000;
    const blenderVersion = (() => {
      try {
        const first = fs.readdirSync(workDir).find((d) => fs.existsSync(path.join(workDir, d, 'blender-result.json')));
        return first ? (JSON.parse(fs.readFileSync(path.join(workDir, first, 'blender-result.json'), 'utf8')) as BlenderResult).blender : 'unknown';
      } catch {
        return 'unknown';
      }
    })();

    const worstFirst = [...results].sort((a, b) => a.psnrDisplay - b.psnrDisplay);
    const tables: Table[] = [
      {
        title: `Ours vs Cycles (${spp} spp), ${size}x${size}, mask = both coverages > 0.99; worst display PSNR first`,
        columns: ['scene', 'head', 'lighting', 'yaw', 'PSNR display, dB', 'SSIM display', 'PSNR linear, dB', 'energy ours / Cycles', 'mask IoU', 'ours, s / frame', 'Cycles, s / frame', 'Cycles / ours'],
        rows: worstFirst.map((r) => [r.name, r.head, r.maps, `${r.yawDeg}°`, f2(r.psnrDisplay), f3(r.ssimDisplay), f2(r.psnrLinear), f3(r.energyRatio), r.maskIoU.toFixed(4), f2(r.oursS), r.cyclesS.toFixed(1), `${(r.cyclesS / r.oursS).toFixed(0)}x`]),
      },
    ];
    const nf = results.filter((r) => r.noiseFloor);
    if (nf.length) {
      tables.push({
        title: `Cycles noise floor: seed 0 vs seed 1, both ${spp} spp (same metrics, same exposure)`,
        columns: ['scene', 'PSNR display, dB', 'SSIM display', 'PSNR linear, dB', 'ours vs Cycles, display dB'],
        rows: nf.map((r) => [r.name, f2(r.noiseFloor!.psnrDisplay), f3(r.noiseFloor!.ssimDisplay), f2(r.noiseFloor!.psnrLinear), f2(r.psnrDisplay)]),
      });
    }
    if (background) {
      tables.push({
        title: `Background alignment (${background.name}: background = environment in both, ${BACKGROUND_SPP} spp; pixels ≥ 3 px from the head)`,
        columns: ['Blender world', 'mean relative error', 'median relative error', 'pixels'],
        rows: [
          ['original file, Blender\'s own orientation (our convention vs Blender\'s; goal < 1 %)', `${(background.standard.meanRelErr * 100).toFixed(2)} %`, `${(background.standard.medianRelErr * 100).toFixed(2)} %`, String(background.standard.pixels)],
          ['our lighting resampled to Blender\'s convention (camera + resampling check)', `${(background.resampled.meanRelErr * 100).toFixed(2)} %`, `${(background.resampled.medianRelErr * 100).toFixed(2)} %`, String(background.resampled.pixels)],
        ],
      });
    }
    const maxBbox = Math.max(...results.map((r) => r.bboxErrM));
    const meanOurs = results.reduce((a, r) => a + r.oursS, 0) / Math.max(1, results.length);
    const meanCycles = results.reduce((a, r) => a + r.cyclesS, 0) / Math.max(1, results.length);
    const data = { startedAt: startedAt.toISOString(), elapsedS, spp, size, blender: blenderVersion, system: ctx.system, scenes: results, background };
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(path.join(outDir, 'fidelity.json'), JSON.stringify(data, null, 2));
    return {
      intro: [
        `Run ${startedAt.toISOString().slice(0, 10)} on ${ctx.system.cpuModel}, ${ctx.system.cores} cores, no GPU (shared machine: ±20 % on timings); ours on the renderer's chosen backend, Cycles = Blender ${blenderVersion} CPU, ${spp} spp, box pixel filter 1 px, no denoising, no adaptive sampling; ${size}x${size}; ${elapsedS.toFixed(0)} s for the section.`,
        'Same spec for both (scripts/bench/fidelity/, scripts/blender/cycles_reference.py): head through Blender\'s glTF importer moved into our frame, Principled BSDF from the head descriptor (albedo sRGB, normal map Non-Color at the descriptor\'s scale, roughness, Specular = F0 / 0.08, specular map about its mean, Subsurface 0), camera from the resolved pose and fov, point lights with P = 4π I. Blender\'s environment is our combined lighting resampled through our own lat-long functions, so these rows compare shading, not orientation (the background table measures orientation).',
        'Display = ACES fit + sRGB as in preview.png, both at our auto exposure; linear PSNR on values divided by Cycles\' 99th percentile on the mask; energy = sum of our RGB / sum of Cycles\' over the mask. Side-by-sides (ours | Cycles | |difference| x4): `output/bench/fidelity/<scene>.png`; raw numbers: `output/bench/fidelity.json`.',
      ],
      tables,
      notes: [
        `Mean seconds per frame: ours ${meanOurs.toFixed(2)} s (warm renderSample, beauty + mask, MSAA 4), Cycles ${meanCycles.toFixed(1)} s (render only; Blender start + head import come on top). Head placement check: Blender's centred bounding box is within ${(maxBbox * 1000).toFixed(2)} mm of ours in every scene.`,
      ],
      data,
    };
  },
};

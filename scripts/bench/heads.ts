// Bench section "heads": what a sample costs per head source at one size (issue 12: an ICT
// sample at most 1.3x a procedural-head sample at 512 px, mesh and textures cached). Each head is
// rendered with every pass and its passes encoded (what a dataset lighting costs), warm: its mesh,
// textures and light transport (visibility) are made by a warm-up render first. The cold costs of
// a new ICT identity (mesh + textures, visibility ray trace) are measured separately, since every
// sample of a population draws a new one.
import fs from 'node:fs';
import path from 'node:path';
import { Renderer } from '../../renderer/engine/renderer.js';
import { parseSampleSpec, type SampleSpec } from '../../renderer/core/spec.js';
import { PASS_NAMES, getPass } from '../../renderer/develop/passes/index.js';
import { SHARED_ASSETS } from '../../renderer/io/asset-roots.js';
import { median, ms, type BenchContext, type Section, type SectionResult, type Table } from './lib.js';

const ICT_PRESENT = fs.existsSync(path.join(SHARED_ASSETS, 'heads', 'ict_facekit', 'generic_neutral_mesh.obj.gz'));

function spec(head: string, size: number): SampleSpec {
  return parseSampleSpec(
    {
      id: 'bench-heads',
      head,
      width: size,
      height: size,
      camera: { yawDeg: 15, pitchDeg: 3, distance: 0.72, fovYDeg: 25, target: [0, 0.02, 0] },
      lighting: {
        environment: [{ map: 'builtin:studio', rotationDeg: 180, intensity: 1 }],
        pointLights: [{ position: [0.4, 0.3, 0.6], color: [1, 0.95, 0.9], intensity: 0.6, radius: 0.02 }],
      },
      passes: [...PASS_NAMES],
      seed: 1,
    },
    'bench heads spec',
  );
}

/** Render + encode every pass of one lighting; ms. */
async function sampleMs(r: Renderer, s: SampleSpec): Promise<{ totalMs: number; renderMs: number; encodeMs: number }> {
  const t0 = performance.now();
  const out = await r.renderSample(s);
  const t1 = performance.now();
  const ctx = { width: out.width, height: out.height, camera: out.camera, modes: out.modes, mask: out.mask, background: out.background, output: { exrPixelType: 'half' as const, exrCompression: 'zip' as const, previewExposure: 'auto' as const } };
  await Promise.all(s.passes.map((p) => getPass(p).encode(ctx)));
  const t2 = performance.now();
  return { totalMs: t2 - t0, renderMs: t1 - t0, encodeMs: t2 - t1 };
}

export const headsSection: Section = {
  name: 'heads',
  title: 'Cost of a sample per head source',
  async run(ctx: BenchContext): Promise<SectionResult> {
    const size = ctx.opts.sizes.includes(512) ? 512 : ctx.opts.sizes[ctx.opts.sizes.length - 1];
    const repeats = Math.max(3, ctx.opts.repeats);
    const heads: { name: string; ref: string }[] = [{ name: 'procedural', ref: 'procedural' }];
    if (ICT_PRESENT) heads.push({ name: 'ICT identity (seed 5)', ref: 'ict:{"seed":5,"textureSize":1024}' });
    const notes: string[] = [];
    if (!ICT_PRESENT) notes.push(`ICT face model not found under ${path.join(SHARED_ASSETS, 'heads', 'ict_facekit')}: only the procedural head was measured.`);
    const cacheRoot = path.join(ctx.tmpDir, 'heads-cache'); // cold caches for the cold rows
    const r = await Renderer.launch({ backend: ctx.opts.backend, cacheRoot });
    const warm: Record<string, { totalMs: number; renderMs: number; encodeMs: number }[]> = {};
    const cold: { name: string; firstMs: number; secondMs: number }[] = [];
    try {
      for (const h of heads) {
        // First render: builds the head (mesh, textures), its light transport, shaders; second: warm.
        const t0 = performance.now();
        await sampleMs(r, spec(h.ref, size));
        const firstMs = performance.now() - t0;
        const second = await sampleMs(r, spec(h.ref, size));
        cold.push({ name: h.name, firstMs, secondMs: second.totalMs });
        warm[h.name] = [];
      }
      // Interleaved, so drift and other load hit both alike.
      for (let k = 0; k < repeats; k++) for (const h of heads) warm[h.name].push(await sampleMs(r, spec(h.ref, size)));
      ctx.log(`heads: ${heads.map((h) => `${h.name} ${median(warm[h.name].map((x) => x.totalMs)).toFixed(0)} ms`).join(', ')}`);
    } finally {
      await r.close();
    }
    const base = median(warm.procedural.map((x) => x.totalMs));
    const table: Table = {
      title: `Warm sample at ${size}×${size}: render (all passes) + encode, median of ${repeats}`,
      columns: ['head', 'total', 'render', 'encode', 'vs procedural'],
      rows: heads.map((h) => {
        const w = warm[h.name];
        const t = median(w.map((x) => x.totalMs));
        return [h.name, ms(t), ms(median(w.map((x) => x.renderMs))), ms(median(w.map((x) => x.encodeMs))), `${(t / base).toFixed(2)}×`];
      }),
    };
    const coldTable: Table = {
      title: 'First sample of a new head (empty caches): mesh + textures + light transport + shaders',
      columns: ['head', 'first sample', 'second sample', 'one-off cost'],
      rows: cold.map((c) => [c.name, ms(c.firstMs), ms(c.secondMs), ms(c.firstMs - c.secondMs)]),
    };
    notes.push(
      'A population draws a new ICT identity per sample: its one-off cost (generation and the visibility ray trace, cached on disk by geometry) is paid once per identity and shared by the lightings of that sample (3 in triplet mode).',
    );
    return {
      intro: [`Backend ${r.info.backend} (${r.info.webglRenderer}). Camera at 0.72 m, builtin:studio + one point light, every pass (${PASS_NAMES.join(', ')}), passes encoded in memory (no files).`],
      tables: [table, coldTable],
      notes,
      data: { size, repeats, warm, cold },
    };
  },
};

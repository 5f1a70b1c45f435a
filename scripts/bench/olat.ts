// Bench section "olat": the virtual light stage. In one run:
//   - OLAT capture of one pose, 114 lights (olat114) at 512 px: time per pose and per light, bytes;
//   - direct renders per second at 512 px (renderSample, beauty only, environment light, MSAA 4);
//   - relit images per second from the cached stack for every relight candidate (plain JS on a
//     float32 copy, plain JS through a half->float table, WebAssembly SIMD on 1 and 2 threads, and
//     WebGL in the page), the chosen route against the direct renders as a ratio;
//   - relighting's stack bytes read per second against this machine's measured memory bandwidth.
import os from 'node:os';
import { Renderer } from '../../renderer/engine/renderer.js';
import { parseSampleSpec } from '../../renderer/core/spec.js';
import { loadEnvMap } from '../../renderer/assets/environment.js';
import { makeRig, envWeights, cellMap } from '../../renderer/core/rig.js';
import { captureStack } from '../../renderer/pipelines/olat/capture.js';
import { writeStack } from '../../renderer/pipelines/olat/stack-io.js';
import { Relighter, measureMemoryBandwidth, type RelightRoute } from '../../renderer/pipelines/olat/relight.js';
import { CpuAccount, browserProcesses, browserCpuTicks, median, ms, pct, sum, type BenchContext, type Section, type Table } from './lib.js';
import path from 'node:path';

const SIZE = 512;
const RIG = 'olat114';
const BATCH = 16;
const REPEATS = 5;
/** Relighting must beat direct rendering by this factor (issue goal). */
const GOAL_RATIO = 20;
const GOAL_CAPTURE_S = 17;

interface Candidate {
  route: RelightRoute;
  threads: number;
  batch: number;
}

const CANDIDATES: Candidate[] = [
  { route: 'js', threads: 1, batch: BATCH },
  { route: 'js-half', threads: 1, batch: BATCH },
  { route: 'js', threads: 2, batch: BATCH },
  { route: 'wasm', threads: 1, batch: 4 },
  { route: 'wasm', threads: 1, batch: BATCH },
  { route: 'wasm', threads: 1, batch: 64 },
  { route: 'wasm', threads: 2, batch: BATCH },
];
/** The route the library uses by default (Relighter defaults). */
const CHOSEN: Candidate = { route: 'wasm', threads: 1, batch: BATCH };

/**
 * WebGL in the page: the stack as an RGB16F 2D-array texture (one layer per light, covered pixels
 * packed into rows of 512), one full-screen draw with 4 float32 render targets per 4 target
 * lightings, weights in a float texture. Synthetic stack content (only the speed matters); the
 * time is the draw + readPixels of the 4 targets; moving the images to Node would come on top.
 */
function webglProbeSource(N: number, P: number, passes: number): string {
  const W = 512;
  const H = Math.ceil(P / W);
  return `return (async () => {
  const N = ${N}, W = ${W}, H = ${H}, T = 4;
  const c = document.createElement('canvas'); c.width = 4; c.height = 4;
  const gl = c.getContext('webgl2');
  if (!gl || !gl.getExtension('EXT_color_buffer_float')) return { error: 'no WebGL2 float targets' };
  const tex = gl.createTexture(); gl.activeTexture(gl.TEXTURE0); gl.bindTexture(gl.TEXTURE_2D_ARRAY, tex);
  gl.texStorage3D(gl.TEXTURE_2D_ARRAY, 1, gl.RGB16F, W, H, N);
  const layer = new Uint16Array(W * H * 3); for (let i = 0; i < layer.length; i++) layer[i] = 0x3000 + (i % 1000);
  for (let i = 0; i < N; i++) gl.texSubImage3D(gl.TEXTURE_2D_ARRAY, 0, 0, 0, i, W, H, 1, gl.RGB, gl.HALF_FLOAT, layer);
  gl.texParameteri(gl.TEXTURE_2D_ARRAY, gl.TEXTURE_MIN_FILTER, gl.NEAREST); gl.texParameteri(gl.TEXTURE_2D_ARRAY, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
  const wtex = gl.createTexture(); gl.activeTexture(gl.TEXTURE1); gl.bindTexture(gl.TEXTURE_2D, wtex);
  gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA32F, T, N, 0, gl.RGBA, gl.FLOAT, new Float32Array(T * N * 4).fill(0.01));
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST); gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
  const vs = '#version 300 es\\nvoid main(){ vec2 p = vec2((gl_VertexID<<1)&2, gl_VertexID&2); gl_Position = vec4(p*2.0-1.0,0,1); }';
  const fs = '#version 300 es\\nprecision highp float; precision highp sampler2DArray;\\nuniform sampler2DArray S; uniform sampler2D Wt;\\n' +
    'layout(location=0) out vec4 o0; layout(location=1) out vec4 o1; layout(location=2) out vec4 o2; layout(location=3) out vec4 o3;\\n' +
    'void main(){ ivec2 p = ivec2(gl_FragCoord.xy); vec3 a0=vec3(0),a1=vec3(0),a2=vec3(0),a3=vec3(0);\\n' +
    ' for (int i=0;i<' + N + ';i++){ vec3 s = texelFetch(S, ivec3(p,i), 0).rgb; a0 += s*texelFetch(Wt, ivec2(0,i),0).rgb; a1 += s*texelFetch(Wt, ivec2(1,i),0).rgb; a2 += s*texelFetch(Wt, ivec2(2,i),0).rgb; a3 += s*texelFetch(Wt, ivec2(3,i),0).rgb; }\\n' +
    ' o0=vec4(a0,1); o1=vec4(a1,1); o2=vec4(a2,1); o3=vec4(a3,1); }';
  const sh = (t, s) => { const x = gl.createShader(t); gl.shaderSource(x, s); gl.compileShader(x); if (!gl.getShaderParameter(x, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(x)); return x; };
  const prog = gl.createProgram(); gl.attachShader(prog, sh(gl.VERTEX_SHADER, vs)); gl.attachShader(prog, sh(gl.FRAGMENT_SHADER, fs)); gl.linkProgram(prog);
  if (!gl.getProgramParameter(prog, gl.LINK_STATUS)) throw new Error(gl.getProgramInfoLog(prog));
  gl.useProgram(prog);
  gl.uniform1i(gl.getUniformLocation(prog, 'S'), 0); gl.uniform1i(gl.getUniformLocation(prog, 'Wt'), 1);
  const fb = gl.createFramebuffer(); gl.bindFramebuffer(gl.FRAMEBUFFER, fb);
  const targets = [];
  for (let t = 0; t < T; t++) { const rb = gl.createTexture(); gl.activeTexture(gl.TEXTURE2); gl.bindTexture(gl.TEXTURE_2D, rb); gl.texStorage2D(gl.TEXTURE_2D, 1, gl.RGBA32F, W, H); gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0 + t, gl.TEXTURE_2D, rb, 0); targets.push(rb); }
  gl.drawBuffers([gl.COLOR_ATTACHMENT0, gl.COLOR_ATTACHMENT1, gl.COLOR_ATTACHMENT2, gl.COLOR_ATTACHMENT3]);
  gl.viewport(0, 0, W, H);
  const px = new Float32Array(W * H * 4);
  const times = [];
  for (let rep = 0; rep < ${passes} + 1; rep++) {
    const t0 = performance.now();
    gl.drawArrays(gl.TRIANGLES, 0, 3);
    for (let t = 0; t < T; t++) { gl.readBuffer(gl.COLOR_ATTACHMENT0 + t); gl.readPixels(0, 0, W, H, gl.RGBA, gl.FLOAT, px); }
    if (rep > 0) times.push(performance.now() - t0);
  }
  const err = gl.getError();
  gl.deleteTexture(tex); gl.deleteTexture(wtex); for (const t of targets) gl.deleteTexture(t); gl.deleteFramebuffer(fb); gl.deleteProgram(prog);
  const ext = gl.getExtension('WEBGL_lose_context'); if (ext) ext.loseContext();
  return { times, err, targets: T };
})();`;
}

interface CandidateResult extends Candidate {
  passMs: number;
  imagesPerS: number;
  stackBytes: number;
  stackGBps: number;
  prepareMs: number;
  minPassMs: number;
}

export const olatSection: Section = {
  name: 'olat',
  title: 'OLAT light stage and relighting',
  async run(ctx: BenchContext) {
    const startedAt = new Date();
    const loadAtStart = os.loadavg();
    const cpu = new CpuAccount();
    const t0 = performance.now();

    // ---- Memory bandwidth
    ctx.log('[olat] memory bandwidth');
    const bw1 = await measureMemoryBandwidth(256 * 2 ** 20, 1);
    const bw2 = await measureMemoryBandwidth(256 * 2 ** 20, 2);
    const readBw = Math.max(bw1.readGBps, bw2.readGBps);

    const renderer = await Renderer.launch({ backend: ctx.opts.backend, log: ctx.opts.quiet ? undefined : (m) => ctx.log(`[olat] ${m}`) });
    try {
      const info = renderer.info;
      const rig = makeRig(RIG);
      const camera = { yawDeg: 0, pitchDeg: 0, rollDeg: 0, distance: 0.75, fovYDeg: 25 };

      // ---- Capture (a 2-light warm-up compiles the shaders first)
      ctx.log(`[olat] capture warm-up`);
      await captureStack(renderer, { width: SIZE, height: SIZE, camera, rig, shots: [[0], [1]] });
      ctx.log(`[olat] capturing ${rig.lights.length} lights at ${SIZE} px`);
      browserProcesses();
      const cpuCapture = new CpuAccount();
      const ticks0 = sum([...browserCpuTicks.values()]);
      const tc = performance.now();
      const stack = await captureStack(renderer, { width: SIZE, height: SIZE, camera, rig });
      const captureMs = performance.now() - tc;
      browserProcesses();
      const browserCpuMs = (sum([...browserCpuTicks.values()]) - ticks0) * 10;
      const captureCpu = cpuCapture.stop();
      const header = writeStack(path.join(ctx.tmpDir, 'bench.olat'), stack);
      const page = (stack.header.capture.timings as { page: { intrinsicsMs: number; shadowMs: number; drawMs: number; readMs: number; packMs: number; uploadWaitMs: number } }).page;
      ctx.log(`[olat] capture ${(captureMs / 1000).toFixed(1)} s, ${header.pixelCount} covered pixels, ${(header.bytes.file / 2 ** 20).toFixed(1)} MiB`);

      // ---- Weights: rotations of one map (what a batch of targets costs to set up)
      const env = 'builtin:studio';
      const map = await loadEnvMap(env);
      cellMap(rig, map.width, map.height); // cached per rig and map size
      const tw = performance.now();
      const weights = Array.from({ length: 64 }, (_, k) => envWeights(rig, map, (k * 360) / 64));
      const weightsMs = (performance.now() - tw) / weights.length;

      // ---- Direct renders and relight passes, interleaved (each repeat: one direct render, then
      // one pass of every candidate) so that all of them see the same machine load.
      const spec = parseSampleSpec({ width: SIZE, height: SIZE, camera, lighting: { environment: [{ map: env }], pointLights: [] }, passes: ['beauty'] }, 'bench olat direct');
      const relighters: Relighter[] = [];
      for (const c of CANDIDATES) relighters.push(await Relighter.create({ imageCount: header.imageCount, pixelCount: header.pixelCount, images: stack.images }, c));
      const directMs: number[] = [];
      const passTimes: number[][] = CANDIDATES.map(() => []);
      try {
        for (let rep = -1; rep < REPEATS; rep++) {
          const s = await renderer.renderSample(spec);
          if (rep >= 0) directMs.push(s.timings.totalMs);
          for (const [k, r] of relighters.entries()) {
            const ts = performance.now();
            await r.relight(weights.slice(0, CANDIDATES[k].batch));
            if (rep >= 0) passTimes[k].push(performance.now() - ts);
          }
          ctx.log(`[olat] repeat ${rep + 1}/${REPEATS}: direct ${ms(s.timings.totalMs)} ms; passes ${passTimes.map((t) => ms(t[t.length - 1] ?? NaN)).join(', ')} ms`);
        }
      } finally {
        for (const r of relighters) await r.close();
      }
      const directMed = median(directMs);
      const results: CandidateResult[] = CANDIDATES.map((c, k) => {
        const passMs = median(passTimes[k]);
        const r = relighters[k];
        return { ...c, passMs, minPassMs: Math.min(...passTimes[k]), imagesPerS: (c.batch / passMs) * 1000, stackBytes: r.stackBytes, stackGBps: r.stackBytes / passMs / 1e6, prepareMs: r.prepareMs };
      });

      // ---- WebGL in the page
      let webgl: { passMs: number; imagesPerS: number } | { error: string };
      try {
        const res = (await renderer.evaluate(new Function(webglProbeSource(header.imageCount, header.pixelCount, REPEATS)) as () => Promise<{ times?: number[]; targets?: number; error?: string; err?: number }>));
        if (res.error || !res.times || res.err) webgl = { error: res.error ?? `GL error ${res.err}` };
        else {
          const passMs = median(res.times);
          webgl = { passMs, imagesPerS: ((res.targets ?? 4) / passMs) * 1000 };
        }
      } catch (err) {
        webgl = { error: (err as Error).message };
      }

      const chosen = results.find((r) => r.route === CHOSEN.route && r.threads === CHOSEN.threads && r.batch === CHOSEN.batch)!;
      const jsBase = results.find((r) => r.route === 'js' && r.threads === 1)!;
      const two = results.find((r) => r.route === 'wasm' && r.threads === 2)!;
      const directPerS = 1000 / directMed;
      const ratio = chosen.imagesPerS / directPerS;
      const elapsedS = (performance.now() - t0) / 1000;
      browserProcesses();
      const cpuUse = cpu.stop();

      const intro = [
        `Backend **${info.backend}** — WebGL renderer \`${info.webglRenderer}\`; CPU **${ctx.system.cpuModel}**, ${ctx.system.cores} cores, ${ctx.system.memTotalGiB.toFixed(0)} GiB RAM; ${info.chromium}, Babylon ${info.babylon}, Node ${ctx.system.node}.`,
        '',
        `Scene: built-in procedural head, camera in front at 0.75 m (fov 25°), ${SIZE}×${SIZE}; rig \`${RIG}\` (${rig.lights.length} lights, Fibonacci layout, ${rig.lights[0].distance} m, 1024² shadow map each). Direct renders: \`renderSample\` with \`${env}\`, beauty only, MSAA 4 (what a dataset render of that lighting costs), median of ${REPEATS} after a warm-up. Relighting: ${BATCH} target lightings (rotations of \`${env}\`) per pass over the stack unless stated, median of ${REPEATS} passes after a warm-up, interleaved with the direct renders; output float32 RGB of the covered pixels in Node memory (no files written on either side). Run ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC, section took ${elapsedS.toFixed(0)} s.`,
        '',
        `Machine load: 1-min load average ${loadAtStart[0].toFixed(2)} at the start; ${cpuUse ? `during the section this bench (Node + Chromium) used ${pct(cpuUse.ownShare)} and other processes ${pct(cpuUse.otherShare)} of all cores' time` : 'CPU accounting unavailable'}${captureCpu ? ` (during the capture: other processes ${pct(captureCpu.otherShare)})` : ''}. On 2 shared cores timings move by ±20 % or more with other work.`,
      ];

      const tables: Table[] = [
        {
          title: 'Relighting against direct rendering (same run, same size)',
          columns: ['', 'ms per image', 'images / s'],
          rows: [
            [`Direct render (renderSample, beauty, MSAA 4, ${SIZE}²)`, ms(directMed), directPerS.toFixed(2)],
            [`Relit from the cached stack (${CHOSEN.route}, ${CHOSEN.threads} thread, ${CHOSEN.batch} per pass)`, ms(chosen.passMs / CHOSEN.batch), chosen.imagesPerS.toFixed(0)],
            [`**Ratio relit / direct** (goal ≥ ${GOAL_RATIO}×)`, '', `**${ratio.toFixed(0)}×** ${ratio >= GOAL_RATIO ? '✓' : '✗'}`],
            ['Weights per lighting (Voronoi cell integral of a 512×256 map, cells cached)', ms(weightsMs), ''],
          ],
        },
        {
          title: `OLAT capture, one pose (${rig.lights.length} lights, ${SIZE}²)`,
          columns: ['', 'value'],
          rows: [
            [`**Capture time per pose** (goal < ${GOAL_CAPTURE_S} s)`, `**${(captureMs / 1000).toFixed(1)} s** ${captureMs / 1000 < GOAL_CAPTURE_S ? '✓' : '✗'}`],
            ['per light', `${ms(captureMs / rig.lights.length)} ms`],
            ['browser CPU time per light (all Chromium processes; insensitive to other load)', `${ms(browserCpuMs / rig.lights.length)} ms`],
            ['page: intrinsics once (MSAA mask, albedo, normal, depth)', `${ms(page.intrinsicsMs)} ms`],
            ['page: per light, command issue (shadow + beauty)', `${ms((page.shadowMs + page.drawMs) / rig.lights.length)} ms`],
            ['page: per light, readPixels (waits for the drawing)', `${ms(page.readMs / rig.lights.length)} ms`],
            ['page: per light, packing (covered pixels → half)', `${ms(page.packMs / rig.lights.length)} ms`],
            ['covered pixels (centre on the head)', `${header.pixelCount} (${pct(header.pixelCount / (SIZE * SIZE))})`],
            ['**bytes per pose** (stack file)', `**${(header.bytes.file / 2 ** 20).toFixed(1)} MiB**`],
            ['  OLAT images (half RGB, covered pixels)', `${(header.bytes.olat / 2 ** 20).toFixed(1)} MiB (${(header.bytes.perImage / 2 ** 10).toFixed(0)} KiB per light)`],
            ['  intrinsics (albedo, normal, mask half; depth float32; indices)', `${(header.bytes.intrinsics / 2 ** 20).toFixed(1)} MiB`],
            ['  full-frame equivalent (N × W × H × RGB half)', `${((rig.lights.length * SIZE * SIZE * 6) / 2 ** 20).toFixed(1)} MiB`],
          ],
        },
        {
          title: 'Relight candidates (same stack; stack bytes read per pass / pass time; bandwidth = WebAssembly SIMD read probe below)',
          columns: ['Route', 'Threads', 'Targets / pass', 'ms / pass', 'images / s', 'vs JS', 'stack read GB/s', 'of read bandwidth', 'one-time prepare ms'],
          rows: [
            ...results.map((r) => [
              `${r.route === CHOSEN.route && r.threads === CHOSEN.threads && r.batch === CHOSEN.batch ? '**' : ''}${r.route === 'wasm' ? 'WebAssembly SIMD (half stack)' : r.route === 'js' ? 'JS, float32 stack' : 'JS, half stack + 64K table'}${r.route === CHOSEN.route && r.threads === CHOSEN.threads && r.batch === CHOSEN.batch ? '** (default)' : ''}`,
              String(r.threads),
              String(r.batch),
              ms(r.passMs),
              r.imagesPerS.toFixed(0),
              `${(r.imagesPerS / jsBase.imagesPerS).toFixed(1)}×`,
              r.stackGBps.toFixed(2),
              pct(r.stackGBps / readBw),
              ms(r.prepareMs),
            ]),
            'error' in webgl
              ? ['WebGL2 in the page (llvmpipe)', '–', '4', '–', `failed: ${webgl.error}`, '', '', '', '']
              : ['WebGL2 in the page (llvmpipe), draw + readPixels only', 'llvmpipe', '4', ms(webgl.passMs), webgl.imagesPerS.toFixed(0), `${(webgl.imagesPerS / jsBase.imagesPerS).toFixed(1)}×`, '', '', ''],
          ],
        },
        {
          title: 'Memory bandwidth of this machine (256 MiB buffers, best of 3)',
          columns: ['Probe', '1 thread GB/s', '2 threads GB/s'],
          rows: [
            ['memcpy (Buffer.copy; read + write bytes)', bw1.copyGBps.toFixed(1), '–'],
            ['WebAssembly SIMD read + sum', bw1.readGBps.toFixed(1), bw2.readGBps.toFixed(1)],
          ],
        },
      ];
      const notes = [
        `Why WebAssembly SIMD: the weighted sum is compute-bound (${rig.lights.length} lights × 3 channels multiply-adds per pixel and target; the stack is read once per pass and reused for all ${BATCH} targets from L1), so the route with the most arithmetic per cycle wins. WebAssembly SIMD does 4 multiply-adds per instruction on the half stack, converting half→float with integer SIMD once per group of 4 pixels; plain JS does one per instruction (and reading halfs through a table costs about the same as a float32 copy twice the size). WebGL in the page runs on the same CPU cores through llvmpipe and pays texture fetches for stack and weights; ${'error' in webgl ? 'it failed in this run' : `its draw + readback alone gave ${webgl.imagesPerS.toFixed(0)} images/s against ${chosen.imagesPerS.toFixed(0)} for WebAssembly SIMD on one thread`}, and its results would still have to travel to Node (readback + upload, ~50 ms per 9 MB, see the renderer section). Threads: in this run, 2 worker threads gave ${(two.imagesPerS / chosen.imagesPerS).toFixed(2)}× the images/s of 1 (same batch); the default stays 1 thread because the 2 cores are shared with Chromium's llvmpipe and EXR writing in every real use (capture, olat-relight, the server), where a second thread only competes; pass \`threads: 2\` on an otherwise idle or larger machine.`,
        `Throughput in bytes: relighting reads the stack once per pass; at ${BATCH} targets per pass that is ${chosen.stackGBps.toFixed(2)} GB/s (${pct(chosen.stackGBps / readBw)} of the measured read bandwidth), i.e. it is limited by arithmetic, not memory. Fewer targets per pass move it toward bandwidth (4 targets: ${results.find((r) => r.route === 'wasm' && r.batch === 4)?.stackGBps.toFixed(2)} GB/s).`,
        `Capture: one page call renders the intrinsics once, then per light a 1024² shadow map and a ${SIZE}² beauty draw without MSAA, reads it back and packs the covered pixels to half floats; chunks of ~16 MiB stream to Node while the page keeps rendering. Per-light time is the llvmpipe drawing (PBR + PCF shadows), which readPixels waits for.`,
      ];
      return {
        intro,
        tables,
        notes,
        data: {
          startedAt: startedAt.toISOString(),
          elapsedS,
          loadAtStart,
          cpuUse,
          captureCpu,
          renderer: info,
          capture: { lights: rig.lights.length, size: SIZE, ms: captureMs, browserCpuMs, page, header: { pixelCount: header.pixelCount, bytes: header.bytes } },
          direct: { ms: directMs, medianMs: directMed, perS: directPerS },
          weightsMs,
          relight: results,
          chosen: CHOSEN,
          ratio,
          webgl,
          bandwidth: { oneThread: bw1, twoThreads: bw2 },
        },
      };
    } finally {
      await renderer.close();
    }
  },
};

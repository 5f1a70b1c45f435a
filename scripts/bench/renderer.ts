// Bench section "renderer": start-up, per-sample and per-render-mode times (drawing separated
// from readback by a readPixels wait probe), memory, and a second backend compared at 512 px.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Renderer, type RenderedSample, type RendererInfo } from '../../renderer/engine/renderer.js';
import { parseSampleSpec, type SampleSpec } from '../../renderer/core/spec.js';
import { writeSample } from '../../renderer/dataset/write-sample.js';
import { modesFor, PASS_NAMES } from '../../renderer/develop/passes/index.js';
import type { Backend } from '../../renderer/engine/browser.js';
import type { RenderModeName } from '../../renderer/core/render-modes.js';
import { type Table, type BenchContext, type Section, median, sum, ms, mib, pct, CpuAccount, type MemoryPeak, MemorySampler } from './lib.js';

const ALL_MODES: RenderModeName[] = modesFor(PASS_NAMES);

function benchSpec(size: number): SampleSpec {
  return parseSampleSpec(
    {
      id: `bench-${size}`,
      head: 'procedural',
      width: size,
      height: size,
      camera: { yawDeg: 20, pitchDeg: 5, distance: 0.75, fovYDeg: 25, target: [0, 0.02, 0] },
      lighting: {
        environment: [{ map: 'builtin:studio', rotationDeg: 0, intensity: 1 }],
        pointLights: [{ position: [0.4, 0.3, 0.6], color: [1, 0.95, 0.9], intensity: 0.6, radius: 0.02 }],
      },
      passes: [...PASS_NAMES],
      seed: 1,
    },
    'bench spec',
  );
}

/**
 * On CPU backends (and GPUs) WebGL calls only queue commands for Chromium's GPU process:
 * `target.render()` returns after issuing them and the rasterisation happens while the page
 * waits in the next synchronous call, the mode's readPixels. So timings.page.readMs is mostly
 * drawing, and renderMs is only command issue. gl.finish() does not block in Chromium, so this
 * probe wraps readPixels in the page to read 1x1 pixel first: that call waits for the queued
 * drawing (and costs nothing else), and the full readPixels after it is the real readback.
 * Installed through Renderer.evaluate (renderer files unchanged); wait times per call are
 * collected by takeWaits().
 */
async function installWaitProbe(r: Renderer): Promise<void> {
  await r.evaluate(() => {
    const w = window as unknown as { __benchWaits?: number[] };
    if (w.__benchWaits) return;
    w.__benchWaits = [];
    const proto = WebGL2RenderingContext.prototype as unknown as { readPixels: (...a: unknown[]) => void };
    const orig = proto.readPixels;
    proto.readPixels = function (this: WebGL2RenderingContext, ...a: unknown[]) {
      const [x, y, , , format, type] = a as number[];
      const t0 = performance.now();
      if (format === this.RGBA && type === this.FLOAT) orig.call(this, x, y, 1, 1, format, type, new Float32Array(4));
      else if (format === this.RGBA && type === this.UNSIGNED_BYTE) orig.call(this, x, y, 1, 1, format, type, new Uint8Array(4));
      w.__benchWaits!.push(performance.now() - t0);
      return orig.apply(this, a);
    };
  });
}

async function takeWaits(r: Renderer): Promise<number[]> {
  return r.evaluate(() => {
    const w = window as unknown as { __benchWaits?: number[] };
    const v = w.__benchWaits ?? [];
    if (w.__benchWaits) w.__benchWaits = [];
    return v;
  });
}

/** One measured sample, flattened. */
interface SampleTimes {
  setupMs: number;
  shadowMs: number;
  /** Per mode, as reported by the page: command issue only (timings.page.renderMs). */
  issueMs: Record<string, number>;
  /** Per mode, as reported by the page: GPU wait + readback + packing (timings.page.readMs). */
  rawReadMs: Record<string, number>;
  /** Per mode: the drawing the mode's readPixels waited for (0 without the wait probe). */
  waitMs: Record<string, number>;
  /** Per mode: issue + GPU wait = the mode's drawing. */
  renderMs: Record<string, number>;
  /** Per mode: readMs - wait = readPixels copy + channel packing + float->half. */
  readMs: Record<string, number>;
  /** setup + shadow + all modes' drawing. */
  renderTotalMs: number;
  /** Sum of readMs (without the GPU wait). */
  readTotalMs: number;
  uploadMs: number;
  transferMs: number;
  decodeMs: number;
  writeMs: number;
  /** renderSample() wall time + writeSample's pass writing. */
  sampleMs: number;
  pageMs: number;
  uploadBytes: number;
  /** The ratio computed from the page's timings as they are (drawing counted as transfer). */
  rawRatio: number;
}

function sampleTimes(s: RenderedSample, writeMs: number, waits: number[]): SampleTimes {
  const p = s.timings.page;
  const modes = Object.keys(p.readMs);
  // The modes' reads are the last readPixels calls of the sample, in order.
  const w = waits.length >= modes.length ? waits.slice(waits.length - modes.length) : modes.map(() => 0);
  const waitMs = Object.fromEntries(modes.map((m, i) => [m, Math.min(w[i], p.readMs[m])]));
  const renderMs = Object.fromEntries(modes.map((m) => [m, (p.renderMs[m] ?? 0) + waitMs[m]]));
  const readMs = Object.fromEntries(modes.map((m) => [m, p.readMs[m] - waitMs[m]]));
  const renderTotalMs = p.setupMs + p.shadowMs + sum(Object.values(renderMs));
  const readTotalMs = sum(Object.values(readMs));
  const rawRender = p.setupMs + p.shadowMs + sum(Object.values(p.renderMs));
  return {
    setupMs: p.setupMs,
    shadowMs: p.shadowMs,
    issueMs: { ...p.renderMs },
    rawReadMs: { ...p.readMs },
    waitMs,
    renderMs,
    readMs,
    renderTotalMs,
    readTotalMs,
    uploadMs: p.uploadMs,
    transferMs: readTotalMs + p.uploadMs,
    rawRatio: (s.timings.transferMs + s.timings.decodeMs + writeMs) / rawRender,
    decodeMs: s.timings.decodeMs,
    writeMs,
    sampleMs: s.timings.totalMs + writeMs,
    pageMs: s.timings.pageMs,
    uploadBytes: s.uploadBytes,
  };
}

/** Median of every field over repeats (per field, so the row is not one sample's numbers). */
function medianTimes(xs: SampleTimes[]): SampleTimes {
  const f = (k: keyof SampleTimes) => median(xs.map((x) => x[k] as number));
  const perMode = (k: 'renderMs' | 'readMs' | 'issueMs' | 'rawReadMs' | 'waitMs') => Object.fromEntries(ALL_MODES.map((m) => [m, median(xs.map((x) => x[k][m] ?? NaN))]));
  return {
    setupMs: f('setupMs'),
    shadowMs: f('shadowMs'),
    issueMs: perMode('issueMs'),
    rawReadMs: perMode('rawReadMs'),
    waitMs: perMode('waitMs'),
    renderMs: perMode('renderMs'),
    readMs: perMode('readMs'),
    renderTotalMs: f('renderTotalMs'),
    readTotalMs: f('readTotalMs'),
    uploadMs: f('uploadMs'),
    transferMs: f('transferMs'),
    decodeMs: f('decodeMs'),
    writeMs: f('writeMs'),
    sampleMs: f('sampleMs'),
    pageMs: f('pageMs'),
    uploadBytes: f('uploadBytes'),
    rawRatio: f('rawRatio'),
  };
}

/** (transfer + decode + write) / render, the cost of getting pixels into files vs drawing them. */
function overheadRatio(t: SampleTimes): number {
  return (t.transferMs + t.decodeMs + t.writeMs) / t.renderTotalMs;
}

interface SizeResult {
  size: number;
  warmup: SampleTimes;
  samples: SampleTimes[];
  median: SampleTimes;
  memory: MemoryPeak;
}

interface BackendRun {
  info: RendererInfo;
  firstFrame: { size: number; wallMs: number; times: SampleTimes };
  sizes: SizeResult[];
  memory: MemoryPeak;
}

/** Renders and writes one sample; `wallMs` is the renderSample call's wall time. */
async function renderAndWrite(r: Renderer, spec: SampleSpec, dir: string, splitWait: boolean): Promise<SampleTimes & { wallMs: number }> {
  if (splitWait) await takeWaits(r);
  const t0 = performance.now();
  const s = await r.renderSample(spec);
  const wallMs = performance.now() - t0;
  const waits = splitWait ? await takeWaits(r) : [];
  const meta = await writeSample(dir, s, r.info, { overwrite: true });
  const t = sampleTimes(s, meta.timings.writeMs, waits);
  fs.rmSync(dir, { recursive: true, force: true });
  return { ...t, wallMs };
}

/**
 * Launches one renderer, renders a first frame at 512 (cold: shader compile, env cube), then per
 * size one warm-up and `repeats` measured samples.
 */
async function runBackend(ctx: BenchContext, backend: Backend | 'auto', sizes: number[], repeats: number, tag: string): Promise<BackendRun> {
  const sampler = new MemorySampler().start();
  const whole = new MemorySampler().start();
  const renderer = await Renderer.launch({ backend, log: ctx.opts.quiet ? undefined : (m) => ctx.log(`[${tag}] ${m}`) });
  try {
    const info = renderer.info;
    ctx.log(`[${tag}] ${info.backend} (${info.webglRenderer}), launch ${ms(info.launchMs)} ms, page ready ${ms(info.pageReadyMs)} ms`);
    const dir = (name: string) => path.join(ctx.tmpDir, `${tag}-${name}`);

    if (ctx.opts.splitWait) await installWaitProbe(renderer);

    const firstSize = 512;
    const { wallMs: firstWall, ...firstTimes } = await renderAndWrite(renderer, benchSpec(firstSize), dir('first'), ctx.opts.splitWait);
    const firstFrame = { size: firstSize, wallMs: firstWall, times: firstTimes };
    ctx.log(`[${tag}] first frame ${firstSize}px: ${ms(firstWall)} ms (setup ${ms(firstTimes.setupMs)} ms)`);

    const results: SizeResult[] = [];
    for (const size of sizes) {
      const spec = benchSpec(size);
      sampler.reset();
      const warmup = await renderAndWrite(renderer, spec, dir(`${size}-warmup`), ctx.opts.splitWait);
      const samples: SampleTimes[] = [];
      for (let i = 0; i < repeats; i++) {
        samples.push(await renderAndWrite(renderer, spec, dir(`${size}-${i}`), ctx.opts.splitWait));
        const t = samples[samples.length - 1];
        ctx.log(`[${tag}] ${size}px #${i + 1}/${repeats}: sample ${ms(t.sampleMs)} ms, render ${ms(t.renderTotalMs)}, transfer ${ms(t.transferMs)}, decode ${ms(t.decodeMs)}, write ${ms(t.writeMs)}`);
      }
      sampler.sample();
      results.push({ size, warmup, samples, median: medianTimes(samples), memory: { ...sampler.peak } });
    }
    return { info, firstFrame, sizes: results, memory: whole.stop() };
  } finally {
    sampler.stop();
    whole.stop();
    await renderer.close();
  }
}

/** Which part of transfer + encode is largest, for the anomaly note. */
function dominantOverhead(t: SampleTimes): string {
  const parts: [string, number][] = [
    ['readPixels copy + packing + half conversion in the page', t.readTotalMs],
    ['HTTP upload to Node (uploadMs)', t.uploadMs],
    ['decode in Node (half -> float, row flip, mask)', t.decodeMs],
    ['pass writing (EXR half conversion + zip, PNG, files)', t.writeMs],
  ];
  parts.sort((a, b) => b[1] - a[1]);
  const total = parts.reduce((a, [, v]) => a + v, 0);
  return parts.map(([n, v]) => `${n} ${ms(v)} ms (${((100 * v) / total).toFixed(0)} %)`).join('; ');
}

export const rendererSection: Section = {
  name: 'renderer',
  title: 'Renderer',
  async run(ctx) {
    const { opts } = ctx;
    const startedAt = new Date();
    const loadAtStart = os.loadavg();
    const cpu = new CpuAccount();
    const t0 = performance.now();
    const main = await runBackend(ctx, opts.backend, opts.sizes, opts.repeats, 'main');
    const mainBackend = main.info.backend;
    let compare: BackendRun | null = null;
    let compareBackend: Backend | null = null;
    if (opts.compare) {
      compareBackend = opts.compare === mainBackend ? (mainBackend === 'swiftshader' ? 'llvmpipe' : 'swiftshader') : opts.compare;
      try {
        compare = await runBackend(ctx, compareBackend, [512], opts.compareRepeats, compareBackend);
      } catch (err) {
        ctx.log(`[${compareBackend}] comparison skipped: ${(err as Error).message}`);
      }
    }
    const elapsedS = (performance.now() - t0) / 1000;
    const cpuUse = cpu.stop();

    const { system } = ctx;
    const info = main.info;
    const intro = [
      `Backend **${info.backend}** — WebGL renderer \`${info.webglRenderer}\`; CPU **${system.cpuModel}**, ${system.cores} cores, ` +
        `${system.memTotalGiB.toFixed(0)} GiB RAM; ${info.chromium}, Babylon ${info.babylon}, Node ${system.node}.`,
      '',
      `Scene: built-in procedural head, \`builtin:studio\` environment (cube 128, no prefilter) + 1 point light with a 1024² shadow map, ` +
        `MSAA 4, transparent background, all ${PASS_NAMES.length} passes (${ALL_MODES.length} render modes: ${ALL_MODES.join(', ')}), EXR half + zip. ` +
        `Median of ${opts.repeats} samples per size after 1 warm-up. Run ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC, section took ${elapsedS.toFixed(0)} s.`,
      '',
      `Machine load: 1-min load average ${loadAtStart[0].toFixed(2)} at the start; during the section this bench (Node + Chromium) used ` +
        (cpuUse ? `${pct(cpuUse.ownShare)} and other processes ${pct(cpuUse.otherShare)} of all cores' time.` : 'an unknown share of the CPU (no /proc/stat).'),
    ];

    const startup: Table = {
      title: 'Start-up',
      columns: ['', 'ms'],
      rows: [
        ['Browser start (`launchMs`)', ms(info.launchMs)],
        ['Page ready (`pageReadyMs`)', ms(info.pageReadyMs)],
        [`First frame, ${main.firstFrame.size} px (renderSample wall: shader compile, env cube, new-variant double draw)`, ms(main.firstFrame.wallMs)],
        ['  of which page setup (`setupMs`)', ms(main.firstFrame.times.setupMs)],
      ],
    };

    const perSample: Table = {
      title: 'Per sample (ms, median)',
      columns: [
        'Size',
        'Setup',
        'Shadow',
        'Draw (all modes)',
        '**Render total**',
        'Readback (copy+pack+half)',
        'Upload',
        '**Transfer**',
        'Decode',
        '**Write** (EXR/PNG)',
        '**(transfer+encode)/render**',
        '**Sample total**',
        'Upload MiB',
      ],
      rows: main.sizes.map(({ size, median: t }) => {
        const r = overheadRatio(t);
        return [
          `${size}²`,
          ms(t.setupMs),
          ms(t.shadowMs),
          ms(t.renderTotalMs - t.setupMs - t.shadowMs),
          ms(t.renderTotalMs),
          ms(t.readTotalMs),
          ms(t.uploadMs),
          ms(t.transferMs),
          ms(t.decodeMs),
          ms(t.writeMs),
          `${pct(r)} ${r < 0.25 ? '✓' : '✗'}`,
          ms(t.sampleMs),
          (t.uploadBytes / 2 ** 20).toFixed(1),
        ];
      }),
    };

    const perMode: Table = {
      title: opts.splitWait
        ? 'Per render mode: draw / readback ms (median; draw = issue + GPU wait, readback = readPixels copy + packing + float→half)'
        : 'Per render mode: render / read ms (median)',
      columns: ['Size', ...ALL_MODES],
      rows: main.sizes.map(({ size, median: t }) => [`${size}²`, ...ALL_MODES.map((m) => `${ms(t.renderMs[m])} / ${ms(t.readMs[m])}`)]),
    };
    const perModeRaw: Table = {
      title: 'Per render mode as the page reports it: `timings.page.renderMs` / `readMs` (median)',
      columns: ['Size', ...ALL_MODES],
      rows: main.sizes.map(({ size, median: t }) => [`${size}²`, ...ALL_MODES.map((m) => `${ms(t.issueMs[m])} / ${ms(t.rawReadMs[m])}`)]),
    };

    const memory: Table = {
      title: 'Peak memory while rendering (MiB)',
      columns: ['Size', 'Node RSS', 'Browser RSS (sum of tree)', 'Browser PSS', 'Browser processes'],
      rows: main.sizes.map(({ size, memory: m }) => [`${size}²`, mib(m.nodeRssBytes), mib(m.browserRssBytes), mib(m.browserPssBytes), String(m.browserProcesses)]),
    };
    memory.rows.push(['whole run', mib(main.memory.nodeRssBytes), mib(main.memory.browserRssBytes), mib(main.memory.browserPssBytes), String(main.memory.browserProcesses)]);

    // Did the probe find drawing hidden in readPixels? (Not when the page already waits for each
    // draw, e.g. with a getError() after it.) Then the page's own split is shown as well.
    const waitFound = main.sizes.map((x) => {
      const wait = sum(ALL_MODES.map((m) => x.median.waitMs[m] ?? 0));
      const rawRead = sum(ALL_MODES.map((m) => x.median.rawReadMs[m] ?? 0));
      return { size: x.size, wait, rawRead, significant: wait > 5 && wait > 0.1 * rawRead };
    });
    const anyWait = waitFound.some((w) => w.significant);
    const tables = opts.splitWait && anyWait ? [startup, perSample, perMode, perModeRaw, memory] : [startup, perSample, perMode, memory];

    let compareData: unknown = null;
    let compareNote: string | null = null;
    if (compare && compareBackend) {
      const a = main.sizes.find((s) => s.size === 512);
      const b = compare.sizes[0];
      // If 512 was not among --sizes, the main backend's first frame is the only 512 number.
      const aT = a?.median ?? main.firstFrame.times;
      const bT = b.median;
      const ratio = (x: number, y: number) => `${(x / y).toFixed(2)}×`;
      tables.push({
        title: `Backend comparison at 512² (same run; ${compareBackend}: median of ${opts.compareRepeats} after 1 warm-up)`,
        columns: ['Backend', 'WebGL renderer', 'Launch', 'First frame', 'Render total', 'Transfer', 'Sample total'],
        rows: [
          [mainBackend, `\`${info.webglRenderer}\``, ms(info.launchMs), ms(main.firstFrame.wallMs), ms(aT.renderTotalMs), ms(aT.transferMs), ms(aT.sampleMs)],
          [compareBackend, `\`${compare.info.webglRenderer}\``, ms(compare.info.launchMs), ms(compare.firstFrame.wallMs), ms(bT.renderTotalMs), ms(bT.transferMs), ms(bT.sampleMs)],
          [
            `**${compareBackend} / ${mainBackend}**`,
            '',
            ratio(compare.info.launchMs, info.launchMs),
            ratio(compare.firstFrame.wallMs, main.firstFrame.wallMs),
            `**${ratio(bT.renderTotalMs, aT.renderTotalMs)}**`,
            ratio(bT.transferMs, aT.transferMs),
            `**${ratio(bT.sampleMs, aT.sampleMs)}**`,
          ],
        ],
      });
      compareData = compare;
      const bWait = sum(ALL_MODES.map((m) => bT.waitMs[m] ?? 0));
      if (opts.splitWait && bWait > 5) {
        compareNote = `${compareBackend}: the page's \`renderMs\` does not include the drawing on this backend (it happens inside readPixels); ` +
          `the probe moved ${ms(bWait)} ms per sample from readback to render total (page's raw split: render ${ms(sum(ALL_MODES.map((m) => bT.issueMs[m] ?? 0)))} ms, ` +
          `read ${ms(sum(ALL_MODES.map((m) => bT.rawReadMs[m] ?? 0)))} ms).`;
      }
    }

    const notes: string[] = [
      '_Render total_ = page setup + shadow map + drawing of all render modes. _Transfer_ = readback (readPixels copy + channel packing + float→half in the page) ' +
        '+ HTTP upload. _Encode_ = decode in Node (half→float, row flip, mask) + pass writing (`timings.writeMs`: EXR/PNG encoding and files). ' +
        'Goal: (transfer+encode)/render < 25 %. _Sample total_ = `renderSample` + `writeSample`.',
      !opts.splitWait
        ? 'Without the wait probe (`--no-split-wait`) the page\'s `renderMs`/`readMs` are used as they are: drawing still queued when readPixels runs counts as readback.'
        : anyWait
          ? 'WebGL calls only queue commands for the GPU process: `target.render()` can return after issuing them (the page\'s `renderMs`) and the drawing then happens ' +
            'while the page waits in the mode\'s readPixels, so the page\'s `readMs` (and `timings.transferMs`) are mostly drawing. The bench wraps readPixels in the page ' +
            '(via `Renderer.evaluate`) to read 1×1 pixel first: that wait is counted as drawing, the full readPixels after it as readback. ' +
            `Ratio from the raw page timings: ${main.sizes.map((x) => `${x.size}² ${pct(x.median.rawRatio)}`).join(', ')}.`
          : 'The bench wraps readPixels in the page (via `Renderer.evaluate`) to read 1×1 pixel first, to catch drawing still queued when readPixels runs; it found ' +
            `${waitFound.map((w) => `${ms(w.wait)} ms`).join(' / ')} per sample (${waitFound.map((w) => `${w.size}²`).join(' / ')}), so the page's own ` +
            '`renderMs`/`readMs` split is exact (it waits for each draw). Shadow maps are drawn inside the beauty mode\'s time for the same reason.',
      ...(compareNote ? [compareNote] : []),
      'Browser RSS sums VmRSS over the Chromium process tree (shared pages counted once per process, so it overstates); PSS splits shared pages.',
    ];
    if (cpuUse && cpuUse.otherShare > 0.1) {
      notes.unshift(
        `**Noisy run: other processes used ${pct(cpuUse.otherShare)} of the CPU while this section ran; times are inflated and not comparable. Re-run on an idle machine.**`,
      );
    }
    for (const s of main.sizes) {
      const r = overheadRatio(s.median);
      if (r >= 0.25) notes.push(`**${s.size}²: (transfer+encode)/render = ${pct(r)} ≥ 25 %.** Largest first: ${dominantOverhead(s.median)}.`);
    }

    return {
      intro,
      tables,
      notes,
      data: { startedAt: startedAt.toISOString(), elapsedS, loadAtStart, cpuUse, system, main, compareBackend, compare: compareData },
    };
  },
};

/**
 * The dashboard (server/public, server/routes/datasets.ts, server/olat-routes.ts) end to end: a real
 * server on port 0 with a temp output root, a real batch rendered by the embedded executor, a
 * real OLAT stack captured with the OLAT capture code, and the pages driven in real headless
 * Chromium (Puppeteer). Checks: the job list shows a submitted job whose progress advances while
 * it renders (SSE); a sample opens with every pass decoded (pixels read back from the canvases,
 * not only tags present); the exposure slider redraws without requests; Tab/Enter/arrow keys
 * work; basic accessibility (labels, alt text, roles, one h1); a 100-sample grid's paint time;
 * paging 100,000 samples; clicking a rig light shows its image and rotating the map changes the
 * relit image; unknown ids and traversal paths are 404 and never serve a file outside the
 * output root; the sample index's identity and skin-tone (ITA bin) fields and filters, and a
 * sample's landmarks and segmentation (API, and the overlays drawn pixel-aligned on the passes).
 * Screenshots go to output/test-artifacts/dashboard/.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Server } from 'node:http';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { createApp } from '../server/app.js';
import { JobManager } from '../server/jobs.js';
import { EmbeddedExecutor } from '../server/executor-embedded.js';
import { DatasetIndexes, applyFilter } from '../server/dataset-index.js';
import { readExr } from '../renderer/io/exr-read.js';
import { readPng } from '../renderer/io/image-io.js';
import { landmarksRecord } from '../renderer/develop/landmarks.js';
import { sampleIctParams } from '../renderer/assets/ict/params.js';
import { identityKeyOf } from '../renderer/dataset/identity.js';
import { SEGMENTATION_LABELS } from '../renderer/core/labels.js';
import { ITA_BINS, itaOfSkin } from '../renderer/dataset/skin-tone.js';
import { SampleRecordSchema } from '../renderer/dataset/records.js';
import type { ResolvedCamera } from '../renderer/core/camera.js';
import { findBrowser } from '../renderer/engine/browser.js';
import { PROJECT_ROOT } from '../renderer/io/paths.js';
import { Renderer } from '../renderer/engine/renderer.js';
import type { BatchConfigInput } from '../renderer/pipelines/batch/config.js';

const ART = path.join(PROJECT_ROOT, 'output', 'test-artifacts', 'dashboard');
const DS = 'dash-e2e';
const CONFIG: BatchConfigInput = {
  name: DS,
  heads: ['procedural'],
  envMaps: ['builtin:studio', 'builtin:city', 'builtin:sunset'],
  width: 64,
  height: 64,
  samples: 4,
  seed: 11,
  shardSize: 1,
  workers: 1,
  background: 'environment',
  render: { msaa: 1, envCubeSize: 32, shadowMapSize: 256 },
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Every file under `src` hard-linked into `dst` (same tree), except sample.json, rewritten with a new id. */
function cloneSample(src: string, dst: string, index: number): void {
  const walk = (a: string, b: string) => {
    fs.mkdirSync(b, { recursive: true });
    for (const e of fs.readdirSync(a, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(a, e.name), path.join(b, e.name));
      else if (e.name !== 'sample.json') fs.linkSync(path.join(a, e.name), path.join(b, e.name));
    }
  };
  walk(src, dst);
  const s = JSON.parse(fs.readFileSync(path.join(src, 'sample.json'), 'utf8'));
  s.index = index;
  s.id = String(index).padStart(6, '0');
  fs.writeFileSync(path.join(dst, 'sample.json'), JSON.stringify(s));
}

/** Accessibility basics on the current page; returns a list of problems. */
async function a11yProblems(page: Page): Promise<string[]> {
  // No named function expressions in here: tsx's keepNames helper (__name) does not exist in the page.
  return page.evaluate(() => {
    const out: string[] = [];
    if (!document.documentElement.lang) out.push('html has no lang');
    const h1s = document.querySelectorAll('h1');
    if (h1s.length !== 1) out.push(`${h1s.length} h1 elements`);
    if (!document.querySelector('main')) out.push('no main landmark');
    for (const img of document.querySelectorAll('img')) if (!img.hasAttribute('alt') || (img.alt.trim() === '' && img.getAttribute('role') !== 'presentation')) out.push(`img without alt: ${img.src.slice(-60)}`);
    for (const c of document.querySelectorAll('canvas')) if (c.getAttribute('role') !== 'img' || !c.getAttribute('aria-label')) out.push(`canvas without role=img/aria-label: ${c.dataset.label}`);
    for (const el of document.querySelectorAll('input, select, textarea')) {
      const i = el as HTMLInputElement;
      if (i.type === 'hidden') continue;
      if (!(i.labels && i.labels.length) && !i.getAttribute('aria-label') && !i.getAttribute('aria-labelledby')) out.push(`control without label: #${i.id || i.name}`);
    }
    for (const b of document.querySelectorAll('button, a[href], [role="button"], [role="radio"]')) {
      let label = (b.getAttribute('aria-label') ?? '').trim() || (b.textContent ?? '').trim() || (b.getAttribute('title') ?? '').trim();
      for (const id of (b.getAttribute('aria-labelledby') ?? '').split(/\s+/)) if (id) label += document.getElementById(id)?.textContent ?? '';
      if (!label) out.push(`${b.tagName.toLowerCase()} without accessible name`);
    }
    const ids = [...document.querySelectorAll('[id]')].map((e) => e.id);
    const dup = ids.filter((id, i) => ids.indexOf(id) !== i);
    if (dup.length) out.push(`duplicate ids: ${[...new Set(dup)].join(', ')}`);
    return out;
  });
}

/**
 * 68 canonical points for a rendered sample: 34 in front of the head (between it and the camera,
 * near the target: the depth test finds them visible) and 34 behind it (hidden), in a small grid
 * across the view direction.
 */
function testLandmarkPoints(cam: { target: number[]; worldToCameraCV: number[][] }): number[][] {
  const E = cam.worldToCameraCV;
  const ax = [E[0][0], E[0][1], E[0][2]];
  const ay = [E[1][0], E[1][1], E[1][2]];
  const az = [E[2][0], E[2][1], E[2][2]];
  const pts: number[][] = [];
  for (const along of [-0.12, 0.12]) {
    for (let k = 0; k < 34; k++) {
      const ox = ((k % 6) - 2.5) * 0.006;
      const oy = (Math.floor(k / 6) - 2.5) * 0.006;
      pts.push([0, 1, 2].map((c) => cam.target[c] + along * az[c] + ox * ax[c] + oy * ay[c]));
    }
  }
  return pts;
}

describe('dashboard (real Chromium)', function () {
  let tmp: string;
  let outputRoot: string;
  let server: Server;
  let jobs: JobManager;
  let base: string;
  let browser: Browser;
  let page: Page;
  const report: Record<string, unknown> = {};

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vls-dash-'));
    outputRoot = path.join(tmp, 'out');
    fs.mkdirSync(outputRoot, { recursive: true });
    fs.mkdirSync(ART, { recursive: true });
    jobs = new JobManager({ outputRoot, executor: new EmbeddedExecutor({ workers: 1 }) });
    const app = createApp({ jobs, assetRoots: [], allowedHosts: ['127.0.0.1', 'localhost'] });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    const args = ['--hide-scrollbars', '--disable-dev-shm-usage', '--font-render-hinting=none'];
    if (typeof process.getuid === 'function' && process.getuid() === 0) args.push('--no-sandbox');
    const found = await findBrowser();
    browser = await puppeteer.launch({ executablePath: found.path, headless: found.headless, args, pipe: true });
    page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 1000 });
    page.on('pageerror', (e) => console.error(`[dashboard page error] ${(e as Error).message}`));
  });

  after(async () => {
    if (Object.keys(report).length) console.log(`      dashboard measurements: ${JSON.stringify(report)}`);
    await browser?.close();
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    await jobs?.close();
    if (!process.env.VLS_KEEP_TEST_OUTPUT) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const shot = (name: string, fullPage = false) => page.screenshot({ path: path.join(ART, name), fullPage });

  it('lists a submitted job and its progress advances live while the batch renders (SSE)', async () => {
    await page.goto(`${base}/#/`, { waitUntil: 'load' });
    await page.waitForSelector('#job-form');
    await page.waitForFunction(() => document.getElementById('conn')?.dataset.state === 'live');
    // Record every state the row shows, 20 times a second.
    await page.evaluate((name) => {
      const w = window as unknown as { __seen: { done: number; total: number; status: string; rate: string; eta: string }[] };
      w.__seen = [];
      setInterval(() => {
        for (const row of document.querySelectorAll<HTMLTableRowElement>('#jobs-table tbody tr')) {
          if (row.querySelector('.job-name')?.textContent !== name) continue;
          const p = row.querySelector<HTMLElement>('.progress-text')!;
          const s = { done: Number(p.dataset.done), total: Number(p.dataset.total), status: row.dataset.status ?? '', rate: row.querySelector('.rate')?.textContent ?? '', eta: row.querySelector('.eta')?.textContent ?? '' };
          const last = w.__seen[w.__seen.length - 1];
          if (!last || last.done !== s.done || last.status !== s.status || last.rate !== s.rate) w.__seen.push(s);
        }
      }, 50);
    }, DS);
    await page.$eval('#job-config', (el, v) => ((el as HTMLTextAreaElement).value = v), JSON.stringify(CONFIG, null, 2));
    await page.click('#job-submit');
    await page.waitForFunction((name) => [...document.querySelectorAll('#jobs-table .job-name')].some((e) => e.textContent === name), { timeout: 10_000 }, DS);
    // A screenshot while it renders (first sample done, not all).
    await page.waitForFunction(() => (window as unknown as { __seen: { done: number; total: number }[] }).__seen.some((s) => s.done > 0 && s.done < s.total), { timeout: 240_000, polling: 50 });
    await shot('jobs-progress.png');
    await page.waitForFunction(() => (window as unknown as { __seen: { status: string }[] }).__seen.some((s) => ['done', 'failed', 'cancelled'].includes(s.status)), { timeout: 240_000, polling: 100 });
    await sleep(300);
    await shot('jobs-done.png');
    const seen = await page.evaluate(() => (window as unknown as { __seen: { done: number; total: number; status: string; rate: string; eta: string }[] }).__seen);
    const last = seen[seen.length - 1];
    expect(last.status, JSON.stringify(seen)).to.equal('done');
    expect(last.done).to.equal(4);
    const dones = seen.map((s) => s.done);
    for (let i = 1; i < dones.length; i++) expect(dones[i], 'progress never goes back').to.be.at.least(dones[i - 1]);
    const intermediate = [...new Set(dones.filter((d) => d > 0 && d < 4))];
    expect(intermediate.length, `intermediate progress values seen: ${JSON.stringify(seen)}`).to.be.at.least(1);
    expect(seen.some((s) => s.status === 'running' && /s\/sample|samples\/s/.test(s.rate)), 'a rate while running').to.equal(true);
    expect(seen.some((s) => s.status === 'running' && /\d+ s|min/.test(s.eta)), 'an ETA while running').to.equal(true);
    expect(await page.$eval(`#jobs-table tr[data-status="done"] progress`, (p) => (p as HTMLProgressElement).value)).to.equal(4);
    report.progressStatesSeen = seen.length;
    report.intermediateDoneValues = intermediate;
  });

  it('shows a rejected config with the field path in the form', async () => {
    await page.$eval('#job-config', (el) => ((el as HTMLTextAreaElement).value = JSON.stringify({ name: 'bad', width: 5 })));
    await page.click('#job-submit');
    await page.waitForFunction(() => /config\.width/.test(document.getElementById('job-errors')?.textContent ?? ''));
    expect(await page.$eval('#job-config', (el) => el.getAttribute('aria-invalid'))).to.equal('true');
    expect(await a11yProblems(page)).to.deep.equal([]);
  });

  it('grid: thumbnails decode, Tab reaches a tile, arrows move, Enter opens the sample', async () => {
    await page.goto(`${base}/#/datasets/${DS}`, { waitUntil: 'load' });
    await page.waitForFunction(() => !!window.__dash?.gridAt, { timeout: 30_000 });
    const thumbs = await page.$$eval('#sample-grid img', (imgs) => imgs.map((i) => ({ w: (i as HTMLImageElement).naturalWidth, complete: (i as HTMLImageElement).complete, alt: (i as HTMLImageElement).alt })));
    expect(thumbs).to.have.length(4);
    for (const t of thumbs) {
      expect(t.complete && t.w > 0, JSON.stringify(t)).to.equal(true);
      expect(t.alt).to.match(/^Sample \d{6}: head procedural/);
    }
    expect(await a11yProblems(page)).to.deep.equal([]);
    // Tab from the heading to the first tile.
    let tabs = 0;
    while (!(await page.evaluate(() => document.activeElement?.classList.contains('tile'))) && tabs < 40) {
      await page.keyboard.press('Tab');
      tabs++;
    }
    expect(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.id)).to.equal('000000');
    await page.keyboard.press('ArrowRight');
    expect(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.id)).to.equal('000001');
    await shot('grid-keyboard.png');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => location.hash.startsWith('#/datasets/dash-e2e/000001'));
    report.tabsToFirstTile = tabs;
    // Thumbnails are cached on disk, written atomically.
    const cache = path.join(outputRoot, '.cache', 'thumbs', DS, '000000');
    expect(fs.readdirSync(cache).filter((f) => f.endsWith('.webp'))).to.have.length.at.least(1);
    expect(fs.readdirSync(cache).filter((f) => f.includes('.tmp-'))).to.deep.equal([]);
  });

  it('sample view: every pass loads and decodes; the exposure slider redraws without requests', async () => {
    await page.waitForSelector('main[data-loaded="true"]', { timeout: 60_000 });
    const canvases = await page.$$eval('canvas', (cs) =>
      cs.map((c) => {
        const cv = c as HTMLCanvasElement;
        const d = cv.getContext('2d')!.getImageData(0, 0, cv.width, cv.height).data;
        let sum = 0;
        let lit = 0;
        for (let i = 0; i < d.length; i += 4) {
          const v = d[i] + d[i + 1] + d[i + 2];
          sum += v;
          if (v > 0) lit++;
        }
        return { pass: cv.dataset.pass, label: cv.dataset.label, w: cv.width, h: cv.height, sum, lit, aria: cv.getAttribute('aria-label') };
      }),
    );
    const byPass = (p: string) => canvases.filter((c) => c.pass === p);
    for (const p of ['beauty', 'diffuse', 'specular']) expect(byPass(p), p).to.have.length(3);
    for (const p of ['albedo', 'normal_world', 'normal_camera', 'depth', 'mask']) expect(byPass(p), p).to.have.length(1);
    expect(byPass('env'), 'env maps').to.have.length(3);
    expect(byPass('env16'), '16x16 encodings').to.have.length(3);
    for (const c of canvases) {
      expect(c.w, `${c.label} size`).to.equal(c.pass === 'env' ? 256 : c.pass === 'env16' ? 16 : 64);
      expect(c.sum, `${c.label} has non-zero pixels`).to.be.greaterThan(0);
      expect(c.aria, c.label).to.not.match(/loading|could not/);
    }
    // Off-head pixels are black in the intrinsics; the head is not.
    const mask = byPass('mask')[0];
    expect(mask.lit / (mask.w * mask.h)).to.be.within(0.05, 0.95);
    const imgs = await page.$$eval('main img', (is) => is.map((i) => ({ src: (i as HTMLImageElement).src, w: (i as HTMLImageElement).naturalWidth, ok: (i as HTMLImageElement).complete })));
    expect(imgs.filter((i) => /preview\.png/.test(i.src))).to.have.length(3);
    for (const i of imgs) expect(i.ok && i.w > 0, i.src).to.equal(true);
    expect(await page.$$eval('.pl-marker', (m) => m.length), 'point-light markers (target_k has 1-3 lights, drawn on 2 maps)').to.be.at.least(2);
    expect(await page.evaluate(() => document.body.textContent!.includes('Config content hash') && document.body.textContent!.includes('Vertical FOV'))).to.equal(true);
    expect(await a11yProblems(page)).to.deep.equal([]);
    await shot('sample.png', true);

    // Exposure: +2 EV brightens the linear passes, no pixel data is fetched again.
    const beautySum = () => page.$eval('canvas[data-pass="beauty"]', (c) => {
      const cv = c as HTMLCanvasElement;
      const d = cv.getContext('2d')!.getImageData(0, 0, cv.width, cv.height).data;
      let s = 0;
      for (let i = 0; i < d.length; i += 4) s += d[i] + d[i + 1] + d[i + 2];
      return s;
    });
    const albedoSum = () => page.$eval('canvas[data-pass="albedo"]', (c) => {
      const cv = c as HTMLCanvasElement;
      const d = cv.getContext('2d')!.getImageData(0, 0, cv.width, cv.height).data;
      let s = 0;
      for (let i = 0; i < d.length; i += 4) s += d[i];
      return s;
    });
    const [b0, a0] = [await beautySum(), await albedoSum()];
    const requests: string[] = [];
    const onReq = (r: { url: () => string }) => requests.push(r.url());
    page.on('request', onReq);
    const drawn0 = await page.$eval('canvas[data-pass="beauty"]', (c) => Number((c as HTMLCanvasElement).dataset.drawn));
    await page.$eval('#exposure', (el) => {
      (el as HTMLInputElement).value = '2';
      el.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await page.waitForFunction((n) => Number((document.querySelector('canvas[data-pass="beauty"]') as HTMLCanvasElement).dataset.drawn) > n, {}, drawn0);
    page.off('request', onReq);
    const [b1, a1] = [await beautySum(), await albedoSum()];
    expect(b1, 'beauty brighter at +2 EV').to.be.greaterThan(b0 * 1.2);
    expect(a1, 'albedo is not exposed').to.equal(a0);
    expect(requests.filter((u) => /\.f16|\.f32|\.png/.test(u)), 'no image requests for an exposure change').to.deep.equal([]);
    expect(await page.$eval('#exposure-value', (e) => e.textContent)).to.equal('+2.0 EV');
    report.exposureRedrawMs = await page.evaluate(() => window.__dash?.exposureRedrawMs);
    report.sampleLoadMs = await page.evaluate(() => window.__dash?.sampleLoadMs);
    // Keyboard: ArrowRight = next sample, Escape = back to the grid.
    await page.focus('h1');
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction(() => location.hash.startsWith('#/datasets/dash-e2e/000002') && /^Sample 000002/.test(document.querySelector('h1')?.textContent ?? ''));
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => /^#\/datasets\/dash-e2e(\?|$)/.test(location.hash));
  });

  // A dataset of three clones of a rendered sample with what the sample index and the overlays
  // read: A an ICT-like draw (very light skin, tone 0) with landmarks projected from the sample's
  // own camera and tested against its own depth pass; B a dark draw (tone 1) with landmarks; C no
  // skin draw, no landmarks and no segmentation.png. Every sample.json is checked against the
  // dataset schema before it is written.
  const TAGS = 'dash-tags';
  // Two people (seeds 1 and 2: different identity weights), one very light and one dark skin.
  const tagSkins = { A: sampleIctParams({ seed: 1, skin: { tone: [0, 0] } }), B: sampleIctParams({ seed: 2, skin: { tone: [1, 1] } }) };
  // A drawn ICT head's identity is its identity weights (renderer/dataset/identity.ts).
  const idA = identityKeyOf({ params: tagSkins.A });
  const idB = identityKeyOf({ params: tagSkins.B });
  let tagLandmarks: ReturnType<typeof landmarksRecord>;
  let segIds: { width: number; height: number; data: Uint8Array };
  const buildTags = async () => {
    const src = path.join(outputRoot, DS, 'samples', '000000');
    const dst = path.join(outputRoot, TAGS);
    const segFile = path.join(src, 'input_i', 'segmentation.png');
    expect(fs.existsSync(segFile), 'the batch wrote segmentation.png (a default pass) in the first lighting folder').to.equal(true);
    const png = await readPng(segFile);
    expect([png.bitDepth, png.channels]).to.deep.equal([8, 1]);
    segIds = { width: png.width, height: png.height, data: png.data as Uint8Array };
    const s0 = JSON.parse(fs.readFileSync(path.join(src, 'sample.json'), 'utf8'));
    const depth = await readExr(path.join(src, 'input_i', 'depth.exr'));
    tagLandmarks = landmarksRecord(testLandmarkPoints(s0.camera), s0.camera as ResolvedCamera, depth.channels[0].data);
    const vis = tagLandmarks.visible.filter(Boolean).length;
    expect(vis, 'front landmarks visible').to.be.within(1, 67);
    const write = (i: number, edit: (s: Record<string, any>) => void) => {
      const dir = path.join(dst, 'samples', String(i).padStart(6, '0'));
      cloneSample(src, dir, i);
      const s = JSON.parse(fs.readFileSync(path.join(dir, 'sample.json'), 'utf8'));
      edit(s);
      SampleRecordSchema.parse(s);
      fs.writeFileSync(path.join(dir, 'sample.json'), JSON.stringify(s));
      return dir;
    };
    write(0, (s) => {
      s.head = { ...s.head, ref: 'ict:{"seed":1,"tone":0}', id: 'ict-fixture-a', params: tagSkins.A };
      s.landmarks = tagLandmarks;
    });
    write(1, (s) => {
      s.head = { ...s.head, ref: 'ict:{"seed":2,"tone":1}', id: 'ict-fixture-b', params: tagSkins.B };
      s.landmarks = tagLandmarks;
    });
    const c = write(2, (s) => {
      delete s.head.params;
      delete s.landmarks;
      s.head.id = 'procedural-fixture-c';
    });
    fs.rmSync(path.join(c, 'input_i', 'segmentation.png'));
    const batch = JSON.parse(fs.readFileSync(path.join(outputRoot, DS, 'batch.json'), 'utf8'));
    batch.config.samples = 3;
    batch.config.name = TAGS;
    fs.writeFileSync(path.join(dst, 'batch.json'), JSON.stringify(batch));
  };

  it('sample index: identity and skin-tone (ITA bin) per sample and as filters; landmarks and segmentation in the sample API', async () => {
    await buildTags();
    const get = async (u: string) => {
      const r = await fetch(base + u);
      return { status: r.status, j: (await r.json()) as any };
    };
    const ids = (r: { j: { items: { id: string }[] } }) => r.j.items.map((i) => i.id);
    const itaA = itaOfSkin(tagSkins.A.skin)!;
    const itaB = itaOfSkin(tagSkins.B.skin)!;
    expect(itaA, 'tone 0 is very light').to.be.above(55);
    expect(itaB, 'tone 1 is dark').to.be.below(-30);

    const info = await get(`/api/datasets/${TAGS}`);
    expect(info.status).to.equal(200);
    const f = info.j.facets;
    expect(idA).to.match(/^ict-identity-[0-9a-f]{12}$/);
    expect(idA).not.to.equal(idB);
    expect(f.identities).to.deep.equal(
      [
        { value: idA, count: 1 },
        { value: idB, count: 1 },
        { value: 'procedural-fixture-c', count: 1 },
      ].sort((x, y) => (x.value < y.value ? -1 : 1)),
    );
    expect(f.identitiesTotal).to.equal(3);
    expect(f.skinTones.map((t: { value: string }) => t.value)).to.deep.equal([...ITA_BINS.map((b) => b.name), 'unknown']);
    const tone = (v: string) => f.skinTones.find((t: { value: string }) => t.value === v);
    expect([tone('very light').count, tone('dark').count, tone('unknown').count, tone('light').count]).to.deep.equal([1, 1, 1, 0]);
    expect(tone('very light').range).to.deep.equal([55, null]);
    expect(tone('dark').range).to.deep.equal([null, -30]);
    expect(tone('unknown').range).to.equal(null);

    const all = await get(`/api/datasets/${TAGS}/samples`);
    expect(all.j.items.map((i: any) => [i.id, i.identity, i.skinTone])).to.deep.equal([
      ['000000', idA, 'very light'],
      ['000001', idB, 'dark'],
      ['000002', 'procedural-fixture-c', 'unknown'],
    ]);
    expect(all.j.items[0].ita).to.be.closeTo(itaA, 0.01);
    expect(all.j.items[1].ita).to.be.closeTo(itaB, 0.01);
    expect(all.j.items[2].ita).to.equal(null);

    const q = (qs: string) => get(`/api/datasets/${TAGS}/samples?${qs}`);
    expect(ids(await q('skin=very%20light'))).to.deep.equal(['000000']);
    expect(ids(await q('skin=dark'))).to.deep.equal(['000001']);
    expect(ids(await q('skin=unknown'))).to.deep.equal(['000002']);
    expect((await q('skin=light')).j.total).to.equal(0);
    expect((await q('skin=purple')).j.total, 'an unknown bin matches nothing').to.equal(0);
    expect(ids(await q(`identity=${idB}`))).to.deep.equal(['000001']);
    expect((await q(`identity=${idB}&skin=very%20light`)).j.total, 'filters combine').to.equal(0);
    expect((await q('identity=nobody')).j.total).to.equal(0);
    expect((await q('skin=dark')).j.datasetTotal).to.equal(3);
    // The whole-dataset summary of the main dataset: procedural heads have no skin draw.
    const main = await get(`/api/datasets/${DS}`);
    expect(main.j.facets.skinTones.find((t: { value: string }) => t.value === 'unknown').count).to.equal(main.j.total);

    // Sample A: landmarks as written, segmentation in the first lighting, the renderer's label table.
    const a = await get(`/api/datasets/${TAGS}/samples/000000?skin=very%20light`);
    expect(a.status).to.equal(200);
    expect(a.j.identity).to.equal(idA);
    expect(a.j.skinTone.bin).to.equal('very light');
    expect(a.j.skinTone.ita).to.be.closeTo(itaA, 0.01);
    expect(a.j.landmarks).to.deep.equal(JSON.parse(JSON.stringify(tagLandmarks)));
    expect(a.j.segmentation).to.deep.include({ key: 'input_i', file: 'input_i/segmentation.png', labelsSource: 'renderer' });
    expect(a.j.segmentation.labels).to.deep.equal(JSON.parse(JSON.stringify(SEGMENTATION_LABELS)));
    expect(a.j.nav, 'prev/next within the skin filter').to.deep.include({ position: 0, total: 1, prev: null, next: null });
    // Sample C: none of it.
    const c = await get(`/api/datasets/${TAGS}/samples/000002`);
    expect([c.j.landmarks, c.j.segmentation, c.j.skinTone.bin, c.j.skinTone.ita]).to.deep.equal([null, null, 'unknown', null]);
    // A finished dataset names its label table in dataset.json; the detail passes that one on.
    const m = await get(`/api/datasets/${DS}/samples/000000`);
    expect(m.j.segmentation.labelsSource).to.equal('dataset.json');
    expect(m.j.segmentation.labels.map((l: { name: string }) => l.name)).to.deep.equal(SEGMENTATION_LABELS.map((l) => l.name));

    // The label map: as stored (PNG), and as raw ids equal to the decoded file.
    const segPng = await fetch(`${base}/api/datasets/${TAGS}/samples/000000/input_i/segmentation.png`);
    expect(segPng.status).to.equal(200);
    expect(segPng.headers.get('content-type')).to.contain('image/png');
    expect(Buffer.from(await segPng.arrayBuffer()).equals(fs.readFileSync(path.join(outputRoot, TAGS, 'samples', '000000', 'input_i', 'segmentation.png')))).to.equal(true);
    const u8 = await fetch(`${base}/api/datasets/${TAGS}/samples/000000/input_i/segmentation.u8`);
    expect(u8.status).to.equal(200);
    expect([Number(u8.headers.get('x-image-width')), Number(u8.headers.get('x-image-height'))]).to.deep.equal([segIds.width, segIds.height]);
    const raw = new Uint8Array(await u8.arrayBuffer());
    expect(Buffer.from(raw).equals(Buffer.from(segIds.data)), 'segmentation.u8 = the PNG decoded').to.equal(true);
    const present = new Set(raw);
    present.delete(0);
    expect(present.size, 'the head is labelled').to.be.at.least(1);
    const known = new Set(SEGMENTATION_LABELS.map((l) => l.id));
    for (const id of present) expect(known.has(id), `label ${id} is in the table`).to.equal(true);
    for (const u of [
      `/api/datasets/${TAGS}/samples/000002/input_i/segmentation.u8`,
      `/api/datasets/${TAGS}/samples/000002/input_i/segmentation.png`,
      `/api/datasets/${TAGS}/samples/000000/input_j/segmentation.u8`,
      `/api/datasets/${TAGS}/samples/000000/input_i/beauty.u8`,
      `/api/datasets/${TAGS}/samples/000000/input_i/..%2Fsegmentation.u8`,
    ]) {
      const r = await fetch(base + u);
      expect(r.status, u).to.equal(404);
      expect((await r.json()).error, u).to.be.a('string');
    }
    const labels = await get('/api/segmentation/labels');
    expect(labels.j.labels).to.deep.equal(JSON.parse(JSON.stringify(SEGMENTATION_LABELS)));
  });

  it('grid filters by identity and skin tone; the sample view overlays segmentation and landmarks pixel-aligned', async () => {
    // Grid: the skin-tone filter, then the identity filter, each a real change event on the form.
    const gridBefore = await page.evaluate(() => window.__dash?.gridAt ?? 0);
    await page.evaluate((ds) => (location.hash = `#/datasets/${ds}`), TAGS);
    await page.waitForFunction((t) => (window.__dash?.gridAt ?? 0) > t, { timeout: 30_000 }, gridBefore);
    const tiles = () => page.$$eval('#sample-grid a.tile', (as) => as.map((a) => [(a as HTMLElement).dataset.id, (a as HTMLElement).dataset.skin]));
    expect(await tiles()).to.deep.equal([
      ['000000', 'very light'],
      ['000001', 'dark'],
      ['000002', 'unknown'],
    ]);
    const skinOptions = await page.$$eval('#f-skin option', (os) => os.map((o) => [(o as HTMLOptionElement).value, (o as HTMLOptionElement).disabled]));
    expect(skinOptions.map((o) => o[0])).to.deep.equal(['', ...ITA_BINS.map((b) => b.name), 'unknown']);
    expect(skinOptions.filter((o) => !o[1]).map((o) => o[0]), 'empty bins cannot be picked').to.deep.equal(['', 'very light', 'dark', 'unknown']);
    expect(await a11yProblems(page)).to.deep.equal([]);
    const pick = async (sel: string, value: string) => {
      const t = await page.evaluate(() => window.__dash?.gridAt ?? 0);
      await page.select(sel, value);
      await page.waitForFunction((t0) => (window.__dash?.gridAt ?? 0) > t0, { timeout: 30_000 }, t);
    };
    await pick('#f-skin', 'dark');
    expect(await page.evaluate(() => location.hash)).to.include('skin=dark');
    expect(await tiles()).to.deep.equal([['000001', 'dark']]);
    expect(await page.$eval('#grid-count', (e) => e.textContent)).to.contain('filtered from 3');
    await pick('#f-skin', '');
    await pick('#f-identity', 'procedural-fixture-c');
    expect(await tiles()).to.deep.equal([['000002', 'unknown']]);
    await pick('#f-identity', '');
    await shot('grid-tags.png');

    // Sample A: both overlays available; off until toggled.
    await page.evaluate(() => sessionStorage.removeItem('dash-overlays'));
    await page.evaluate((ds) => (location.hash = `#/datasets/${ds}/000000`), TAGS);
    await page.waitForFunction(() => /^Sample 000000/.test(document.querySelector('h1')?.textContent ?? ''));
    await page.waitForSelector('main[data-loaded="true"]', { timeout: 60_000 });
    expect(await page.$$eval('canvas.seg-overlay', (c) => c.length), 'no overlay before the toggle').to.equal(0);
    expect(await page.$eval('#overlay-seg', (e) => (e as HTMLInputElement).disabled)).to.equal(false);
    expect(await page.$eval('#overlay-lm', (e) => (e as HTMLInputElement).disabled)).to.equal(false);
    await page.click('#overlay-seg');
    await page.waitForFunction(() => ((window.__dash?.overlay as { segShown?: number } | undefined)?.segShown ?? 0) > 0, { timeout: 30_000 });
    const overlays = await page.$$eval('.pass-overlay', (ws) =>
      ws.map((w) => {
        const base = w.firstElementChild as HTMLCanvasElement | HTMLImageElement;
        const seg = w.querySelector('canvas.seg-overlay') as HTMLCanvasElement | null;
        const rb = base.getBoundingClientRect();
        const rs = seg?.getBoundingClientRect();
        const bw = base instanceof HTMLCanvasElement ? base.width : base.naturalWidth;
        const bh = base instanceof HTMLCanvasElement ? base.height : base.naturalHeight;
        const d = seg ? Array.from(seg.getContext('2d')!.getImageData(0, 0, seg.width, seg.height).data) : [];
        return {
          label: (base as HTMLElement).dataset.label ?? (base as HTMLImageElement).alt,
          base: [bw, bh],
          seg: seg ? [seg.width, seg.height] : null,
          rects: rs ? [rb.x - rs.x, rb.y - rs.y, rb.width - rs.width, rb.height - rs.height] : null,
          rendering: seg ? getComputedStyle(seg).imageRendering : null,
          opacity: seg ? Number(getComputedStyle(seg).opacity) : null,
          px: d,
        };
      }),
    );
    // Every pass image of the sample (3 lightings x beauty/diffuse/specular/preview + 5 intrinsics) carries one.
    expect(overlays.length).to.equal(3 * 4 + 5);
    for (const o of overlays) {
      expect(o.seg, o.label).to.deep.equal(o.base);
      expect(o.seg, o.label).to.deep.equal([segIds.width, segIds.height]);
      for (const v of o.rects!) expect(Math.abs(v), `${o.label}: the overlay covers the image exactly`).to.be.below(0.5);
      expect(o.rendering, o.label).to.equal('pixelated');
      expect(o.opacity, `${o.label}: semi-transparent`).to.be.within(0.1, 0.95);
    }
    // The overlay's pixels are the label map's ids in the table's colours, background transparent.
    const colour = new Map(SEGMENTATION_LABELS.map((l) => [l.id, l.color]));
    const px = overlays[0].px;
    let labelled = 0;
    for (let i = 0; i < segIds.data.length; i++) {
      const id = segIds.data[i];
      const got = px.slice(i * 4, i * 4 + 4);
      if (id === 0) expect(got[3], `pixel ${i}: background is transparent`).to.equal(0);
      else {
        labelled++;
        expect(got, `pixel ${i} (label ${id})`).to.deep.equal([...colour.get(id)!, 255]);
      }
    }
    expect(labelled).to.be.greaterThan(0);
    const legend = await page.$$eval('#seg-legend li', (ls) => ls.map((l) => [Number((l as HTMLElement).dataset.labelId), l.textContent ?? '']));
    const presentIds = [...new Set(segIds.data)].filter((v) => v !== 0).sort((x, y) => x - y);
    expect(legend.map((l) => l[0]), 'the legend lists the classes present').to.deep.equal(presentIds);
    for (const [id, text] of legend) expect(text).to.contain(SEGMENTATION_LABELS.find((l) => l.id === id)!.name);
    expect(await page.$eval('#seg-legend', (e) => (e as HTMLElement).hidden)).to.equal(false);
    // The opacity slider changes the overlay's opacity, not its pixels.
    await page.$eval('#seg-opacity', (el) => {
      (el as HTMLInputElement).value = '0.8';
      el.dispatchEvent(new Event('input', { bubbles: true }));
    });
    expect(await page.$eval('canvas.seg-overlay', (c) => Number(getComputedStyle(c).opacity))).to.be.closeTo(0.8, 1e-6);

    // Landmarks: 68 circles at the recorded pixel positions; visible filled, hidden hollow.
    await page.click('#overlay-lm');
    await page.waitForFunction(() => ((window.__dash?.overlay as { lmShown?: number } | undefined)?.lmShown ?? 0) > 0);
    const lm = await page.$eval('.pass-overlay svg.lm-overlay', (el) => ({
      viewBox: el.getAttribute('viewBox'),
      circles: [...el.querySelectorAll('circle')].map((c) => ({ i: Number(c.dataset.index), x: Number(c.getAttribute('cx')), y: Number(c.getAttribute('cy')), cls: c.getAttribute('class'), fill: getComputedStyle(c).fill })),
    }));
    expect(lm.viewBox, 'pixel units, origin at the top-left corner').to.equal(`0 0 ${segIds.width} ${segIds.height}`);
    expect(lm.circles).to.have.length(68);
    for (const c of lm.circles) {
      expect([c.x, c.y]).to.deep.equal(tagLandmarks.points[c.i]);
      expect(c.cls).to.equal(tagLandmarks.visible[c.i] ? 'lm vis' : 'lm hid');
      if (tagLandmarks.visible[c.i]) expect(c.fill).to.not.equal('none');
      else expect(c.fill).to.equal('none');
    }
    const nVis = tagLandmarks.visible.filter(Boolean).length;
    expect(await page.$eval('#lm-legend', (e) => e.textContent)).to.contain(`${nVis} visible`).and.contain(`${68 - nVis} hidden`);
    expect(await page.$$eval('svg.lm-overlay', (s) => s.length)).to.equal(overlays.length);
    expect(await a11yProblems(page)).to.deep.equal([]);
    await shot('sample-overlays.png', true);
    // Off again: hidden, legend too.
    await page.click('#overlay-seg');
    await page.click('#overlay-lm');
    expect(await page.$$eval('canvas.seg-overlay', (cs) => cs.every((c) => (c as HTMLElement).hidden && getComputedStyle(c).display === 'none'))).to.equal(true);
    expect(await page.$$eval('svg.lm-overlay', (ss) => ss.every((s) => getComputedStyle(s).display === 'none'))).to.equal(true);
    expect(await page.$eval('#seg-legend', (e) => (e as HTMLElement).hidden)).to.equal(true);

    // Sample C: no segmentation, no landmarks: the toggles are disabled and say why.
    await page.click('#overlay-seg'); // on again: the choice carries to the next sample where it can
    await page.evaluate((ds) => (location.hash = `#/datasets/${ds}/000002`), TAGS);
    await page.waitForFunction(() => /^Sample 000002/.test(document.querySelector('h1')?.textContent ?? ''));
    await page.waitForSelector('main[data-loaded="true"]', { timeout: 60_000 });
    expect(await page.$eval('#overlay-seg', (e) => [(e as HTMLInputElement).disabled, (e as HTMLInputElement).checked])).to.deep.equal([true, false]);
    expect(await page.$eval('#overlay-lm', (e) => (e as HTMLInputElement).disabled)).to.equal(true);
    expect(await page.$eval('#overlay-seg-note', (e) => e.textContent)).to.match(/no segmentation/);
    expect(await page.$eval('#overlay-lm-note', (e) => e.textContent)).to.match(/no landmarks/);
    expect(await page.$$eval('canvas.seg-overlay, svg.lm-overlay', (c) => c.length)).to.equal(0);
    expect(await a11yProblems(page)).to.deep.equal([]);
    // Back to B: the segmentation overlay left on comes back by itself.
    await page.evaluate((ds) => (location.hash = `#/datasets/${ds}/000001`), TAGS);
    await page.waitForFunction(() => /^Sample 000001/.test(document.querySelector('h1')?.textContent ?? ''));
    await page.waitForFunction(() => ((window.__dash?.overlay as { segShown?: number } | undefined)?.segShown ?? 0) > 0, { timeout: 30_000 });
    await page.evaluate(() => sessionStorage.removeItem('dash-overlays'));
  });

  it('a 100-sample grid paints fast (cold thumbnails, then cached)', async () => {
    const src = path.join(outputRoot, DS);
    const dst = path.join(outputRoot, 'grid100');
    for (let i = 0; i < 100; i++) cloneSample(path.join(src, 'samples', String(i % 4).padStart(6, '0')), path.join(dst, 'samples', String(i).padStart(6, '0')), i);
    const batch = JSON.parse(fs.readFileSync(path.join(src, 'batch.json'), 'utf8'));
    batch.config.samples = 100;
    batch.config.name = 'grid100';
    fs.writeFileSync(path.join(dst, 'batch.json'), JSON.stringify(batch));
    const paint = async () => {
      await page.goto(`${base}/#/datasets`, { waitUntil: 'load' });
      await page.waitForSelector('table.datasets');
      const before = await page.evaluate(() => window.__dash?.gridAt ?? 0);
      await page.evaluate(() => (location.hash = '#/datasets/grid100'));
      await page.waitForFunction((t) => (window.__dash?.gridAt ?? 0) > t, { timeout: 60_000 }, before);
      return page.evaluate(() => ({ paint: window.__dash!.gridPaintMs!, dom: window.__dash!.gridDomMs!, thumbs: window.__dash!.gridThumbs!, failed: window.__dash!.gridFailed! }));
    };
    const cold = await paint();
    expect(cold.thumbs).to.equal(100);
    expect(cold.failed).to.equal(0);
    const warm: number[] = [];
    for (let k = 0; k < 3; k++) warm.push((await paint()).paint);
    await shot('grid100.png');
    const decoded = await page.$$eval('#sample-grid img', (is) => is.filter((i) => (i as HTMLImageElement).naturalWidth > 0).length);
    expect(decoded).to.equal(100);
    // Thumbnails of a linear pass (EXR decode + tonemap + resize per sample, 100 at once).
    const before = await page.evaluate(() => window.__dash?.gridAt ?? 0);
    await page.evaluate(() => (location.hash = '#/datasets/grid100?pass=normal_camera&key=target_k'));
    await page.waitForFunction((t) => (window.__dash?.gridAt ?? 0) > t, { timeout: 60_000 }, before);
    const passGrid = await page.evaluate(() => ({ paint: window.__dash!.gridPaintMs!, failed: window.__dash!.gridFailed! }));
    expect(passGrid.failed).to.equal(0);
    expect(await page.$$eval('#sample-grid img', (is) => is.filter((i) => (i as HTMLImageElement).naturalWidth > 0).length)).to.equal(100);
    await shot('grid100-normals.png');
    report.grid100 = { coldPaintMs: Math.round(cold.paint), coldDomMs: Math.round(cold.dom), warmPaintMs: warm.map(Math.round), coldNormalCameraThumbsPaintMs: Math.round(passGrid.paint) };
    expect(median(warm), `warm 100-sample grid paint times ${warm.map(Math.round).join(', ')} ms`).to.be.below(1000);
  });

  it('pages 100,000 samples from manifest.jsonl', async () => {
    const dir = path.join(outputRoot, 'big');
    fs.mkdirSync(path.join(dir, 'samples'), { recursive: true });
    for (let i = 0; i < 100; i++) {
      const id = String(i).padStart(6, '0');
      fs.symlinkSync(path.join(outputRoot, 'grid100', 'samples', id), path.join(dir, 'samples', id));
    }
    const batch = JSON.parse(fs.readFileSync(path.join(outputRoot, DS, 'batch.json'), 'utf8'));
    batch.config.samples = 100_000;
    batch.config.name = 'big';
    fs.writeFileSync(path.join(dir, 'batch.json'), JSON.stringify(batch));
    const maps = ['builtin:studio', 'builtin:city', 'builtin:sunset', 'builtin:forest'];
    const lines: string[] = [];
    for (let i = 0; i < 100_000; i++) {
      const env = (k: number) => ({ map: maps[(i + k) % 4], rotationDeg: (i * 37) % 360, intensity: 1, weight: 1 });
      lines.push(
        JSON.stringify({
          sampleVersion: 1,
          index: i,
          id: String(i).padStart(6, '0'),
          seed: 11,
          head: { ref: i % 10 === 0 ? 'heads/other' : 'procedural', id: 'x' },
          lightings: [
            { key: 'input_i', passes: ['beauty', 'albedo', 'normal', 'diffuse', 'specular', 'depth', 'mask', 'preview'], lighting: { environment: [env(0)], pointLights: [] } },
            { key: 'input_j', passes: ['beauty', 'diffuse', 'specular', 'preview'], lighting: { environment: [env(0), env(1)], pointLights: [] } },
            { key: 'target_k', passes: ['beauty', 'diffuse', 'specular', 'preview'], lighting: { environment: [env(0), env(1), env(2)], pointLights: [] } },
          ],
        }),
      );
    }
    fs.writeFileSync(path.join(dir, 'manifest.jsonl'), lines.join('\n') + '\n');
    const mb = fs.statSync(path.join(dir, 'manifest.jsonl')).size / 2 ** 20;
    const time = async (url: string) => {
      const t0 = performance.now();
      const r = await fetch(base + url);
      const j = await r.json();
      return { ms: performance.now() - t0, status: r.status, j };
    };
    const first = await time('/api/datasets/big');
    expect(first.status).to.equal(200);
    expect(first.j.total).to.equal(100_000);
    expect(first.j.index.source).to.equal('manifest');
    const again = await time('/api/datasets/big');
    const last = await time('/api/datasets/big/samples?offset=99900&limit=100');
    expect(last.j.items).to.have.length(100);
    expect(last.j.items[99].id).to.equal('099999');
    const filtered = await time('/api/datasets/big/samples?head=heads%2Fother&env=builtin%3Aforest&limit=100&offset=2000');
    let want = 0;
    for (let i = 0; i < 100_000; i += 10) if ([0, 1, 2].some((k) => maps[(i + k) % 4] === 'builtin:forest')) want++;
    expect(filtered.j.total).to.equal(want);
    expect(filtered.j.items[0].head).to.equal('heads/other');
    const filtered2 = await time('/api/datasets/big/samples?head=heads%2Fother&env=builtin%3Aforest&limit=100&offset=2100');
    // The UI on the last page: DOM time (those thumbnails do not exist: only the first 100 folders do).
    const before = await page.evaluate(() => window.__dash?.gridAt ?? 0);
    await page.evaluate(() => (location.hash = '#/datasets/big?offset=99900'));
    await page.waitForFunction((t) => (window.__dash?.gridAt ?? 0) > t, { timeout: 60_000 }, before);
    const lastPage = await page.evaluate(() => ({ dom: window.__dash!.gridDomMs!, failed: window.__dash!.gridFailed! }));
    expect(await page.$eval('#grid-count', (e) => e.textContent)).to.contain('99901–100000 of 100000');
    // A restarted server reads the index persisted under .cache/index instead of the manifest.
    const t1 = performance.now();
    const reloaded = await new DatasetIndexes(outputRoot).get('big');
    const reloadMs = performance.now() - t1;
    expect(reloaded!.sorted.length).to.equal(100_000);
    expect(reloaded!.sorted[99_999].id).to.equal('099999');
    expect(fs.existsSync(path.join(outputRoot, '.cache', 'index', 'big.json'))).to.equal(true);
    // The persisted index keeps the identity and skin-tone fields (no skin draws in these lines).
    expect(applyFilter(reloaded!, { skin: 'unknown' }).length).to.equal(100_000);
    expect(applyFilter(reloaded!, { skin: 'dark' }).length).to.equal(0);
    expect(applyFilter(reloaded!, { identity: 'x', head: 'heads/other' }).length).to.equal(10_000);
    report.big = {
      restartIndexLoadMs: Math.round(reloadMs),
      manifestMiB: Math.round(mb),
      indexBuildMs: first.j.index.buildMs,
      firstRequestMs: Math.round(first.ms),
      cachedInfoMs: Math.round(again.ms),
      lastPageMs: Math.round(last.ms),
      filteredMs: Math.round(filtered.ms),
      filteredCachedMs: Math.round(filtered2.ms),
      lastPageDomMs: Math.round(lastPage.dom),
    };
    expect(again.ms).to.be.below(500);
    expect(last.ms).to.be.below(500);
  });

  it('unknown ids and traversal paths give 404 JSON, never a file outside the output root', async () => {
    const secret = 'TOP-SECRET-OUTSIDE-THE-ROOT';
    fs.writeFileSync(path.join(tmp, 'secret.txt'), secret);
    // A sample folder that is a symlink to a folder outside the root (with a valid-looking sample.json).
    const outside = path.join(tmp, 'outside-sample');
    cloneSample(path.join(outputRoot, DS, 'samples', '000000'), outside, 7);
    fs.writeFileSync(path.join(outside, 'input_i', 'secret.exr'), secret);
    fs.symlinkSync(outside, path.join(outputRoot, DS, 'samples', '000777'));
    fs.symlinkSync(path.join(tmp, 'secret.txt'), path.join(outputRoot, 'linked.vlsolat'));
    // A sample whose sample.json names a lighting key that tries to leave its folder.
    const evil = path.join(outputRoot, DS, 'samples', '000888');
    cloneSample(path.join(outputRoot, DS, 'samples', '000000'), evil, 888);
    const evilJson = JSON.parse(fs.readFileSync(path.join(evil, 'sample.json'), 'utf8'));
    evilJson.lightings[0].key = evilJson.lightings[0].folder = '../../../../../evil';
    fs.writeFileSync(path.join(evil, 'sample.json'), JSON.stringify(evilJson));
    const urls = [
      '/api/datasets/nope',
      '/api/datasets/nope/samples',
      '/api/datasets/..%2F..%2Fetc/samples',
      '/api/datasets/%2E%2E/samples',
      '/api/datasets/.jobs',
      '/api/datasets/.cache/samples',
      `/api/datasets/${DS}/samples/999999`,
      `/api/datasets/${DS}/samples/12`,
      `/api/datasets/${DS}/samples/000777`,
      `/api/datasets/${DS}/samples/000777/input_i/beauty.f16`,
      `/api/datasets/${DS}/samples/000777/thumb`,
      `/api/datasets/${DS}/samples/..%2F..%2F..%2Fsecret.txt`,
      `/api/datasets/${DS}/samples/000000/..%2F..%2F..%2F..%2Fsecret.txt/beauty.f16`,
      `/api/datasets/${DS}/samples/000000/input_i/..%2F..%2F..%2F..%2F..%2Fsecret.f16`,
      `/api/datasets/${DS}/samples/000000/input_i/%2E%2E%252F%2E%2E%252Fsecret.f16`,
      `/api/datasets/${DS}/samples/000000/input_j/albedo.f16`,
      `/api/datasets/${DS}/samples/000000/input_i/meta.f16`,
      `/api/datasets/${DS}/samples/000000/input_i/sample.png`,
      `/api/datasets/${DS}/samples/000000/nokey/beauty.f16`,
      `/api/datasets/${DS}/samples/000000/input_i/beauty.exr`,
      `/api/datasets/${DS}/samples/000000/thumb?key=..%2F..%2F..&pass=beauty`,
      `/api/datasets/${DS}/samples/000000/thumb?pass=..%2Fsecret`,
      `/api/datasets/${DS}/samples/000000/thumb?size=4096`,
      `/api/datasets/${DS}/samples/000000/target_k/env.f16?width=7`,
      `/api/datasets/${DS}/samples/000888/thumb`,
      `/api/datasets/${DS}/samples/000888/thumb?pass=albedo`,
      `/api/datasets/${DS}/samples/000888/..%2F..%2F..%2F..%2F..%2Fevil/beauty.f16`,
      '/api/olat/nope',
      '/api/olat/linked.vlsolat',
      '/api/olat/..%2Fsecret.txt',
      '/api/olat/olat%2F..%2F..%2Fsecret.txt/relight',
      '/api/olat/%2Fetc%2Fpasswd/images/0.png',
      '/api/envmaps/preview.png?map=%2Fetc%2Fpasswd',
      '/api/envmaps/preview.png?map=..%2Fsecret.txt',
      '/api/envmaps/preview.png?map=builtin:..%2F..%2Fx',
      '/files/output/..%2Fsecret.txt',
      '/files/output/.cache/thumbs',
      '/src/main.ts',
      '/..%2F..%2Fsecret.txt',
    ];
    for (const u of urls) {
      const r = await fetch(base + u);
      const body = await r.text();
      expect(r.status, u).to.equal(404);
      expect(r.headers.get('content-type') ?? '', u).to.contain('application/json');
      expect(JSON.parse(body).error, u).to.be.a('string');
      expect(body, u).to.not.contain(secret);
    }
    // Nothing was written outside the output root, and the listing never shows the linked-out sample.
    const strays: string[] = [];
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        if (/evil/.test(e.name)) strays.push(path.join(d, e.name));
        if (e.isDirectory()) walk(path.join(d, e.name));
      }
    };
    walk(tmp);
    expect(strays).to.deep.equal([]);
    const page1 = (await (await fetch(`${base}/api/datasets/${DS}/samples`)).json()) as { items: { id: string }[] };
    expect(page1.items.map((i) => i.id)).to.deep.equal(['000000', '000001', '000002', '000003', '000888']);
    // The sample view of the bad sample shows no lighting with the bad key (its other lightings still show).
    const bad = (await (await fetch(`${base}/api/datasets/${DS}/samples/000888`)).json()) as { lightings: { key: string }[] };
    expect(bad.lightings.map((l) => l.key)).to.deep.equal(['input_j', 'target_k']);
    // And the UI shows a 404 page, not a crash, for an unknown sample.
    await page.goto(`${base}/#/datasets/${DS}/424242`, { waitUntil: 'load' });
    await page.waitForFunction(() => document.querySelector('h1')?.textContent === 'Not found');
  });

  describe('light stage (OLAT)', () => {
    const STACK = 'olat/e2e32.olat';
    before(async () => {
      const [{ captureStack }, { writeStack }, { makeRig }] = await Promise.all([import('../renderer/pipelines/olat/capture.js'), import('../renderer/pipelines/olat/stack-io.js'), import('../renderer/core/rig.js')]);
      const r = await Renderer.launch();
      try {
        const t0 = performance.now();
        const stack = await captureStack(r, { rig: makeRig('fibonacci:32'), width: 96, height: 96, shadowMapSize: 256 });
        writeStack(path.join(outputRoot, STACK), stack);
        report.olatCaptureMs = Math.round(performance.now() - t0);
      } finally {
        await r.close();
      }
    });

    it('lists the stack; a click shows that light; rotating the map relights the face live', async () => {
      const list = (await (await fetch(`${base}/api/olat`)).json()) as { stacks: { id: string; lights: number }[] };
      expect(list.stacks.map((s) => s.id)).to.deep.equal([STACK]);
      expect(list.stacks[0].lights).to.equal(32);
      await page.goto(`${base}/#/stage`, { waitUntil: 'load' });
      await page.waitForSelector(`a[href="#/stage/${encodeURIComponent(STACK)}"]`);
      await page.click(`a[href="#/stage/${encodeURIComponent(STACK)}"]`);
      await page.waitForFunction(() => Number((document.getElementById('relit') as HTMLImageElement | null)?.dataset.frames ?? 0) >= 1, { timeout: 60_000 });
      expect(await page.$$eval('#rig-sphere circle.light', (c) => c.length)).to.equal(32);
      expect(await a11yProblems(page)).to.deep.equal([]);

      // Click light 5: its image loads.
      await page.click('#rig-sphere circle.light[data-index="5"]');
      await page.waitForFunction(() => {
        const i = document.getElementById('light-img') as HTMLImageElement;
        return i.dataset.light === '5' && i.complete && i.naturalWidth > 0 && /\/images\/5\.png/.test(i.src);
      });
      expect(await page.$eval('#rig-sphere circle.light[data-index="5"]', (c) => c.getAttribute('aria-checked'))).to.equal('true');
      // Keyboard: the selected light is the group's tab stop; ArrowRight picks the next one.
      await page.keyboard.press('ArrowRight');
      await page.waitForFunction(() => (document.getElementById('light-img') as HTMLImageElement).dataset.light === '6');
      expect(await page.evaluate(() => document.activeElement?.getAttribute('data-index'))).to.equal('6');

      // Waits for the frame for `deg` (a frame count past `after`) to be loaded, then reads its pixels.
      const frames = () => page.$eval('#relit', (img) => Number((img as HTMLImageElement).dataset.frames ?? 0));
      const pixelsOfFrame = async (deg: number, after: number) => {
        await page.waitForFunction(
          (d, n) => {
            const i = document.getElementById('relit') as HTMLImageElement;
            return i.dataset.rotation === String(d) && Number(i.dataset.frames ?? 0) > n && i.complete && i.naturalWidth > 0;
          },
          { timeout: 30_000 },
          deg,
          after,
        );
        return pixels();
      };
      const pixels = () =>
        page.$eval('#relit', (img) => {
          const i = img as HTMLImageElement;
          const c = document.createElement('canvas');
          c.width = i.naturalWidth;
          c.height = i.naturalHeight;
          const g = c.getContext('2d')!;
          g.drawImage(i, 0, 0);
          return Array.from(g.getImageData(0, 0, c.width, c.height).data);
        });
      const setRotation = (deg: number) =>
        page.$eval(
          '#relight-rotation',
          (el, v) => {
            (el as HTMLInputElement).value = String(v);
            el.dispatchEvent(new Event('input', { bubbles: true }));
          },
          deg,
        );
      let n = await frames();
      await setRotation(0);
      const p0 = await pixelsOfFrame(0, n);
      await shot('stage-rot0.png');
      const t0 = performance.now();
      n = await frames();
      await setRotation(180);
      const p180 = await pixelsOfFrame(180, n);
      const rotateMs = performance.now() - t0;
      await shot('stage-rot180.png');
      expect(p0.length).to.equal(96 * 96 * 4);
      let diff = 0;
      let lit = 0;
      for (let k = 0; k < p0.length; k += 4) {
        const d = Math.abs(p0[k] - p180[k]) + Math.abs(p0[k + 1] - p180[k + 1]) + Math.abs(p0[k + 2] - p180[k + 2]);
        diff += d;
        if (p0[k] + p0[k + 1] + p0[k + 2] > 0) lit++;
      }
      expect(lit, 'the relit head is visible').to.be.greaterThan(500);
      const meanDiff = diff / lit / 3;
      expect(meanDiff, 'rotating the map by 180 degrees changes the relit image').to.be.greaterThan(3);
      report.stage = { rotateToNewFrameMs: Math.round(rotateMs), meanAbsDiff8bit: Number(meanDiff.toFixed(1)), serverRelightMs: await page.$eval('#relit-cap', (e) => e.textContent) };
    });
  });
});

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
 * output root. Screenshots go to output/test-artifacts/dashboard/.
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
import { DatasetIndexes } from '../server/dataset-index.js';
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

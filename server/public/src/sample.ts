// One sample: every pass side by side, tonemapped in canvases from the raw half floats (the
// exposure slider only rebuilds a 65536-entry table and redraws: no request), the lightings'
// environment maps with their 16x16 encodings and point lights, camera, seed and provenance.
import { h, s as svg, kv, fmtNum, announce, typingTarget } from './dom.js';
import { getJson, getHalf, getF32, type SampleDetail, type PointLightJson, type HalfImageResponse } from './api.js';
import { hrefOf, focusHeading, type ViewContext } from './nav.js';
import { displayLut, passNameOfFile, positiveRange, toRgba, type DisplayKind } from '../../../renderer/core/display.js';
import { LIGHTING_INDEPENDENT_PASSES } from '../../../renderer/core/passes.js';
import { fromHalf, floatsToHalf, halfsToFloat } from '../../../renderer/core/half.js';
import { autoExposure as meterExposure } from '../../../renderer/core/color.js';
import { uvFromDir } from '../../../renderer/core/latlong.js';

interface Shown {
  canvas: HTMLCanvasElement;
  kind: DisplayKind;
  img: HalfImageResponse | null;
  /** which exposure group redraws it */
  group: 'pass' | 'env' | 'fixed';
  range?: [number, number];
}

/** Pass files that change with the lighting (shown per lighting); the rest are stored once (renderer/core/passes.ts). */
const isLit = (file: string): boolean => !LIGHTING_INDEPENDENT_PASSES.includes(passNameOfFile(file));

function vec(v: unknown, d = 3): string {
  return Array.isArray(v) ? `[${v.map((x) => fmtNum(Number(x), d)).join(', ')}]` : '–';
}

function matrix(m: unknown, d = 4): HTMLElement {
  if (!Array.isArray(m)) return h('span', null, '–');
  return h('table', { class: 'matrix' }, h('tbody', null, ...(m as number[][]).map((row) => h('tr', null, ...row.map((x) => h('td', null, fmtNum(x, d)))))));
}

function rgbCss(c: number[]): string {
  const m = Math.max(c[0], c[1], c[2], 1e-6);
  const f = (x: number) => Math.round(255 * Math.pow(Math.max(0, x / m), 1 / 2.2));
  return `rgb(${f(c[0])}, ${f(c[1])}, ${f(c[2])})`;
}

export async function renderSample(ctx: ViewContext, ds: string, id: string): Promise<void> {
  const q = ctx.route.query;
  const filters = Object.fromEntries(['head', 'env', 'pass', 'key'].map((k) => [k, q.get(k) ?? '']));
  const apiBase = `/api/datasets/${encodeURIComponent(ds)}/samples/${encodeURIComponent(id)}`;
  const nq = new URLSearchParams(Object.entries(filters).filter(([k, v]) => v && k !== 'key'));
  const d = await getJson<SampleDetail>(`${apiBase}?${nq}`);
  if (!ctx.alive()) return;
  document.title = `Sample ${d.id} of ${ds} — light stage dashboard`;
  const { main } = ctx;
  const shown: Shown[] = [];
  const abort = new AbortController();
  ctx.onLeave(() => abort.abort());
  const initialExposure = Number(q.get('exposure') ?? 0) || 0;

  // ---- toolbar: navigation and exposure
  const gridHref = hrefOf(['datasets', ds], filters);
  const navLink = (label: string, target: string | null, rel: string, keyHint: string) =>
    target ? h('a', { class: 'button', rel, href: hrefOf(['datasets', ds, target], filters), 'aria-keyshortcuts': keyHint }, label) : h('span', { class: 'button disabled', 'aria-disabled': 'true' }, label);
  const exposure = h('input', { type: 'range', id: 'exposure', min: -8, max: 8, step: 0.1, value: initialExposure, 'aria-describedby': 'exposure-help' });
  const exposureOut = h('output', { for: 'exposure', id: 'exposure-value' }, `${initialExposure >= 0 ? '+' : ''}${initialExposure.toFixed(1)} EV`);
  const envExposure = h('input', { type: 'range', id: 'env-exposure', min: -8, max: 8, step: 0.1, value: 0 });
  const envExposureOut = h('output', { for: 'env-exposure' }, '+0.0 EV');
  const readout = h('span', { class: 'readout muted small', id: 'pixel-readout', 'aria-live': 'off' }, 'Hover an image for linear pixel values.');
  const toolbar = h(
    'div',
    { class: 'toolbar', role: 'toolbar', 'aria-label': 'Sample navigation and display' },
    navLink('← Previous', d.nav.prev, 'prev', 'ArrowLeft'),
    navLink('Next →', d.nav.next, 'next', 'ArrowRight'),
    h('a', { class: 'button', href: gridHref, 'aria-keyshortcuts': 'Escape' }, 'Back to grid'),
    h('div', { class: 'field inline' }, h('label', { for: 'exposure' }, 'Exposure'), exposure, exposureOut),
    h('button', { type: 'button', id: 'exposure-auto', onClick: () => autoExposure() }, 'Auto'),
    h('button', { type: 'button', onClick: () => setExposure(0) }, '0 EV'),
    h('div', { class: 'field inline' }, h('label', { for: 'env-exposure' }, 'Env maps'), envExposure, envExposureOut),
  );

  // ---- drawing
  let passLut: Uint8Array | null = null;
  let envLut: Uint8Array | null = null;
  const fixedLuts = new Map<string, Uint8Array>();
  // Radiance tables by exposure (the slider has 161 stops; 64 KiB each), so dragging back and forth is free.
  const radianceLuts = new Map<string, Uint8Array>();
  const radianceLut = (e: number) => {
    const k = e.toFixed(2);
    let l = radianceLuts.get(k);
    if (!l) {
      if (radianceLuts.size > 64) radianceLuts.clear();
      radianceLuts.set(k, (l = displayLut('radiance', e)));
    }
    return l;
  };
  const lutFor = (sh: Shown): Uint8Array => {
    if (sh.group === 'pass') return (passLut ??= radianceLut(Number(exposure.value)));
    if (sh.group === 'env') return (envLut ??= radianceLut(Number(envExposure.value)));
    if (sh.kind === 'depth') return displayLut('depth', 0, sh.range);
    const k = sh.kind;
    let l = fixedLuts.get(k);
    if (!l) fixedLuts.set(k, (l = displayLut(k, 0)));
    return l;
  };
  const draw = (sh: Shown) => {
    if (!sh.img) return;
    const { width, height, channels, data } = sh.img;
    if (sh.canvas.width !== width || sh.canvas.height !== height) {
      sh.canvas.width = width;
      sh.canvas.height = height;
    }
    const c2d = sh.canvas.getContext('2d');
    if (!c2d) return;
    c2d.putImageData(new ImageData(toRgba(data, channels, lutFor(sh), sh.kind), width, height), 0, 0);
    sh.canvas.dataset.drawn = String(Number(sh.canvas.dataset.drawn ?? 0) + 1);
  };
  let pending: { pass: boolean; env: boolean } = { pass: false, env: false };
  let raf = 0;
  const schedule = (group: 'pass' | 'env') => {
    pending[group] = true;
    if (raf) return;
    raf = requestAnimationFrame(() => {
      raf = 0;
      const t0 = performance.now();
      if (pending.pass) passLut = null;
      if (pending.env) envLut = null;
      for (const sh of shown) if ((sh.group === 'pass' && pending.pass) || (sh.group === 'env' && pending.env)) draw(sh);
      pending = { pass: false, env: false };
      window.__dash = { ...(window.__dash ?? {}), exposureRedrawMs: performance.now() - t0 };
    });
  };
  const setExposure = (e: number) => {
    exposure.value = String(e);
    exposureOut.textContent = `${e >= 0 ? '+' : ''}${e.toFixed(1)} EV`;
    for (const sh of shown) if (sh.group === 'pass') sh.canvas.setAttribute('aria-label', labelFor(sh.canvas, e));
    schedule('pass');
  };
  const labelFor = (c: HTMLCanvasElement, e: number) => `${c.dataset.label}${c.dataset.group === 'pass' ? `, tonemapped at ${e >= 0 ? '+' : ''}${e.toFixed(1)} EV` : ''}`;
  exposure.addEventListener('input', () => setExposure(Number(exposure.value)));
  envExposure.addEventListener('input', () => {
    const e = Number(envExposure.value);
    envExposureOut.textContent = `${e >= 0 ? '+' : ''}${e.toFixed(1)} EV`;
    schedule('env');
  });

  /** Stops that bring the first lighting's beauty to 18% mean luminance on the head (as preview.png's auto). */
  const autoExposure = () => {
    const b = shown.find((sh) => sh.canvas.dataset.pass === 'beauty' && sh.img);
    if (!b?.img) return;
    const { data, channels } = b.img;
    // Premultiplied RGBA: alpha >= 0.5 is metered, luminance divided by alpha.
    const e = meterExposure(halfsToFloat(data), null, { stride: channels, unpremultiply: true });
    setExposure(Math.round(e * 10) / 10);
    announce(`Exposure ${e.toFixed(1)} EV`);
  };

  const hover = (sh: Shown, label: string) => (ev: MouseEvent) => {
    if (!sh.img) return;
    const r = sh.canvas.getBoundingClientRect();
    const x = Math.floor(((ev.clientX - r.left) / r.width) * sh.img.width);
    const y = Math.floor(((ev.clientY - r.top) / r.height) * sh.img.height);
    if (x < 0 || y < 0 || x >= sh.img.width || y >= sh.img.height) return;
    const o = (y * sh.img.width + x) * sh.img.channels;
    const vals = Array.from(sh.img.data.subarray(o, o + sh.img.channels), (v) => fmtNum(fromHalf(v), 4));
    readout.textContent = `${label} (${x}, ${y}): ${vals.join('  ')}`;
  };

  /** A canvas figure for a half-float route. */
  const figure = (label: string, url: string, kind: DisplayKind, group: Shown['group'], passName: string, download?: string, cls = '') => {
    const canvas = h('canvas', { role: 'img', width: 1, height: 1, class: 'pass', 'data-label': label, 'data-group': group, 'data-pass': passName, 'aria-label': `${label} (loading)` });
    const sh: Shown = { canvas, kind, img: null, group };
    shown.push(sh);
    canvas.addEventListener('mousemove', hover(sh, label));
    const fig = h('figure', { class: `pass-fig ${cls}`, 'aria-busy': 'true' }, canvas, h('figcaption', null, label, download ? h('a', { href: download, class: 'dl', download: '', 'aria-label': `Download ${label} (raw file)` }, '⤓') : null));
    loads.push(async () => {
      try {
        const img = await getHalf(url, abort.signal);
        sh.img = img;
        if (kind === 'depth') sh.range = positiveRange(img.data, img.channels);
        draw(sh);
        canvas.setAttribute('aria-label', labelFor(canvas, Number(exposure.value)));
      } catch (err) {
        if (abort.signal.aborted) return;
        fig.classList.add('failed');
        canvas.setAttribute('aria-label', `${label}: could not be loaded (${(err as Error).message})`);
      } finally {
        fig.removeAttribute('aria-busy');
      }
    });
    return fig;
  };
  const loads: (() => Promise<void>)[] = [];
  const rawUrl = (file: string) => `/files/output/${encodeURIComponent(ds)}/samples/${encodeURIComponent(d.id)}/${file.split('/').map(encodeURIComponent).join('/')}`;

  // ---- passes
  const passesSection = h('section', { 'aria-labelledby': 'passes-h', class: 'panel' }, h('h2', { id: 'passes-h' }, 'Passes'));
  for (const L of d.lightings) {
    const row = h('div', { class: 'pass-row' });
    for (const p of L.passes.filter((p) => isLit(p.name))) {
      row.append(figure(`${L.key} ${p.label.toLowerCase()}`, `${apiBase}/${encodeURIComponent(L.key)}/${p.name}.f16`, p.kind as DisplayKind, 'pass', p.name, rawUrl(p.file)));
    }
    if (L.hasPreview) {
      const img = h('img', { src: `${apiBase}/${encodeURIComponent(L.key)}/preview.png`, alt: `${L.key} preview (tonemapped sRGB as stored in preview.png)`, class: 'pass', decoding: 'async' });
      row.append(h('figure', { class: 'pass-fig' }, img, h('figcaption', null, `${L.key} preview.png`, h('a', { href: rawUrl(`${L.key}/preview.png`), class: 'dl', download: '', 'aria-label': `Download ${L.key} preview.png` }, '⤓'))));
    }
    passesSection.append(h('h3', null, L.key, L.role ? h('span', { class: 'muted small' }, ` — ${L.role}`) : null), row);
  }
  const intrinsics = d.lightings.flatMap((L) => L.passes.filter((p) => !isLit(p.name)).map((p) => ({ L, p })));
  if (intrinsics.length) {
    const row = h('div', { class: 'pass-row' });
    for (const { L, p } of intrinsics) {
      const kind = p.kind as DisplayKind;
      const note = kind === 'albedo' ? ' (sRGB)' : kind === 'normal' ? ' ((n+1)/2)' : kind === 'depth' ? ' (near = bright)' : '';
      row.append(figure(`${p.label}${note}`, `${apiBase}/${encodeURIComponent(L.key)}/${p.name}.f16`, kind, 'fixed', p.name, rawUrl(p.file)));
    }
    passesSection.append(h('h3', null, 'Lighting-independent', h('span', { class: 'muted small' }, ` — ${LIGHTING_INDEPENDENT_PASSES.join(', ')} (stored with the first lighting)`)), row);
  }
  passesSection.append(readout);

  // ---- lighting
  const lightSection = h('section', { 'aria-labelledby': 'lighting-h', class: 'panel' }, h('h2', { id: 'lighting-h' }, 'Lighting'));
  for (const L of d.lightings) {
    const env = L.lighting?.environment ?? [];
    const pls = L.lighting?.pointLights ?? [];
    const envFig = figure(`${L.key} environment (layers summed, 256×128 lat-long)`, `${apiBase}/${encodeURIComponent(L.key)}/env.f16?width=256`, 'radiance', 'env', 'env', undefined, 'env');
    const encFig = h('figure', { class: 'pass-fig env' });
    if (L.hasEnv16) {
      const canvas = h('canvas', { role: 'img', width: 16, height: 16, class: 'pass enc', 'data-label': `${L.key} 16×16 encoding`, 'data-group': 'env', 'data-pass': 'env16', 'aria-label': `${L.key} 16×16 lighting encoding (loading)` });
      const sh: Shown = { canvas, kind: 'radiance', img: null, group: 'env' };
      shown.push(sh);
      canvas.addEventListener('mousemove', hover(sh, `${L.key} env16`));
      encFig.append(canvas, h('figcaption', null, `${L.key} env_latlong16.f32 (16×16, incl. point lights)`, h('a', { href: rawUrl(`${L.key}/env_latlong16.f32`), class: 'dl', download: '', 'aria-label': `Download ${L.key} env_latlong16.f32` }, '⤓')));
      loads.push(async () => {
        try {
          const f = await getF32(`${apiBase}/${encodeURIComponent(L.key)}/env16.f32`, abort.signal);
          sh.img = { width: 16, height: 16, channels: 3, kind: 'radiance', data: floatsToHalf(f) };
          draw(sh);
          canvas.setAttribute('aria-label', `${L.key} 16×16 lighting encoding`);
        } catch {
          if (!abort.signal.aborted) canvas.setAttribute('aria-label', `${L.key} 16×16 encoding could not be loaded`);
        }
      });
    }
    // Point lights over both maps.
    for (const fig of [envFig, encFig]) {
      const overlay = svg('svg', { class: 'overlay', viewBox: '0 0 1 0.5', preserveAspectRatio: 'none', 'aria-hidden': 'true' });
      for (const [n, p] of pls.entries()) {
        const c = p.normalized?.headCentre ?? [0, 0, 0];
        const dir: [number, number, number] = [p.position[0] - c[0], p.position[1] - c[1], p.position[2] - c[2]];
        const [u, v] = uvFromDir(...dir);
        overlay.append(svg('circle', { cx: u, cy: v / 2, r: 0.012, class: 'pl-marker', style: `fill:${rgbCss(p.color)}` }), svg('text', { x: u + 0.015, y: v / 2 + 0.01, class: 'pl-label' }, String(n + 1)));
      }
      const first = fig.firstChild;
      if (!first) continue;
      const wrap = h('div', { class: 'overlay-wrap' });
      fig.insertBefore(wrap, first);
      wrap.append(first, overlay);
    }
    const axis = h('div', { class: 'axis muted small', 'aria-hidden': 'true' }, h('span', null, '−Z behind'), h('span', null, '−X'), h('span', null, '+Z front'), h('span', null, '+X'), h('span', null, '−Z'));
    const layers = h(
      'table',
      { class: 'small' },
      h('caption', null, `${L.key}: environment layers`),
      h('thead', null, h('tr', null, ...['Map', 'Rotation', 'Intensity', 'Weight'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', null, ...env.map((e) => h('tr', null, h('td', null, e.map), h('td', null, `${fmtNum(e.rotationDeg, 1)}°`), h('td', null, fmtNum(e.intensity)), h('td', null, fmtNum(e.weight))))),
    );
    const lights = pls.length
      ? h(
          'table',
          { class: 'small' },
          h('caption', null, `${L.key}: point lights`),
          h('thead', null, h('tr', null, ...['#', 'Position (m)', 'Distance (head radii)', 'Colour', 'Intensity', 'Normalised intensity'].map((t) => h('th', { scope: 'col' }, t)))),
          h(
            'tbody',
            null,
            ...pls.map((p: PointLightJson, n) =>
              h('tr', null, h('td', null, String(n + 1)), h('td', null, vec(p.position)), h('td', null, fmtNum(p.normalized?.distance ?? NaN, 2)), h('td', null, h('span', { class: 'swatch', style: `background:${rgbCss(p.color)}`, 'aria-hidden': 'true' }), ` ${vec(p.color, 2)}`), h('td', null, fmtNum(p.intensity, 4)), h('td', null, fmtNum(p.normalized?.intensity ?? NaN, 2))),
            ),
          ),
        )
      : h('p', { class: 'muted small' }, `${L.key}: no point lights`);
    lightSection.append(
      h('h3', null, L.key, L.role ? h('span', { class: 'muted small' }, ` — ${L.role}`) : null),
      h('div', { class: 'env-row' }, h('div', null, envFig, axis), encFig),
      h('div', { class: 'tables' }, layers, lights),
    );
    if (L.sh9) lightSection.append(h('details', { class: 'small' }, h('summary', null, `${L.key}: SH9 coefficients (27 floats)`), h('code', { class: 'mono' }, L.sh9.map((x) => fmtNum(x, 4)).join(', '))));
  }
  const draws = d.draws as { b1?: number; b2?: number } | null;
  if (draws && (draws.b1 !== undefined || draws.b2 !== undefined)) lightSection.append(kv([['b1 (temporal mix)', fmtNum(draws.b1 ?? NaN, 4)], ['b2 (target mix)', fmtNum(draws.b2 ?? NaN, 4)]], 'Lighting draws'));

  // ---- camera
  const cam = (d.camera ?? {}) as Record<string, unknown>;
  const drawn = (cam.drawn ?? {}) as Record<string, unknown>;
  const aug = (d.augment ?? {}) as { applied?: boolean; scale?: number; box?: { x: number; y: number; w: number; h: number } };
  const cameraSection = h(
    'section',
    { 'aria-labelledby': 'camera-h', class: 'panel' },
    h('h2', { id: 'camera-h' }, 'Camera'),
    h(
      'div',
      { class: 'tables' },
      kv(
        [
          ['Yaw / pitch / roll', `${fmtNum(Number(drawn.yawDeg), 2)}° / ${fmtNum(Number(drawn.pitchDeg), 2)}° / ${fmtNum(Number(drawn.rollDeg), 2)}°`],
          ['Distance', `${fmtNum(Number(drawn.distance), 4)} m`],
          ['Vertical FOV', `${fmtNum(Number(cam.fovYDeg), 3)}°`],
          ['Image', `${cam.width ?? '?'}×${cam.height ?? '?'} px`],
          ['Position (world, m)', vec(cam.position, 4)],
          ['Target', vec(cam.target, 4)],
          ['Up', vec(cam.up, 4)],
          ['Crop augmentation', aug.applied ? `scale ${fmtNum(aug.scale ?? NaN, 3)}, box ${aug.box ? `${aug.box.x},${aug.box.y} ${aug.box.w}×${aug.box.h}` : '?'}` : 'none'],
        ],
        'Camera parameters',
      ),
      h('div', null, h('h3', null, 'K (OpenCV, pixels)'), matrix(cam.K, 3)),
      h('div', null, h('h3', null, 'World → camera (OpenCV)'), matrix(cam.worldToCameraCV)),
      h('div', null, h('h3', null, 'Camera → world (OpenGL)'), matrix(cam.cameraToWorldGL)),
    ),
  );

  // ---- provenance
  const headInfo = (d.head ?? {}) as Record<string, unknown>;
  const run = (d.run ?? {}) as Record<string, unknown>;
  const renderer = (d.lightings[0]?.meta?.renderer ?? {}) as Record<string, unknown>;
  const prov = d.provenance;
  const provSection = h(
    'section',
    { 'aria-labelledby': 'prov-h', class: 'panel' },
    h('h2', { id: 'prov-h' }, 'Seed and provenance'),
    h(
      'div',
      { class: 'tables' },
      kv(
        [
          ['Sample', `${d.id} (index ${d.index})`],
          ['Dataset seed', String(d.seed ?? '–')],
          ['Dataset format', `${String(prov.formatVersion ?? '–')}${prov.formatNote ? ` (${String(prov.formatNote)})` : ''}`],
          ['Config content hash', h('code', { class: 'mono' }, String(prov.configContentHash ?? '–'))],
          ['Config file', String(prov.configFile ?? '–')],
          ['Generator', String(prov.generator ?? '–')],
          ['Head', `${headInfo.name ?? headInfo.ref ?? '?'} (${headInfo.ref ?? ''})`],
          ['Head content hash', h('code', { class: 'mono' }, String(headInfo.contentHash ?? '–'))],
          ['Head licence', String(headInfo.license ?? '–')],
          ['Attribution', String(headInfo.attribution ?? '–')],
        ],
        'Sample provenance',
      ),
      kv(
        [
          ['Backend', `${renderer.backend ?? '?'} (${renderer.backendReason ?? ''})`],
          ['WebGL renderer', String(renderer.webglRenderer ?? '–')],
          ['Chromium / Babylon', `${renderer.chromium ?? '?'} / ${renderer.babylon ?? '?'}`],
          ['Package / Node', `${renderer.package ?? '?'} / ${renderer.node ?? '?'}`],
          ['Worker / attempt / repairs', `${run.worker ?? '?'} / ${run.attempt ?? '?'} / ${run.repairs ?? 0}`],
          ['Render times', Object.entries((run.timingsMs ?? {}) as Record<string, number>).map(([k, v]) => `${k} ${v} ms`).join(', ') || '–'],
          ['Written', String(run.createdAt ?? '–')],
          ['Render options', JSON.stringify(d.lightings[0]?.meta?.render ?? {})],
        ],
        'Renderer provenance',
      ),
    ),
    h('details', null, h('summary', null, `Files (${d.files.length})`), h('ul', { class: 'files mono small' }, ...d.files.map((f) => h('li', null, h('a', { href: rawUrl(f) }, f))))),
  );

  main.append(
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/datasets' }, 'Datasets'), ' › ', h('a', { href: gridHref }, ds), ' › ', h('span', { 'aria-current': 'page' }, `sample ${d.id}`)),
    h('h1', null, `Sample ${d.id}`, h('span', { class: 'muted small' }, ` — index ${d.index}, seed ${d.seed ?? '?'}${d.nav.position !== null && d.nav.total ? `, ${d.nav.position + 1} of ${d.nav.total}` : ''}`)),
    toolbar,
    h('p', { id: 'exposure-help', class: 'muted small' }, 'Linear passes (beauty, diffuse, specular) are shown ×2^EV, ACES filmic, sRGB — the same curve as preview.png. Albedo is sRGB-encoded, normals (n+1)/2, depth near = bright. Keys: ← → previous/next sample, Esc back to the grid.'),
    passesSection,
    lightSection,
    cameraSection,
    provSection,
  );
  focusHeading(main);

  const onKey = (e: KeyboardEvent) => {
    if (typingTarget(e) || e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.key === 'ArrowLeft' && d.nav.prev) location.hash = hrefOf(['datasets', ds, d.nav.prev], filters);
    else if (e.key === 'ArrowRight' && d.nav.next) location.hash = hrefOf(['datasets', ds, d.nav.next], filters);
    else if (e.key === 'Escape') location.hash = gridHref;
    else return;
    e.preventDefault();
  };
  document.addEventListener('keydown', onKey);
  ctx.onLeave(() => document.removeEventListener('keydown', onKey));

  // Load: a few at a time (the server decodes EXRs; the machine may be rendering).
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < loads.length && !abort.signal.aborted) await loads[next++]();
    }),
  );
  if (!ctx.alive()) return;
  main.dataset.loaded = 'true';
  window.__dash = { ...(window.__dash ?? {}), sampleLoadMs: performance.now() - t0, sampleImages: shown.length };
}

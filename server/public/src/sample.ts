// One sample: every pass side by side, tonemapped in canvases from the raw half floats (the
// exposure slider only rebuilds a 65536-entry table and redraws: no request), the lightings'
// environment maps with their 16x16 encodings and point lights, camera, seed and provenance.
// Two overlays over every pass image, pixel-aligned (same pixel grid, nearest-neighbour scaling):
// the segmentation (segmentation.png's ids in the label table's colours, with a legend of the
// classes present) and the 68 landmarks (visible filled, hidden hollow).
import { h, s as svg, kv, fmtNum, announce, typingTarget } from './dom.js';
import { getJson, getHalf, getF32, getU8, type SampleDetail, type PointLightJson, type HalfImageResponse, type SegmentationLabelJson, type LandmarksJson } from './api.js';
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

/** A pass image that carries the overlays: its wrapper, the image, and the overlays once made. */
interface OverlayTarget {
  wrap: HTMLElement;
  base: HTMLCanvasElement | HTMLImageElement;
  label: string;
  seg: HTMLCanvasElement | null;
  lm: SVGSVGElement | null;
}

/** The label map decoded and coloured: ids, an RGBA image (alpha 0 on background) and the classes present. */
interface SegState {
  width: number;
  height: number;
  ids: Uint8Array;
  rgba: ImageData;
  present: { id: number; label: SegmentationLabelJson | null; pixels: number }[];
  byId: Map<number, SegmentationLabelJson>;
}

const OVERLAY_KEY = 'dash-overlays';
const UNKNOWN_LABEL_RGB: [number, number, number] = [255, 0, 255];

function loadOverlayPrefs(): { seg: boolean; lm: boolean; opacity: number } {
  try {
    const j = JSON.parse(sessionStorage.getItem(OVERLAY_KEY) ?? '{}') as { seg?: unknown; lm?: unknown; opacity?: unknown };
    const o = Number(j.opacity);
    return { seg: j.seg === true, lm: j.lm === true, opacity: Number.isFinite(o) && o >= 0.05 && o <= 1 ? o : 0.5 };
  } catch {
    return { seg: false, lm: false, opacity: 0.5 };
  }
}

/** Colours a label map: each id its table colour, opaque; background (0) transparent; unknown ids magenta. */
function colourLabels(width: number, height: number, ids: Uint8Array, labels: SegmentationLabelJson[]): SegState {
  const byId = new Map(labels.map((l) => [l.id, l]));
  const lut = new Uint8Array(256 * 4);
  for (let id = 1; id < 256; id++) {
    const c = byId.get(id)?.color ?? UNKNOWN_LABEL_RGB;
    lut.set([c[0], c[1], c[2], 255], id * 4);
  }
  const counts = new Uint32Array(256);
  const rgba = new ImageData(width, height);
  const px = rgba.data;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    counts[id]++;
    const o = id * 4;
    px[i * 4] = lut[o];
    px[i * 4 + 1] = lut[o + 1];
    px[i * 4 + 2] = lut[o + 2];
    px[i * 4 + 3] = lut[o + 3];
  }
  const present: SegState['present'] = [];
  for (let id = 1; id < 256; id++) if (counts[id]) present.push({ id, label: byId.get(id) ?? null, pixels: counts[id] });
  return { width, height, ids, rgba, present, byId };
}

/** Width and height of a pass image once it has loaded (null before). */
function imageSize(el: HTMLCanvasElement | HTMLImageElement): [number, number] | null {
  if (el instanceof HTMLImageElement) return el.naturalWidth > 0 ? [el.naturalWidth, el.naturalHeight] : null;
  return el.dataset.drawn ? [el.width, el.height] : null;
}

/** A share as a percentage ('<0.1%' for a few pixels). */
function pct(f: number): string {
  return f > 0 && f < 0.001 ? '<0.1%' : `${fmtNum(100 * f, 1)}%`;
}

/** An sRGB colour given as 0..255 integers. */
function rgb255Css(c: readonly number[]): string {
  return `rgb(${c[0] | 0}, ${c[1] | 0}, ${c[2] | 0})`;
}

function rgbCss(c: number[]): string {
  const m = Math.max(c[0], c[1], c[2], 1e-6);
  const f = (x: number) => Math.round(255 * Math.pow(Math.max(0, x / m), 1 / 2.2));
  return `rgb(${f(c[0])}, ${f(c[1])}, ${f(c[2])})`;
}

export async function renderSample(ctx: ViewContext, ds: string, id: string): Promise<void> {
  const q = ctx.route.query;
  const filters = Object.fromEntries(['head', 'identity', 'skin', 'env', 'pass', 'key'].map((k) => [k, q.get(k) ?? '']));
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

  // ---- overlays: segmentation and landmarks over every pass image (made when first shown)
  const segInfo = d.segmentation ?? null;
  const lmInfo: LandmarksJson | null = d.landmarks && Array.isArray(d.landmarks.points) && d.landmarks.points.length ? d.landmarks : null;
  const frame = d.camera as { width?: unknown; height?: unknown } | null;
  const frameW = Number(frame?.width) || 0;
  const frameH = Number(frame?.height) || 0;
  const prefs = loadOverlayPrefs();
  const overlayTargets: OverlayTarget[] = [];
  let segState: SegState | null = null;
  let segLoading: Promise<void> | null = null;
  let segError: string | null = null;
  const savePrefs = () => {
    try {
      sessionStorage.setItem(OVERLAY_KEY, JSON.stringify({ seg: segToggle.checked, lm: lmToggle.checked, opacity: Number(segOpacity.value) }));
    } catch {
      /* storage off: the toggles just do not persist */
    }
  };
  const segToggle = h('input', { type: 'checkbox', id: 'overlay-seg', checked: !!segInfo && prefs.seg, disabled: !segInfo, 'aria-describedby': 'overlay-seg-note', 'aria-controls': 'seg-legend' });
  const segNote = h('span', { id: 'overlay-seg-note', class: 'muted small' }, segInfo ? '' : '(no segmentation.png in this sample)');
  const segOpacity = h('input', { type: 'range', id: 'seg-opacity', min: 0.1, max: 1, step: 0.05, value: prefs.opacity, disabled: !segInfo });
  const lmToggle = h('input', { type: 'checkbox', id: 'overlay-lm', checked: !!lmInfo && prefs.lm, disabled: !lmInfo, 'aria-describedby': 'overlay-lm-note' });
  const lmNote = h('span', { id: 'overlay-lm-note', class: 'muted small' }, lmInfo ? '' : '(this head has no landmarks)');
  const overlayControls = h(
    'div',
    { class: 'overlay-controls', role: 'group', 'aria-label': 'Overlays' },
    h('div', { class: 'field inline' }, segToggle, h('label', { for: 'overlay-seg' }, 'Segmentation'), segNote),
    h('div', { class: 'field inline' }, h('label', { for: 'seg-opacity' }, 'Opacity'), segOpacity),
    h('div', { class: 'field inline' }, lmToggle, h('label', { for: 'overlay-lm' }, 'Landmarks'), lmNote),
  );
  const segLegend = h('div', { id: 'seg-legend', class: 'seg-legend small', hidden: true, 'aria-live': 'polite' });
  const lmLegend = h('p', { id: 'lm-legend', class: 'lm-legend small', hidden: true });

  /** Wraps a pass image so the overlays can sit on it, at the same size. */
  const overlayable = (base: HTMLCanvasElement | HTMLImageElement, label: string): HTMLElement => {
    const wrap = h('div', { class: 'overlay-wrap pass-overlay' }, base);
    overlayTargets.push({ wrap, base, label, seg: null, lm: null });
    return wrap;
  };

  const loadSeg = (): Promise<void> => {
    if (!segInfo) return Promise.resolve();
    segLoading ??= (async () => {
      segNote.textContent = '(loading…)';
      try {
        const img = await getU8(`${apiBase}/${encodeURIComponent(segInfo.key)}/segmentation.u8`, abort.signal);
        segState = colourLabels(img.width, img.height, img.data, segInfo.labels);
        segNote.textContent = '';
      } catch (err) {
        if (abort.signal.aborted) return;
        segError = (err as Error).message;
        segNote.textContent = `(could not be loaded: ${segError})`;
      }
    })();
    return segLoading;
  };

  const renderSegLegend = (st: SegState) => {
    const covered = st.present.reduce((a, p) => a + p.pixels, 0);
    const total = st.width * st.height;
    segLegend.replaceChildren(
      h('h3', null, 'Segmentation classes', h('span', { class: 'muted small' }, ` — ${st.present.length} present, ${pct(covered / total)} of the pixels labelled; background (0) not drawn; label table from ${segInfo?.labelsSource ?? '?'}`)),
      st.present.length
        ? h(
            'ul',
            { class: 'legend-list' },
            ...st.present.map((p) =>
              h(
                'li',
                { 'data-label-id': p.id },
                h('span', { class: 'swatch', style: `background:${rgb255Css(p.label?.color ?? UNKNOWN_LABEL_RGB)}`, 'aria-hidden': 'true' }),
                ` ${p.label ? p.label.name : `id ${p.id} (not in the label table)`}`,
                h('span', { class: 'muted' }, ` ${p.id} · ${pct(p.pixels / total)}`),
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'No labelled pixels (all background).'),
    );
  };

  const renderLmLegend = (lm: LandmarksJson) => {
    const vis = lm.visible.filter(Boolean).length;
    lmLegend.replaceChildren(
      h('span', { class: 'lm-key vis', 'aria-hidden': 'true' }),
      ` ${vis} visible`,
      ' ',
      h('span', { class: 'lm-key hid', 'aria-hidden': 'true' }),
      ` ${lm.points.length - vis} hidden`,
      h('span', { class: 'muted' }, ` — ${lm.points.length} landmarks (${lm.convention}), ${lm.depthTested ? `hidden: outside the frame or behind the head (depth-pass test, tolerance ${fmtNum(lm.visibilityToleranceM * 1000, 1)} mm)` : 'hidden: outside the frame (no depth pass to test against)'}`),
    );
  };

  const landmarkSvg = (lm: LandmarksJson, w: number, h2: number): SVGSVGElement => {
    const el = svg('svg', { class: 'overlay lm-overlay', viewBox: `0 0 ${w} ${h2}`, preserveAspectRatio: 'none', 'aria-hidden': 'true' });
    const r = Math.max(0.6, Math.max(w, h2) / 110);
    for (const [i, p] of lm.points.entries()) {
      if (!Array.isArray(p) || !Number.isFinite(p[0]) || !Number.isFinite(p[1])) continue;
      el.append(svg('circle', { cx: p[0], cy: p[1], r, class: lm.visible[i] ? 'lm vis' : 'lm hid', 'data-index': i }));
    }
    return el;
  };

  /** Shows or hides the overlays on every pass image; makes them on first use. */
  const refreshOverlays = () => {
    const wantSeg = segToggle.checked && !!segState;
    const wantLm = lmToggle.checked && !!lmInfo;
    let segShown = 0;
    let lmShown = 0;
    for (const t of overlayTargets) {
      const size = imageSize(t.base);
      // Only where the image has the label map's pixel grid (all passes of a sample do).
      const segFits = !!segState && (!size || (size[0] === segState.width && size[1] === segState.height));
      if (wantSeg && segState && segFits) {
        if (!t.seg) {
          t.seg = h('canvas', { class: 'seg-overlay', role: 'img', 'aria-label': `Segmentation labels over ${t.label}`, width: segState.width, height: segState.height });
          const g = t.seg.getContext('2d');
          if (g) {
            g.putImageData(segState.rgba, 0, 0);
            t.seg.dataset.drawn = '1';
          }
          t.wrap.append(t.seg);
        }
        t.seg.style.opacity = String(Number(segOpacity.value));
        t.seg.hidden = false;
        segShown++;
      } else if (t.seg) t.seg.hidden = true;
      const lmW = size?.[0] ?? frameW;
      const lmH = size?.[1] ?? frameH;
      const lmFits = !!lmInfo && lmW > 0 && lmH > 0 && (!frameW || (lmW === frameW && lmH === frameH));
      if (wantLm && lmInfo && lmFits) {
        if (!t.lm) {
          t.lm = landmarkSvg(lmInfo, lmW, lmH);
          t.wrap.append(t.lm);
        }
        t.lm.style.display = '';
        lmShown++;
      } else if (t.lm) t.lm.style.display = 'none';
    }
    segLegend.hidden = !wantSeg;
    lmLegend.hidden = !wantLm;
    window.__dash = {
      ...(window.__dash ?? {}),
      overlay: {
        seg: wantSeg,
        segShown,
        segClasses: segState ? segState.present.map((p) => p.label?.name ?? `id ${p.id}`) : [],
        segError,
        lm: wantLm,
        lmShown,
        lmVisible: lmInfo ? lmInfo.visible.filter(Boolean).length : 0,
      },
    };
  };

  segToggle.addEventListener('change', async () => {
    savePrefs();
    if (segToggle.checked) {
      await loadSeg();
      if (!ctx.alive()) return;
      if (segState) renderSegLegend(segState);
    }
    refreshOverlays();
    announce(segToggle.checked ? (segState ? `Segmentation overlay on: ${segState.present.length} classes` : 'Segmentation could not be loaded') : 'Segmentation overlay off');
  });
  segOpacity.addEventListener('input', () => {
    for (const t of overlayTargets) if (t.seg) t.seg.style.opacity = String(Number(segOpacity.value));
    savePrefs();
  });
  lmToggle.addEventListener('change', () => {
    savePrefs();
    if (lmToggle.checked && lmInfo) renderLmLegend(lmInfo);
    refreshOverlays();
    announce(lmToggle.checked ? 'Landmarks shown' : 'Landmarks hidden');
  });

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
    overlayControls,
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
    let cls = '';
    if (segState && segState.width === sh.img.width && segState.height === sh.img.height) {
      const id = segState.ids[y * segState.width + x];
      cls = `  · label ${id} ${segState.byId.get(id)?.name ?? '(not in the label table)'}`;
    }
    readout.textContent = `${label} (${x}, ${y}): ${vals.join('  ')}${cls}`;
  };

  /** A canvas figure for a half-float route. */
  const figure = (label: string, url: string, kind: DisplayKind, group: Shown['group'], passName: string, download?: string, cls = '') => {
    const canvas = h('canvas', { role: 'img', width: 1, height: 1, class: 'pass', 'data-label': label, 'data-group': group, 'data-pass': passName, 'aria-label': `${label} (loading)` });
    const sh: Shown = { canvas, kind, img: null, group };
    shown.push(sh);
    canvas.addEventListener('mousemove', hover(sh, label));
    const media = group === 'env' ? canvas : overlayable(canvas, label);
    const fig = h('figure', { class: `pass-fig ${cls}`, 'aria-busy': 'true' }, media, h('figcaption', null, label, download ? h('a', { href: download, class: 'dl', download: '', 'aria-label': `Download ${label} (raw file)` }, '⤓') : null));
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
        refreshOverlays();
      }
    });
    return fig;
  };
  const loads: (() => Promise<void>)[] = [];
  const rawUrl = (file: string) => `/files/output/${encodeURIComponent(ds)}/samples/${encodeURIComponent(d.id)}/${file.split('/').map(encodeURIComponent).join('/')}`;

  // ---- passes
  const passesSection = h('section', { 'aria-labelledby': 'passes-h', class: 'panel' }, h('h2', { id: 'passes-h' }, 'Passes'), segLegend, lmLegend);
  for (const L of d.lightings) {
    const row = h('div', { class: 'pass-row' });
    for (const p of L.passes.filter((p) => isLit(p.name))) {
      row.append(figure(`${L.key} ${p.label.toLowerCase()}`, `${apiBase}/${encodeURIComponent(L.key)}/${p.name}.f16`, p.kind as DisplayKind, 'pass', p.name, rawUrl(p.file)));
    }
    if (L.hasPreview) {
      const img = h('img', { src: `${apiBase}/${encodeURIComponent(L.key)}/preview.png`, alt: `${L.key} preview (tonemapped sRGB as stored in preview.png)`, class: 'pass', decoding: 'async' });
      img.addEventListener('load', () => refreshOverlays(), { once: true });
      row.append(h('figure', { class: 'pass-fig' }, overlayable(img, `${L.key} preview`), h('figcaption', null, `${L.key} preview.png`, h('a', { href: rawUrl(`${L.key}/preview.png`), class: 'dl', download: '', 'aria-label': `Download ${L.key} preview.png` }, '⤓'))));
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
          ['Identity (head id)', h('code', { class: 'mono' }, String(d.identity ?? headInfo.id ?? '–'))],
          ['Skin tone', d.skinTone && d.skinTone.ita !== null ? `${d.skinTone.bin} (ITA ${fmtNum(d.skinTone.ita, 1)}° of the drawn cheek albedo)` : 'unknown (no skin draw recorded)'],
          ['Landmarks', lmInfo ? `${lmInfo.points.length} (${lmInfo.convention}), ${lmInfo.visible.filter(Boolean).length} visible` : 'none'],
          ['Segmentation', segInfo ? h('a', { href: rawUrl(segInfo.file) }, segInfo.file) : 'none'],
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

  // Overlays left on in this tab (sessionStorage) come back on the next sample.
  if (lmToggle.checked && lmInfo) renderLmLegend(lmInfo);
  if (segToggle.checked) {
    void loadSeg().then(() => {
      if (!ctx.alive()) return;
      if (segState) renderSegLegend(segState);
      refreshOverlays();
    });
  }
  refreshOverlays();

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

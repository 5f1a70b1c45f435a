// Datasets and a dataset's sample grid: filters (head, identity, skin tone, environment map, pass,
// lighting), pages of
// cached thumbnails (the server pages the index: 100,000 samples cost one page of DOM), keyboard
// navigation (arrows, Home/End, PageUp/PageDown, Enter opens).
import { h, clear, fmtNum } from './dom.js';
import { getJson, type DatasetInfo, type DatasetListItem, type SamplePage, type SampleItem } from './api.js';
import { hrefOf, focusHeading, type ViewContext } from './nav.js';

declare global {
  interface Window {
    /** Measurements the tests read (performance marks are also recorded). */
    __dash?: { gridPaintMs?: number; gridDomMs?: number; gridThumbs?: number; gridFailed?: number; gridAt?: number; [k: string]: unknown };
  }
}

export async function renderDatasets(ctx: ViewContext): Promise<void> {
  document.title = 'Datasets — light stage dashboard';
  const r = await getJson<{ datasets: DatasetListItem[] }>('/api/datasets');
  if (!ctx.alive()) return;
  const { main } = ctx;
  main.append(h('h1', null, 'Datasets'));
  if (r.datasets.length === 0) {
    main.append(h('p', { class: 'muted' }, 'No datasets under the output root yet.'));
  } else {
    main.append(
      h(
        'table',
        { class: 'datasets' },
        h('caption', { class: 'sr-only' }, 'Datasets under the output root'),
        h('thead', null, h('tr', null, ...['Dataset', 'Samples', 'State', 'Size', 'Description'].map((t) => h('th', { scope: 'col' }, t)))),
        h(
          'tbody',
          null,
          ...r.datasets.map((d) =>
            h(
              'tr',
              null,
              h('th', { scope: 'row' }, h('a', { href: hrefOf(['datasets', d.name]) }, d.name)),
              h('td', null, String(d.samples)),
              h('td', null, d.complete ? 'complete' : h('span', { class: 'muted' }, 'in progress / partial')),
              h('td', null, d.width ? `${d.width}×${d.height}` : '–'),
              h('td', null, d.description ?? ''),
            ),
          ),
        ),
      ),
    );
  }
  focusHeading(main);
}

const PAGE_SIZES = [50, 100, 200];

/** Identity facets up to this many are a select; more (a dataset of drawn heads has one per sample) a text field with suggestions. */
const MAX_IDENTITY_OPTIONS = 200;

function skinToneText(s: SampleItem): string {
  if (!s.skinTone || s.skinTone === 'unknown') return '';
  return `; skin tone ${s.skinTone}${typeof s.ita === 'number' ? ` (ITA ${s.ita.toFixed(1)}°)` : ''}`;
}

function tileLabel(s: SampleItem): string {
  return `Sample ${s.id}: head ${s.head}; maps ${s.envs.map((e) => e.replace(/^builtin:/, '')).join(', ') || 'none'}${s.identity && s.identity !== s.head ? `; identity ${s.identity}` : ''}${skinToneText(s)}`;
}

/** "light, ITA 41–55°" for a skin-tone bin. */
function binLabel(value: string, range: [number | null, number | null] | null): string {
  if (!range) return value === 'unknown' ? 'unknown (no skin draw)' : value;
  const [lo, hi] = range;
  const deg = (x: number) => `${x < 0 ? '−' : ''}${Math.abs(x)}°`;
  if (lo === null && hi !== null) return `${value}, ITA < ${deg(hi)}`;
  if (hi === null && lo !== null) return `${value}, ITA ≥ ${deg(lo)}`;
  return `${value}, ITA ${deg(lo ?? 0)} – ${deg(hi ?? 0)}`;
}

export async function renderGrid(ctx: ViewContext, ds: string): Promise<void> {
  performance.clearMarks('grid:start');
  performance.mark('grid:start');
  const t0 = performance.now();
  const q = ctx.route.query;
  const limit = PAGE_SIZES.includes(Number(q.get('limit'))) ? Number(q.get('limit')) : 100;
  const offset = Math.max(0, Math.floor(Number(q.get('offset') ?? 0)) || 0);
  const head = q.get('head') ?? '';
  const env = q.get('env') ?? '';
  const pass = q.get('pass') ?? '';
  const key = q.get('key') ?? '';
  const identity = q.get('identity') ?? '';
  const skin = q.get('skin') ?? '';
  const filters = { head, env, pass, identity, skin };
  const api = `/api/datasets/${encodeURIComponent(ds)}`;
  const qs = new URLSearchParams({ offset: String(offset), limit: String(limit), ...Object.fromEntries(Object.entries(filters).filter(([, v]) => v)) });
  const [info, page] = await Promise.all([getJson<DatasetInfo>(api), getJson<SamplePage>(`${api}/samples?${qs}`)]);
  if (!ctx.alive()) return;
  document.title = `${ds} — light stage dashboard`;
  const { main } = ctx;
  const state = { offset, limit, head, env, pass, key, identity, skin };
  const go = (patch: Partial<typeof state>, refocus?: string) => {
    const next = { ...state, ...patch };
    if (refocus) sessionStorage.setItem('dash-refocus', refocus);
    location.hash = hrefOf(['datasets', ds], stateQuery(next));
  };

  // Filters
  const select = (id: string, label: string, value: string, options: { value: string; label: string }[], onChange: (v: string) => void) => {
    const sel = h('select', { id, name: id });
    for (const o of options) sel.append(h('option', { value: o.value, selected: o.value === value }, o.label));
    sel.addEventListener('change', () => onChange(sel.value));
    return h('div', { class: 'field' }, h('label', { for: id }, label), sel);
  };
  const f = info.facets;
  const passChoices = [{ value: '', label: 'preview (all samples)' }, ...info.passFiles.map((p) => ({ value: p, label: p }))];
  const keys = f.lightingKeys;
  // Identity (head id): a select, or a text field with suggestions when there are many.
  const ids = f.identities ?? [];
  const idTotal = f.identitiesTotal ?? ids.length;
  let identityField: HTMLElement;
  if (idTotal <= MAX_IDENTITY_OPTIONS) {
    const opts = [{ value: '', label: `all identities (${idTotal})` }, ...ids.map((x) => ({ value: x.value, label: `${x.value} (${x.count})` }))];
    if (identity && !ids.some((x) => x.value === identity)) opts.push({ value: identity, label: `${identity} (0)` });
    identityField = select('f-identity', 'Identity', identity, opts, (v) => go({ identity: v, offset: 0 }, 'f-identity'));
  } else {
    const input = h('input', { type: 'search', id: 'f-identity', name: 'f-identity', list: 'f-identity-list', value: identity, placeholder: `all ${idTotal} identities`, spellcheck: 'false', autocomplete: 'off', class: 'identity-input' });
    const apply = () => {
      const v = input.value.trim();
      if (v !== identity) go({ identity: v, offset: 0 }, 'f-identity');
    };
    input.addEventListener('change', apply);
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') apply();
    });
    identityField = h('div', { class: 'field' }, h('label', { for: 'f-identity' }, 'Identity (head id)'), input, h('datalist', { id: 'f-identity-list' }, ...ids.map((x) => h('option', { value: x.value }, `${x.count} sample${x.count === 1 ? '' : 's'}`))));
  }
  // Skin tone: the ITA bins of the dataset card, then unknown (heads whose skin was not drawn).
  const tones = f.skinTones ?? [];
  const skinSel = h('select', { id: 'f-skin', name: 'f-skin' });
  skinSel.append(h('option', { value: '', selected: !skin }, 'all skin tones'));
  for (const t of tones) skinSel.append(h('option', { value: t.value, selected: t.value === skin, disabled: t.count === 0 && t.value !== skin }, `${binLabel(t.value, t.range)} (${t.count})`));
  if (skin && !tones.some((t) => t.value === skin)) skinSel.append(h('option', { value: skin, selected: true }, `${skin} (0)`));
  skinSel.addEventListener('change', () => go({ skin: skinSel.value, offset: 0 }, 'f-skin'));
  const skinField = h('div', { class: 'field' }, h('label', { for: 'f-skin' }, 'Skin tone (ITA)'), skinSel);
  const filterForm = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filter samples', onSubmit: (e: Event) => e.preventDefault() },
    select('f-head', 'Head', head, [{ value: '', label: `all heads (${f.heads.length})` }, ...f.heads.map((x) => ({ value: x.value, label: `${x.value} (${x.count})` }))], (v) => go({ head: v, offset: 0 }, 'f-head')),
    identityField,
    skinField,
    select('f-env', 'Environment map', env, [{ value: '', label: `all maps (${f.envs.length})` }, ...f.envs.map((x) => ({ value: x.value, label: `${x.value} (${x.count})` }))], (v) => go({ env: v, offset: 0 }, 'f-env')),
    select('f-pass', 'Pass', pass, passChoices, (v) => go({ pass: v, offset: 0 }, 'f-pass')),
    select('f-key', 'Lighting', key, [{ value: '', label: keys[0] ? `${keys[0]} (first)` : 'first' }, ...keys.slice(1).map((k) => ({ value: k, label: k }))], (v) => go({ key: v }, 'f-key')),
    select('f-limit', 'Per page', String(limit), PAGE_SIZES.map((n) => ({ value: String(n), label: String(n) })), (v) => go({ limit: Number(v), offset: 0 }, 'f-limit')),
  );

  // Pager
  const pages = Math.max(1, Math.ceil(page.total / limit));
  const current = Math.floor(page.offset / limit) + 1;
  const pageInput = h('input', { type: 'number', id: 'page-input', min: 1, max: pages, value: current, inputmode: 'numeric', class: 'page-input' });
  pageInput.addEventListener('change', () => {
    const p = Math.max(1, Math.min(pages, Math.floor(Number(pageInput.value)) || 1));
    go({ offset: (p - 1) * limit }, 'page-input');
  });
  const link = (label: string, target: number | null, rel: string) =>
    target === null ? h('span', { class: 'button disabled', 'aria-disabled': 'true' }, label) : h('a', { class: 'button', rel, href: hrefOf(['datasets', ds], { ...stateQuery({ ...state, offset: target }) }) }, label);
  const pager = h(
    'nav',
    { class: 'pager', 'aria-label': 'Pages' },
    link('← Previous', current > 1 ? page.offset - limit : null, 'prev'),
    h('label', { for: 'page-input' }, 'Page '),
    pageInput,
    h('span', null, ` of ${pages}`),
    link('Next →', current < pages ? page.offset + limit : null, 'next'),
    h('span', { class: 'muted', id: 'grid-count', role: 'status' }, page.total ? `samples ${page.offset + 1}–${Math.min(page.total, page.offset + limit)} of ${page.total}${page.total !== page.datasetTotal ? ` (filtered from ${page.datasetTotal})` : ''}` : 'no samples match'),
  );

  // Tiles
  const size = 128;
  const thumbPass = pass && pass !== 'preview' ? pass : '';
  const list = h('ul', { class: 'grid', id: 'sample-grid', 'aria-label': `Samples of ${ds}` });
  const imgs: HTMLImageElement[] = [];
  for (const s of page.items) {
    const tq = new URLSearchParams({ size: String(size) });
    const k = key && s.keys.includes(key) ? key : '';
    if (k) tq.set('key', k);
    if (thumbPass) tq.set('pass', thumbPass);
    const img = h('img', { src: `${api}/samples/${encodeURIComponent(s.id)}/thumb?${tq}`, width: size, height: size, alt: tileLabel(s), decoding: 'async' });
    img.addEventListener('error', () => img.closest('li')?.classList.add('missing'), { once: true });
    imgs.push(img);
    list.append(
      h(
        'li',
        null,
        h(
          'a',
          { class: 'tile', href: hrefOf(['datasets', ds, s.id], { head, env, pass, key, identity, skin }), 'data-id': s.id, 'data-skin': s.skinTone ?? '', 'data-identity': s.identity ?? '' },
          img,
          h(
            'span',
            { class: 'cap', 'aria-hidden': 'true' },
            s.id,
            s.skinTone && s.skinTone !== 'unknown' ? h('span', { class: `tone-dot tone-${s.skinTone.replace(/\s+/g, '-')}`, title: `${s.skinTone}${typeof s.ita === 'number' ? `, ITA ${s.ita.toFixed(1)}°` : ''}` }) : null,
            h('span', { class: 'muted' }, ` · ${s.envs.map((e) => e.replace(/^builtin:/, '')).join('+')}`),
          ),
        ),
      ),
    );
  }
  list.addEventListener('keydown', (e) => gridKeys(e, list, { prev: current > 1 ? () => go({ offset: page.offset - limit }, 'grid-last') : null, next: current < pages ? () => go({ offset: page.offset + limit }, 'grid-first') : null }));

  const paint = h('span', { class: 'muted small', id: 'grid-paint', 'aria-live': 'off' });
  main.append(
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/datasets' }, 'Datasets'), ' › ', h('span', { 'aria-current': 'page' }, ds)),
    h('h1', null, ds),
    h('p', { class: 'muted' }, `${info.total} sample${info.total === 1 ? '' : 's'}${info.planned !== null && info.planned !== info.total ? ` of ${info.planned} planned` : ''}`, info.complete ? ' · complete' : ' · in progress or partial', info.config.width ? ` · ${info.config.width}×${info.config.height}` : '', ` · index from ${info.index.source}`, info.config.description ? ` · ${info.config.description}` : '', ' ', paint),
    info.format?.warning ? h('p', { class: 'error', role: 'note' }, `Dataset format: ${info.format.warning}`) : '',
    filterForm,
    pager,
    page.items.length ? list : h('p', { class: 'muted' }, 'No samples match these filters.'),
  );
  performance.mark('grid:dom');
  const domMs = performance.now() - t0;

  const refocus = sessionStorage.getItem('dash-refocus');
  sessionStorage.removeItem('dash-refocus');
  if (refocus === 'grid-first') (list.querySelector('a') as HTMLElement | null)?.focus();
  else if (refocus === 'grid-last') (list.querySelector('li:last-child a') as HTMLElement | null)?.focus();
  else if (refocus) (document.getElementById(refocus) as HTMLElement | null)?.focus();
  else focusHeading(main);

  // Paint time: every thumbnail decoded (or failed), then the frame after.
  let failed = 0;
  await Promise.all(imgs.map((img) => img.decode().catch(() => void failed++)));
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  if (!ctx.alive()) return;
  performance.mark('grid:painted');
  const m = performance.measure('grid-paint', 'grid:start', 'grid:painted');
  window.__dash = { ...(window.__dash ?? {}), gridPaintMs: m.duration, gridDomMs: domMs, gridThumbs: imgs.length, gridFailed: failed, gridAt: Date.now() };
  paint.textContent = `· ${imgs.length} thumbnails painted in ${fmtNum(m.duration, 0)} ms`;
}

function stateQuery(s: { offset: number; limit: number; head: string; env: string; pass: string; key: string; identity: string; skin: string }) {
  return { offset: s.offset || undefined, limit: s.limit !== 100 ? s.limit : undefined, head: s.head, identity: s.identity, skin: s.skin, env: s.env, pass: s.pass, key: s.key };
}

/** Arrow keys move between tiles (by rows as laid out), Home/End, PageUp/PageDown change page. */
function gridKeys(e: KeyboardEvent, list: HTMLElement, pages: { prev: (() => void) | null; next: (() => void) | null }): void {
  const tiles = [...list.querySelectorAll<HTMLAnchorElement>('a.tile')];
  const i = tiles.indexOf(document.activeElement as HTMLAnchorElement);
  if (i < 0) return;
  const top0 = tiles[0].offsetTop;
  let cols = tiles.findIndex((t) => t.offsetTop !== top0);
  if (cols <= 0) cols = tiles.length;
  let j = i;
  switch (e.key) {
    case 'ArrowRight':
      j = Math.min(tiles.length - 1, i + 1);
      break;
    case 'ArrowLeft':
      j = Math.max(0, i - 1);
      break;
    case 'ArrowDown':
      j = Math.min(tiles.length - 1, i + cols);
      break;
    case 'ArrowUp':
      j = Math.max(0, i - cols);
      break;
    case 'Home':
      j = 0;
      break;
    case 'End':
      j = tiles.length - 1;
      break;
    case 'PageDown':
      if (pages.next) {
        e.preventDefault();
        pages.next();
      }
      return;
    case 'PageUp':
      if (pages.prev) {
        e.preventDefault();
        pages.prev();
      }
      return;
    default:
      return;
  }
  e.preventDefault();
  tiles[j].focus();
}

// The dashboard: a hash-routed single page (no framework, no CDN), bundled by esbuild on the server
// (server/dashboard-bundle.ts).
//
//   #/                         jobs: live progress over SSE, submit, cancel, resume
//   #/datasets                 datasets under the output root
//   #/datasets/<ds>?...        a dataset's sample grid (filters, pages of thumbnails)
//   #/datasets/<ds>/<id>?...   one sample: every pass, lighting, camera, provenance
//   #/stage                    OLAT stacks
//   #/stage/<stack id>         the light-stage view: rig lights, one light's image, live relighting
import { h, clear } from './dom.js';
import { renderJobs, startJobStream } from './jobs.js';
import { renderDatasets, renderGrid } from './grid.js';
import { renderSample } from './sample.js';
import { renderStages, renderStage } from './stage.js';
import { parseHash, type ViewContext } from './nav.js';

let leaving: (() => void)[] = [];
let generation = 0;

function setNav(section: string): void {
  for (const a of document.querySelectorAll<HTMLAnchorElement>('nav.main-nav a')) {
    if (a.dataset.section === section) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

async function route(): Promise<void> {
  for (const f of leaving) {
    try {
      f();
    } catch {
      /* ignore */
    }
  }
  leaving = [];
  const gen = ++generation;
  const main = document.getElementById('main') as HTMLElement;
  clear(main);
  // "loaded" belongs to the view that set it (the sample view, when its images are in).
  delete main.dataset.loaded;
  const r = parseHash();
  const ctx: ViewContext = { main, route: r, onLeave: (f) => leaving.push(f), alive: () => gen === generation };
  const [section = 'jobs', a, b] = r.parts;
  setNav(section);
  try {
    if (section === 'jobs') await renderJobs(ctx);
    else if (section === 'datasets' && !a) await renderDatasets(ctx);
    else if (section === 'datasets' && a && !b) await renderGrid(ctx, a);
    else if (section === 'datasets' && a && b) await renderSample(ctx, a, b);
    else if (section === 'stage' && !a) await renderStages(ctx);
    else if (section === 'stage' && a) await renderStage(ctx, a);
    else {
      document.title = 'Not found — light stage dashboard';
      main.append(h('h1', null, 'Not found'), h('p', null, 'No such page. ', h('a', { href: '#/' }, 'Back to the jobs')));
    }
  } catch (err) {
    if (!ctx.alive()) return;
    const msg = (err as Error).message ?? String(err);
    const status = (err as { status?: number }).status;
    document.title = 'Error — light stage dashboard';
    clear(main);
    main.append(h('h1', null, status === 404 ? 'Not found' : 'Error'), h('p', { role: 'alert', class: 'error' }, msg), h('p', null, h('a', { href: '#/' }, 'Back to the jobs')));
  }
}

let started = false;
function start(): void {
  if (started) return;
  started = true;
  startJobStream();
  void route();
}
window.addEventListener('hashchange', () => void route());
if (document.readyState === 'loading') window.addEventListener('DOMContentLoaded', start);
else start();

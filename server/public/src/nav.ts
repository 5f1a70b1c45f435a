// Routing types and helpers shared by the views.

export interface Route {
  parts: string[];
  query: URLSearchParams;
}

export interface ViewContext {
  main: HTMLElement;
  route: Route;
  /** Registers a cleanup run when the view is left. */
  onLeave: (f: () => void) => void;
  /** Whether this view is still the current one (async work checks it before touching the DOM). */
  alive: () => boolean;
}

export function parseHash(): Route {
  const raw = location.hash.replace(/^#\/?/, '');
  const [p, q = ''] = raw.split('?');
  return { parts: p.split('/').filter(Boolean).map((x) => decodeURIComponent(x)), query: new URLSearchParams(q) };
}

export function hrefOf(parts: string[], query?: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const qs = q.toString();
  return '#/' + parts.map(encodeURIComponent).join('/') + (qs ? `?${qs}` : '');
}

/** Moves focus to the new page's heading (screen readers hear the change; Tab starts from there). */
export function focusHeading(main: HTMLElement): void {
  const h1 = main.querySelector('h1');
  if (h1) {
    h1.setAttribute('tabindex', '-1');
    h1.focus({ preventScroll: true });
  }
}

// The light-stage view of an OLAT stack: the rig's lights on a sphere (a radio group: click or
// arrow keys pick a light and show its image), and live image-based relighting: pick an
// environment map and rotate it; the server relights the stack (renderer/pipelines/olat/relight.ts)
// and the newest frame replaces the image (requests never pile up: one in flight, the latest
// wanted state next).
import { h, s as svg, clear, kv, fmtNum, fmtBytes, announce } from './dom.js';
import { getJson, type StackInfo, type StackListItem } from './api.js';
import { hrefOf, focusHeading, type ViewContext } from './nav.js';
import { uvFromDir } from '../../../renderer/core/latlong.js';

export async function renderStages(ctx: ViewContext): Promise<void> {
  document.title = 'Light stage — dashboard';
  const r = await getJson<{ stacks: StackListItem[] }>('/api/olat');
  if (!ctx.alive()) return;
  const { main } = ctx;
  main.append(h('h1', null, 'Light stage'));
  if (r.stacks.length === 0) {
    main.append(h('p', { class: 'muted' }, 'No OLAT stacks under the output root. Capture one (one head, one pose, every rig light alone) and it appears here.'));
  } else {
    main.append(
      h(
        'table',
        null,
        h('caption', { class: 'sr-only' }, 'OLAT stacks under the output root'),
        h('thead', null, h('tr', null, ...['Stack', 'Rig', 'Lights', 'Size', 'Head', 'File', 'Captured'].map((t) => h('th', { scope: 'col' }, t)))),
        h(
          'tbody',
          null,
          ...r.stacks.map((st) =>
            h(
              'tr',
              null,
              h('th', { scope: 'row' }, h('a', { href: hrefOf(['stage', st.id]) }, st.id)),
              h('td', null, st.rig),
              h('td', null, String(st.lights)),
              h('td', null, `${st.width}×${st.height}`),
              h('td', null, st.head ?? '–'),
              h('td', null, fmtBytes(st.bytes)),
              h('td', null, st.createdAt ? st.createdAt.slice(0, 19).replace('T', ' ') : '–'),
            ),
          ),
        ),
      ),
    );
  }
  focusHeading(main);
}

type V3 = [number, number, number];

function azEl(d: V3): { az: number; el: number } {
  return { az: (Math.atan2(d[0], d[2]) * 180) / Math.PI, el: (Math.asin(Math.max(-1, Math.min(1, d[1]))) * 180) / Math.PI };
}

export async function renderStage(ctx: ViewContext, id: string): Promise<void> {
  const api = `/api/olat/${encodeURIComponent(id)}`;
  const [info, maps] = await Promise.all([getJson<StackInfo>(api), getJson<{ maps: string[] }>('/api/envmaps')]);
  if (!ctx.alive()) return;
  document.title = `${id} — light stage`;
  const { main } = ctx;
  const lights = info.rig.lights;
  const imageOf = (i: number) => info.shots.findIndex((s) => s.length === 1 && s[0] === i);
  const q = ctx.route.query;
  let selected = Math.max(0, Math.min(lights.length - 1, Number(q.get('light') ?? 0) || 0));

  // ---- sphere
  const viewYaw = h('input', { type: 'range', id: 'view-yaw', min: -180, max: 180, step: 1, value: 20 });
  const viewPitch = h('input', { type: 'range', id: 'view-pitch', min: -89, max: 89, step: 1, value: 15 });
  const sphere = svg('svg', { viewBox: '-1.25 -1.25 2.5 2.5', class: 'sphere', role: 'radiogroup', 'aria-label': `Rig lights (${lights.length}); arrow keys choose a light`, id: 'rig-sphere' });
  const dots: SVGCircleElement[] = [];
  const radius = Math.max(0.018, Math.min(0.06, 0.5 / Math.sqrt(lights.length)));
  for (const l of lights) {
    const { az, el } = azEl(l.direction);
    const c = svg('circle', { r: radius, class: 'light', role: 'radio', tabindex: -1, 'aria-checked': 'false', 'aria-label': `Light ${l.index}: azimuth ${az.toFixed(0)}°, elevation ${el.toFixed(0)}°`, 'data-index': l.index });
    c.append(svg('title', null, `Light ${l.index} (az ${az.toFixed(0)}°, el ${el.toFixed(0)}°)`));
    c.addEventListener('click', () => select(l.index, true));
    dots.push(c);
  }
  const guides = svg('g', { class: 'guides', 'aria-hidden': 'true' });
  const headMark = svg('g', { class: 'head', 'aria-hidden': 'true' });
  const camMark = svg('g', { class: 'cam', 'aria-hidden': 'true' });
  const lightLayer = svg('g');
  sphere.append(svg('circle', { r: 1, class: 'outline', 'aria-hidden': 'true' }), guides, lightLayer, headMark, camMark);
  const camPos = (info.camera.position as number[] | undefined) ?? [0, 0, 1];
  const camLen = Math.hypot(camPos[0], camPos[1], camPos[2]) || 1;
  const camDir: V3 = [camPos[0] / camLen, camPos[1] / camLen, camPos[2] / camLen];

  const project = (v: V3): [number, number, number] => {
    const yaw = (Number(viewYaw.value) * Math.PI) / 180;
    const pitch = (Number(viewPitch.value) * Math.PI) / 180;
    // Turn the world by -yaw about +Y, then tilt by pitch about +X; we look from +Z.
    const x1 = v[0] * Math.cos(yaw) - v[2] * Math.sin(yaw);
    const z1 = v[0] * Math.sin(yaw) + v[2] * Math.cos(yaw);
    const y2 = v[1] * Math.cos(pitch) - z1 * Math.sin(pitch);
    const z2 = v[1] * Math.sin(pitch) + z1 * Math.cos(pitch);
    return [x1, -y2, z2];
  };
  const layout = () => {
    const order = lights.map((l, i) => ({ i, p: project(l.direction) })).sort((a, b) => a.p[2] - b.p[2]);
    for (const { i, p } of order) {
      const c = dots[i];
      c.setAttribute('cx', p[0].toFixed(4));
      c.setAttribute('cy', p[1].toFixed(4));
      c.classList.toggle('back', p[2] < 0);
      lightLayer.append(c);
    }
    clear(guides);
    // Equator and meridian (front/back great circles) as dotted guides.
    for (const ring of [(t: number): V3 => [Math.sin(t), 0, Math.cos(t)], (t: number): V3 => [0, Math.sin(t), Math.cos(t)], (t: number): V3 => [Math.sin(t), Math.cos(t), 0]]) {
      const pts: string[] = [];
      for (let k = 0; k <= 72; k++) {
        const p = project(ring((k / 72) * 2 * Math.PI));
        pts.push(`${p[0].toFixed(3)},${p[1].toFixed(3)}`);
      }
      guides.append(svg('polyline', { points: pts.join(' ') }));
    }
    clear(headMark);
    const o = project([0, 0, 0]);
    const nose = project([0, 0, 0.25]);
    const top = project([0, 0.25, 0]);
    headMark.append(svg('circle', { cx: o[0], cy: o[1], r: 0.12 }), svg('line', { x1: o[0], y1: o[1], x2: nose[0], y2: nose[1], class: 'nose' }), svg('line', { x1: o[0], y1: o[1], x2: top[0], y2: top[1], class: 'up' }));
    clear(camMark);
    const cp = project([camDir[0] * 1.12, camDir[1] * 1.12, camDir[2] * 1.12]);
    camMark.append(svg('rect', { x: cp[0] - 0.05, y: cp[1] - 0.035, width: 0.1, height: 0.07 }), svg('text', { x: cp[0] + 0.07, y: cp[1] + 0.03 }, 'camera'));
  };
  viewYaw.addEventListener('input', layout);
  viewPitch.addEventListener('input', layout);
  // Drag to turn the view.
  let drag: { x: number; y: number; yaw: number; pitch: number } | null = null;
  sphere.addEventListener('pointerdown', (e) => {
    if ((e.target as Element).classList.contains('light')) return;
    drag = { x: e.clientX, y: e.clientY, yaw: Number(viewYaw.value), pitch: Number(viewPitch.value) };
    sphere.setPointerCapture(e.pointerId);
  });
  sphere.addEventListener('pointermove', (e) => {
    if (!drag) return;
    viewYaw.value = String(Math.max(-180, Math.min(180, drag.yaw - (e.clientX - drag.x) * 0.5)));
    viewPitch.value = String(Math.max(-89, Math.min(89, drag.pitch + (e.clientY - drag.y) * 0.5)));
    layout();
  });
  sphere.addEventListener('pointerup', () => (drag = null));
  sphere.addEventListener('keydown', (e) => {
    let j = selected;
    if (e.key === 'ArrowRight' || e.key === 'ArrowDown') j = (selected + 1) % lights.length;
    else if (e.key === 'ArrowLeft' || e.key === 'ArrowUp') j = (selected - 1 + lights.length) % lights.length;
    else if (e.key === 'Home') j = 0;
    else if (e.key === 'End') j = lights.length - 1;
    else return;
    e.preventDefault();
    select(j, true);
  });

  // ---- one light's image
  const lightImg = h('img', { id: 'light-img', alt: '', width: info.width, height: info.height, class: 'stage-img' });
  const lightCap = h('figcaption', { id: 'light-cap' });
  const lightInfo = h('div', { id: 'light-info' });
  let lightTimer = 0;
  function select(i: number, focus: boolean): void {
    selected = i;
    dots.forEach((c, k) => {
      c.setAttribute('aria-checked', String(k === i));
      c.setAttribute('tabindex', k === i ? '0' : '-1');
      c.classList.toggle('selected', k === i);
    });
    if (focus) dots[i].focus();
    const l = lights[i];
    const { az, el } = azEl(l.direction);
    lightCap.textContent = `Light ${i} alone (auto exposure)`;
    lightImg.alt = `The head lit by light ${i} alone, azimuth ${az.toFixed(0)}°, elevation ${el.toFixed(0)}°`;
    clear(lightInfo);
    lightInfo.append(
      kv(
        [
          ['Direction', `[${l.direction.map((x) => fmtNum(x, 3)).join(', ')}]`],
          ['Azimuth / elevation', `${az.toFixed(1)}° / ${el.toFixed(1)}°`],
          ['Position (m)', `[${l.position.map((x) => fmtNum(x, 3)).join(', ')}]`],
          ['Intensity / size', `${fmtNum(l.intensity, 3)} / ${fmtNum(l.size, 3)} m`],
        ],
        `Light ${i}`,
      ),
    );
    drawEnvLights();
    // Arrow keys walk through lights quickly: load the image once the choice settles.
    clearTimeout(lightTimer);
    lightTimer = window.setTimeout(() => {
      const k = imageOf(i);
      if (k < 0) {
        lightImg.removeAttribute('src');
        lightCap.textContent = `Light ${i} has no image of its own in this stack`;
        return;
      }
      lightImg.src = `${api}/images/${k}.png?exposure=auto`;
      lightImg.dataset.light = String(i);
      history.replaceState(null, '', hrefOf(['stage', id], { light: i }));
    }, 120);
    announce(`Light ${i}`);
  }

  // ---- relighting
  const mapSel = h('select', { id: 'relight-map' }, ...maps.maps.map((m) => h('option', { value: m, selected: m === (q.get('map') ?? 'builtin:studio') }, m.replace(/^builtin:/, ''))));
  const rotation = h('input', { type: 'range', id: 'relight-rotation', min: 0, max: 360, step: 1, value: Number(q.get('rotation') ?? 0) || 0 });
  const rotationOut = h('output', { for: 'relight-rotation' }, `${rotation.value}°`);
  const expo = h('input', { type: 'range', id: 'relight-exposure', min: -6, max: 10, step: 0.1, value: 0 });
  const expoOut = h('output', { for: 'relight-exposure' }, 'auto');
  let exposureFixed: number | null = null;
  const relit = h('img', { id: 'relit', alt: 'The head relit by the chosen environment map', width: info.width, height: info.height, class: 'stage-img' });
  const relitCap = h('figcaption', { id: 'relit-cap' }, 'Relit from the stack');
  const envImg = h('img', { id: 'relight-env', alt: 'The environment map as rotated (lat-long)', width: 256, height: 128, class: 'env-img' });
  const envOverlay = svg('svg', { class: 'overlay', viewBox: '0 0 1 0.5', preserveAspectRatio: 'none', 'aria-hidden': 'true' });
  const play = h('button', { type: 'button', id: 'relight-play', 'aria-pressed': 'false' }, 'Rotate continuously');
  function drawEnvLights(): void {
    clear(envOverlay);
    for (const l of lights) {
      const [u, v] = uvFromDir(...l.direction);
      envOverlay.append(svg('circle', { cx: u, cy: v / 2, r: l.index === selected ? 0.012 : 0.006, class: l.index === selected ? 'rig-dot selected' : 'rig-dot' }));
    }
  }

  let inflight = false;
  let wanted = true;
  let playing = false;
  let objectUrl: string | null = null;
  let envUrl: string | null = null;
  const params = () => ({ map: mapSel.value, rotation: Number(rotation.value), exposure: exposureFixed === null ? 'auto' : String(exposureFixed) });
  async function pump(): Promise<void> {
    if (inflight) return;
    inflight = true;
    try {
      while (wanted && ctx.alive()) {
        wanted = false;
        const p = params();
        const qs = new URLSearchParams({ map: p.map, rotation: String(p.rotation), exposure: p.exposure });
        const t0 = performance.now();
        const [r, re] = await Promise.all([fetch(`${api}/relight?${qs}`), fetch(`/api/envmaps/preview.png?${new URLSearchParams({ map: p.map, rotation: String(p.rotation), width: '256', exposure: '0' })}`)]);
        if (!r.ok) {
          relitCap.textContent = `Relighting failed: ${((await r.json().catch(() => null)) as { error?: string } | null)?.error ?? r.status}`;
          break;
        }
        const [blob, envBlob] = await Promise.all([r.blob(), re.ok ? re.blob() : Promise.resolve(null)]);
        if (!ctx.alive()) return;
        const url = URL.createObjectURL(blob);
        // Decode off-screen first: swapping a decoded URL in keeps the shown frame whole (no blank flash mid-load).
        const next = new Image();
        next.src = url;
        await next.decode().catch(() => undefined);
        if (!ctx.alive()) {
          URL.revokeObjectURL(url);
          return;
        }
        relit.src = url;
        await relit.decode().catch(() => undefined);
        if (objectUrl) URL.revokeObjectURL(objectUrl);
        objectUrl = url;
        if (envBlob) {
          const eu = URL.createObjectURL(envBlob);
          envImg.src = eu;
          if (envUrl) URL.revokeObjectURL(envUrl);
          envUrl = eu;
        }
        const e = Number(r.headers.get('X-Exposure'));
        if (exposureFixed === null && Number.isFinite(e)) {
          exposureFixed = Math.round(e * 10) / 10;
          expo.value = String(exposureFixed);
          expoOut.textContent = `${exposureFixed >= 0 ? '+' : ''}${exposureFixed.toFixed(1)} EV`;
        }
        relit.dataset.rotation = String(p.rotation);
        relit.dataset.map = p.map;
        relit.dataset.frames = String(Number(relit.dataset.frames ?? 0) + 1);
        relit.alt = `The head relit by ${p.map} rotated ${p.rotation}°`;
        relitCap.textContent = `${p.map.replace(/^builtin:/, '')} rotated ${p.rotation}° — relit in ${r.headers.get('X-Relight-Ms') ?? '?'} ms on the server, ${Math.round(performance.now() - t0)} ms round trip`;
        if (playing) {
          rotation.value = String((Number(rotation.value) + 10) % 360);
          rotationOut.textContent = `${rotation.value}°`;
          wanted = true;
        }
      }
    } finally {
      inflight = false;
    }
  }
  const want = () => {
    wanted = true;
    void pump();
  };
  rotation.addEventListener('input', () => {
    rotationOut.textContent = `${rotation.value}°`;
    want();
  });
  mapSel.addEventListener('change', () => {
    exposureFixed = null;
    expoOut.textContent = 'auto';
    want();
  });
  expo.addEventListener('input', () => {
    exposureFixed = Number(expo.value);
    expoOut.textContent = `${exposureFixed >= 0 ? '+' : ''}${exposureFixed.toFixed(1)} EV`;
    want();
  });
  play.addEventListener('click', () => {
    playing = !playing;
    play.setAttribute('aria-pressed', String(playing));
    play.textContent = playing ? 'Stop rotating' : 'Rotate continuously';
    if (playing) want();
  });
  ctx.onLeave(() => {
    playing = false;
    clearTimeout(lightTimer);
    if (objectUrl) URL.revokeObjectURL(objectUrl);
    if (envUrl) URL.revokeObjectURL(envUrl);
  });

  const head = info.head as { name?: string; ref?: string };
  main.append(
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/stage' }, 'Light stage'), ' › ', h('span', { 'aria-current': 'page' }, id)),
    h('h1', null, `Light stage: ${id}`),
    h('p', { class: 'muted' }, `${info.rig.name}: ${info.rig.description}. Head ${head.name ?? head.ref ?? '?'}, ${info.width}×${info.height} px, ${info.pixelCount} covered pixels, ${info.imageCount} images (${fmtBytes(info.bytes?.file)}).`),
    h(
      'div',
      { class: 'stage' },
      h(
        'section',
        { class: 'panel', 'aria-labelledby': 'rig-h' },
        h('h2', { id: 'rig-h' }, 'Rig'),
        sphere,
        h('div', { class: 'field' }, h('label', { for: 'view-yaw' }, 'Turn view'), viewYaw),
        h('div', { class: 'field' }, h('label', { for: 'view-pitch' }, 'Tilt view'), viewPitch),
        h('p', { class: 'muted small' }, 'Drag the sphere to turn it. Faded lights are behind. The line from the head points to its front (+Z).'),
      ),
      h('section', { class: 'panel', 'aria-labelledby': 'light-h' }, h('h2', { id: 'light-h' }, 'One light'), h('figure', null, lightImg, lightCap), lightInfo),
      h(
        'section',
        { class: 'panel', 'aria-labelledby': 'relight-h' },
        h('h2', { id: 'relight-h' }, 'Relight'),
        h('div', { class: 'field' }, h('label', { for: 'relight-map' }, 'Environment map'), mapSel),
        h('div', { class: 'field' }, h('label', { for: 'relight-rotation' }, 'Rotation about +Y'), rotation, rotationOut),
        h('div', { class: 'field' }, h('label', { for: 'relight-exposure' }, 'Exposure'), expo, expoOut),
        play,
        h('figure', null, relit, relitCap),
        h('figure', { class: 'pass-fig env' }, h('div', { class: 'overlay-wrap' }, envImg, envOverlay), h('figcaption', null, 'The map as rotated; dots = rig light directions (each light gets its Voronoi cell of the map)')),
      ),
    ),
  );
  layout();
  select(selected, false);
  focusHeading(main);
  want();
}

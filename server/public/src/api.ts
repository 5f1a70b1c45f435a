// Fetch helpers and the shapes the server returns.

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
  }
}

export async function getJson<T>(url: string, init?: RequestInit): Promise<T> {
  const r = await fetch(url, init);
  const body = await r.json().catch(() => null);
  if (!r.ok) throw new HttpError(r.status, (body as { error?: string })?.error ?? `${r.status} ${r.statusText}`, body);
  return body as T;
}

export function postJson<T>(url: string, body?: unknown): Promise<T> {
  return getJson<T>(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
}

export interface HalfImageResponse {
  width: number;
  height: number;
  channels: number;
  kind: string;
  data: Uint16Array;
}

/** A .f16 image route: half floats + size headers. */
export async function getHalf(url: string, signal?: AbortSignal): Promise<HalfImageResponse> {
  const r = await fetch(url, { signal });
  if (!r.ok) throw new HttpError(r.status, `${url}: ${r.status}`, null);
  const buf = await r.arrayBuffer();
  const width = Number(r.headers.get('X-Image-Width'));
  const height = Number(r.headers.get('X-Image-Height'));
  const channels = Number(r.headers.get('X-Image-Channels'));
  const data = new Uint16Array(buf);
  if (data.length !== width * height * channels) throw new Error(`${url}: ${data.length} values for ${width}x${height}x${channels}`);
  return { width, height, channels, kind: r.headers.get('X-Image-Kind') ?? 'radiance', data };
}

/** An 8-bit image route (segmentation.u8): one byte per pixel + size headers. */
export async function getU8(url: string, signal?: AbortSignal): Promise<{ width: number; height: number; data: Uint8Array }> {
  const r = await fetch(url, { signal });
  if (!r.ok) throw new HttpError(r.status, `${url}: ${r.status}`, null);
  const data = new Uint8Array(await r.arrayBuffer());
  const width = Number(r.headers.get('X-Image-Width'));
  const height = Number(r.headers.get('X-Image-Height'));
  if (!(width > 0 && height > 0) || data.length !== width * height) throw new Error(`${url}: ${data.length} bytes for ${width}x${height}`);
  return { width, height, data };
}

export async function getF32(url: string, signal?: AbortSignal): Promise<Float32Array> {
  const r = await fetch(url, { signal });
  if (!r.ok) throw new HttpError(r.status, `${url}: ${r.status}`, null);
  return new Float32Array(await r.arrayBuffer());
}

// The server's own types (type-only: nothing from Node is bundled).
export type { JobSummary, ShardState as JobShard } from '../../api-types.js';

export interface DatasetListItem {
  name: string;
  samples: number;
  complete: boolean;
  width: number | null;
  height: number | null;
  description: string | null;
}

export interface Facet {
  value: string;
  count: number;
}

export interface DatasetInfo {
  name: string;
  total: number;
  planned: number | null;
  complete: boolean;
  index: { source: string; buildMs: number };
  facets: {
    heads: Facet[];
    envs: Facet[];
    passes: Facet[];
    lightingKeys: string[];
    /** head ids (the first 1000 by name) and how many there are */
    identities?: Facet[];
    identitiesTotal?: number;
    /** ITA bins light to dark, then 'unknown' (no skin draw); range in degrees, null = open */
    skinTones?: (Facet & { range: [number | null, number | null] | null })[];
  };
  /** dataset format versions of the samples (renderer/dataset/records.ts); warning when one is not the version read */
  format?: { reads: number; found: Record<string, number>; warning: string | null };
  passFiles: string[];
  config: { width: number | null; height: number | null; description: string | null; seed: number | null };
  provenance: Record<string, unknown>;
}

export interface SampleItem {
  id: string;
  index: number;
  head: string;
  /** head.id */
  identity?: string;
  /** ITA (degrees) of the drawn skin; null without one */
  ita?: number | null;
  /** ITA bin name, or 'unknown' */
  skinTone?: string;
  envs: string[];
  keys: string[];
}

export interface SamplePage {
  total: number;
  datasetTotal: number;
  offset: number;
  limit: number;
  items: SampleItem[];
}

export interface EnvLayer {
  map: string;
  rotationDeg: number;
  intensity: number;
  weight: number;
}

export interface PointLightJson {
  position: [number, number, number];
  color: [number, number, number];
  intensity: number;
  radius?: number;
  normalized?: { position: number[]; distance: number; intensity: number; headRadius: number; headCentre: [number, number, number] };
}

export interface SampleDetail {
  dataset: string;
  id: string;
  index: number;
  seed: number | null;
  head: Record<string, unknown> | null;
  camera: Record<string, unknown> | null;
  augment: Record<string, unknown> | null;
  draws: Record<string, unknown> | null;
  lightings: {
    key: string;
    role: string | null;
    lighting: { environment: EnvLayer[]; pointLights: PointLightJson[] } | null;
    passes: { name: string; label: string; kind: string; file: string }[];
    hasPreview: boolean;
    hasEnv16: boolean;
    sh9: number[] | null;
    meta: { renderer: Record<string, unknown> | null; timings: Record<string, unknown> | null; createdAt: string | null; render: Record<string, unknown> | null; output: Record<string, unknown> | null; background: unknown } | null;
  }[];
  run: Record<string, unknown> | null;
  files: string[];
  /** head.id */
  identity?: string | null;
  skinTone?: { ita: number | null; bin: string; bins: string[] };
  /** 68 Multi-PIE points in pixels (corner origin, x right, y down); null for heads without landmarks */
  landmarks?: LandmarksJson | null;
  /** segmentation.png of the sample (in `key`'s folder) and the table its ids mean; null when absent */
  segmentation?: { key: string; file: string; labels: SegmentationLabelJson[]; labelsSource: string } | null;
  provenance: Record<string, unknown>;
  nav: { prev: string | null; next: string | null; position: number | null; total: number | null };
}

export interface LandmarksJson {
  convention: string;
  points: [number, number][];
  distance: number[];
  visible: boolean[];
  visibilityToleranceM: number;
  depthTested: boolean;
}

export interface SegmentationLabelJson {
  id: number;
  name: string;
  color: [number, number, number];
}

export interface StackListItem {
  id: string;
  width: number;
  height: number;
  images: number;
  lights: number;
  rig: string;
  head: string | null;
  bytes: number | null;
  createdAt: string | null;
}

export interface StackInfo {
  id: string;
  width: number;
  height: number;
  pixelCount: number;
  imageCount: number;
  shots: number[][];
  rig: { name: string; description: string; centre: number[]; lights: { index: number; direction: [number, number, number]; distance: number; position: number[]; color: number[]; intensity: number; size: number }[] };
  camera: Record<string, unknown>;
  head: Record<string, unknown>;
  render: Record<string, unknown>;
  renderer: Record<string, unknown>;
  bytes: Record<string, number>;
  createdAt: string;
}

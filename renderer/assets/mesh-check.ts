// Node-only. Validates a head mesh's geometry (GLB, glTF, OBJ) before it reaches the browser:
// a mesh with garbage vertex data loads in Babylon without complaint and renders NaN passes,
// so positions and normals must be finite, indices in range and the bounding box non-degenerate.
// Results are cached by file content hash (a batch resolves the same head many times).
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';

const COMPONENT_BYTES: Record<number, number> = { 5120: 1, 5121: 1, 5122: 2, 5123: 2, 5125: 4, 5126: 4 };
const TYPE_COMPONENTS: Record<string, number> = { SCALAR: 1, VEC2: 2, VEC3: 3, VEC4: 4, MAT2: 4, MAT3: 9, MAT4: 16 };
const GLB_MAGIC = 0x46546c67;
const CHUNK_JSON = 0x4e4f534a;
const CHUNK_BIN = 0x004e4942;

/** Positions beyond this (in file units) are treated as garbage, not a mesh (float32 squares overflow ~1.8e19). */
export const MAX_MESH_COORD = 1e7;

const cache = new Map<string, string | null>(); // content hash -> error message (null = ok)

/** What a glTF JSON names outside itself (buffers and images with relative URIs), resolved against its folder. */
export function gltfExternalFiles(file: string): string[] {
  if (path.extname(file).toLowerCase() !== '.gltf') return [];
  let json: { buffers?: { uri?: string }[]; images?: { uri?: string }[] };
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return []; // reported by checkMeshGeometry
  }
  const uris = [...(json.buffers ?? []), ...(json.images ?? [])].map((b) => b.uri).filter((u): u is string => typeof u === 'string' && !u.startsWith('data:'));
  return uris.map((u) => path.resolve(path.dirname(file), decodeURIComponent(u)));
}

/** Throws `head mesh <file> ...: <what is wrong>` unless the mesh's geometry is sane. */
export function checkMeshGeometry(file: string, buf: Buffer = fs.readFileSync(file)): void {
  const key = crypto.createHash('sha256').update(path.extname(file).toLowerCase()).update(buf).digest('hex');
  let err = cache.get(key);
  if (err === undefined) {
    try {
      const ext = path.extname(file).toLowerCase();
      if (ext === '.obj') checkObj(buf.toString('utf8'));
      else checkGltf(file, buf, ext === '.glb');
      err = null;
    } catch (e) {
      err = (e as Error).message;
    }
    cache.set(key, err);
  }
  if (err !== null) throw new Error(`head mesh ${file} is not usable geometry: ${err}`);
}

// ---------------------------------------------------------------------------------------------
// glTF / GLB

export interface Gltf {
  buffers?: { uri?: string; byteLength: number }[];
  bufferViews?: { buffer: number; byteOffset?: number; byteLength: number; byteStride?: number }[];
  accessors?: { bufferView?: number; byteOffset?: number; componentType: number; count: number; type: string; normalized?: boolean; min?: number[]; max?: number[]; sparse?: unknown }[];
  meshes?: { primitives: { attributes: Record<string, number>; indices?: number; mode?: number }[] }[];
}

function checkGltf(file: string, buf: Buffer, isGlb: boolean): void {
  let json: Gltf;
  let bin: Buffer | null = null;
  if (isGlb) {
    if (buf.length < 20 || buf.readUInt32LE(0) !== GLB_MAGIC) throw new Error('not a GLB file (bad magic)');
    const jsonLen = buf.readUInt32LE(12);
    if (buf.readUInt32LE(16) !== CHUNK_JSON || 20 + jsonLen > buf.length) throw new Error('first GLB chunk is not a complete JSON chunk');
    json = JSON.parse(buf.subarray(20, 20 + jsonLen).toString('utf8'));
    const binHeader = 20 + ((jsonLen + 3) & ~3);
    if (binHeader + 8 <= buf.length) {
      const binLen = buf.readUInt32LE(binHeader);
      if (buf.readUInt32LE(binHeader + 4) !== CHUNK_BIN) throw new Error('second GLB chunk is not BIN');
      if (binHeader + 8 + binLen > buf.length) throw new Error(`BIN chunk declares ${binLen} bytes, file has ${buf.length - binHeader - 8}`);
      bin = buf.subarray(binHeader + 8, binHeader + 8 + binLen);
    }
  } else {
    json = JSON.parse(buf.toString('utf8'));
  }
  const buffers = (json.buffers ?? []).map((b, i): Buffer => {
    if (b.uri === undefined) {
      if (!bin) throw new Error(`buffers[${i}] has no uri and there is no BIN chunk`);
      return bin;
    }
    if (b.uri.startsWith('data:')) {
      const m = /^data:[^,]*;base64,(.*)$/s.exec(b.uri);
      if (!m) throw new Error(`buffers[${i}] data URI is not base64`);
      return Buffer.from(m[1], 'base64');
    }
    const f = path.resolve(path.dirname(file), decodeURIComponent(b.uri));
    try {
      return fs.readFileSync(f);
    } catch (e) {
      throw new Error(`buffers[${i}] file ${f} cannot be read: ${(e as Error).message}`);
    }
  });
  const meshes = json.meshes ?? [];
  if (meshes.length === 0) throw new Error('no meshes');
  const bbMin = [Infinity, Infinity, Infinity];
  const bbMax = [-Infinity, -Infinity, -Infinity];
  let triangles = 0;
  meshes.forEach((mesh, mi) => {
    mesh.primitives.forEach((prim, pi) => {
      const where = `meshes[${mi}].primitives[${pi}]`;
      if (prim.attributes.POSITION === undefined) throw new Error(`${where} has no POSITION`);
      const pos = readAccessor(json, buffers, prim.attributes.POSITION, `${where} POSITION`);
      if (pos.comps !== 3) throw new Error(`${where} POSITION is not VEC3`);
      const n = pos.count;
      for (let i = 0; i < n * 3; i++) {
        const v = pos.values[i];
        if (!Number.isFinite(v)) throw new Error(`${where} POSITION vertex ${Math.floor(i / 3)} is ${v} (positions must be finite)`);
        if (Math.abs(v) > MAX_MESH_COORD) throw new Error(`${where} POSITION vertex ${Math.floor(i / 3)} has coordinate ${v}, beyond +-${MAX_MESH_COORD} (corrupt vertex data?)`);
        const c = i % 3;
        if (v < bbMin[c]) bbMin[c] = v;
        if (v > bbMax[c]) bbMax[c] = v;
      }
      const acc = json.accessors![prim.attributes.POSITION];
      if (acc.min && acc.max) {
        // glTF requires POSITION min/max: data outside them means the bytes are not what the writer wrote.
        for (let i = 0; i < n * 3; i++) {
          const c = i % 3;
          const tol = 1e-4 * Math.max(1, Math.abs(acc.max[c] - acc.min[c]));
          if (pos.values[i] < acc.min[c] - tol || pos.values[i] > acc.max[c] + tol) {
            throw new Error(`${where} POSITION vertex ${Math.floor(i / 3)} (${pos.values[i]}) lies outside the accessor's declared min/max [${acc.min[c]}, ${acc.max[c]}] on axis ${'XYZ'[c]}`);
          }
        }
      }
      if (prim.attributes.NORMAL !== undefined) {
        const nrm = readAccessor(json, buffers, prim.attributes.NORMAL, `${where} NORMAL`);
        if (nrm.comps !== 3 || nrm.count !== n) throw new Error(`${where} NORMAL must be VEC3 with one per vertex (${nrm.count} for ${n} vertices)`);
        for (let i = 0; i < n; i++) {
          const x = nrm.values[i * 3];
          const y = nrm.values[i * 3 + 1];
          const z = nrm.values[i * 3 + 2];
          const len = Math.hypot(x, y, z);
          // glTF normals are unit length; a loose band tolerates quantised or sloppy exporters.
          if (!Number.isFinite(len) || len < 0.5 || len > 2) throw new Error(`${where} NORMAL ${i} is (${x}, ${y}, ${z}), length ${len} (normals must be finite unit vectors)`);
        }
      }
      const mode = prim.mode ?? 4;
      if (prim.indices !== undefined) {
        const idx = readAccessor(json, buffers, prim.indices, `${where} indices`);
        const ct = json.accessors![prim.indices].componentType;
        if (idx.comps !== 1 || ![5121, 5123, 5125].includes(ct)) throw new Error(`${where} indices must be unsigned integer SCALARs`);
        for (let i = 0; i < idx.count; i++) {
          if (idx.values[i] >= n) throw new Error(`${where} index ${i} is ${idx.values[i]}, out of range for ${n} vertices`);
        }
        if (mode === 4) {
          if (idx.count % 3 !== 0) throw new Error(`${where} has ${idx.count} indices, not a multiple of 3 (triangles)`);
          triangles += idx.count / 3;
        }
      } else if (mode === 4) triangles += Math.floor(n / 3);
    });
  });
  if (triangles === 0) throw new Error('no triangles');
  checkBbox(bbMin, bbMax);
}

function checkBbox(bbMin: number[], bbMax: number[]): void {
  const ext = bbMax.map((v, i) => v - bbMin[i]);
  const big = Math.max(...ext);
  // A head has volume: every extent must be a real fraction of the largest.
  if (!(big > 0) || ext.some((e) => !(e > big * 1e-6))) {
    throw new Error(`degenerate bounding box: extents ${ext.map((e) => e.toPrecision(4)).join(' x ')} (min [${bbMin.join(', ')}], max [${bbMax.join(', ')}])`);
  }
}

/** Reads an accessor's elements as numbers (honouring byteStride and normalisation); checks bounds. */
export function readAccessor(json: Gltf, buffers: Buffer[], index: number, what: string): { values: Float64Array; count: number; comps: number } {
  const acc = json.accessors?.[index];
  if (!acc) throw new Error(`${what}: accessor ${index} does not exist`);
  const comps = TYPE_COMPONENTS[acc.type];
  const cb = COMPONENT_BYTES[acc.componentType];
  if (!comps || !cb) throw new Error(`${what}: accessor ${index} has unknown type ${acc.type} / componentType ${acc.componentType}`);
  if (!(Number.isInteger(acc.count) && acc.count > 0)) throw new Error(`${what}: accessor ${index} has count ${acc.count}`);
  if (acc.sparse) throw new Error(`${what}: sparse accessors are not supported`);
  const values = new Float64Array(acc.count * comps);
  if (acc.bufferView === undefined) return { values, count: acc.count, comps }; // all zeros by the spec
  const view = json.bufferViews?.[acc.bufferView];
  if (!view) throw new Error(`${what}: bufferView ${acc.bufferView} does not exist`);
  const buf = buffers[view.buffer];
  if (!buf) throw new Error(`${what}: buffer ${view.buffer} does not exist`);
  const viewStart = view.byteOffset ?? 0;
  if (viewStart + view.byteLength > buf.length) throw new Error(`${what}: bufferView ${acc.bufferView} ends at byte ${viewStart + view.byteLength}, past its buffer (${buf.length} bytes)`);
  const elemBytes = comps * cb;
  const stride = view.byteStride ?? elemBytes;
  const start = (acc.byteOffset ?? 0);
  if (start + stride * (acc.count - 1) + elemBytes > view.byteLength) throw new Error(`${what}: accessor ${index} (${acc.count} x ${elemBytes} bytes) runs past its bufferView (${view.byteLength} bytes)`);
  const dv = new DataView(buf.buffer, buf.byteOffset + viewStart, view.byteLength);
  const norm = acc.normalized ?? false;
  for (let e = 0, k = 0; e < acc.count; e++) {
    const o = start + e * stride;
    for (let c = 0; c < comps; c++, k++) {
      const p = o + c * cb;
      let v: number;
      switch (acc.componentType) {
        case 5126: v = dv.getFloat32(p, true); break;
        case 5125: v = dv.getUint32(p, true); break;
        case 5123: v = dv.getUint16(p, true); if (norm) v /= 65535; break;
        case 5122: v = dv.getInt16(p, true); if (norm) v = Math.max(v / 32767, -1); break;
        case 5121: v = dv.getUint8(p); if (norm) v /= 255; break;
        default: v = dv.getInt8(p); if (norm) v = Math.max(v / 127, -1);
      }
      values[k] = v;
    }
  }
  return { values, count: acc.count, comps };
}

// ---------------------------------------------------------------------------------------------
// OBJ

function checkObj(text: string): void {
  const bbMin = [Infinity, Infinity, Infinity];
  const bbMax = [-Infinity, -Infinity, -Infinity];
  let nv = 0;
  let nvn = 0;
  let faces = 0;
  const lines = text.split('\n');
  // Face indices are checked after all vertices are known (OBJ allows faces before later "v" lines).
  const faceRefs: { line: number; v: number[]; vn: number[]; nvAt: number; nvnAt: number }[] = [];
  for (let li = 0; li < lines.length; li++) {
    const line = lines[li];
    const c0 = line.charCodeAt(0);
    if (c0 !== 118 /* v */ && c0 !== 102 /* f */) continue;
    const parts = line.trim().split(/\s+/);
    if (parts[0] === 'v' || parts[0] === 'vn') {
      if (parts.length < 4) throw new Error(`line ${li + 1}: "${parts[0]}" needs 3 numbers: ${JSON.stringify(line.slice(0, 80))}`);
      const xyz = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
      if (!xyz.every(Number.isFinite)) throw new Error(`line ${li + 1}: "${parts[0]}" has a non-finite or non-numeric value: ${JSON.stringify(line.slice(0, 80))}`);
      if (parts[0] === 'v') {
        nv++;
        for (let c = 0; c < 3; c++) {
          if (Math.abs(xyz[c]) > MAX_MESH_COORD) throw new Error(`line ${li + 1}: vertex coordinate ${xyz[c]} beyond +-${MAX_MESH_COORD}`);
          if (xyz[c] < bbMin[c]) bbMin[c] = xyz[c];
          if (xyz[c] > bbMax[c]) bbMax[c] = xyz[c];
        }
      } else {
        nvn++;
        if (!(Math.hypot(xyz[0], xyz[1], xyz[2]) > 0)) throw new Error(`line ${li + 1}: normal "vn" has zero length`);
      }
    } else if (parts[0] === 'f') {
      if (parts.length < 4) throw new Error(`line ${li + 1}: a face needs at least 3 vertices`);
      const v: number[] = [];
      const vn: number[] = [];
      for (const p of parts.slice(1)) {
        const [a, , n] = p.split('/');
        v.push(Number(a));
        if (n) vn.push(Number(n));
      }
      faceRefs.push({ line: li + 1, v, vn, nvAt: nv, nvnAt: nvn });
      faces++;
    }
  }
  if (nv === 0) throw new Error('no vertices ("v" lines)');
  for (const f of faceRefs) {
    const check = (k: number, count: number, at: number, what: string) => {
      // Negative indices are relative to the vertices defined so far.
      const abs = k < 0 ? at + k + 1 : k;
      if (!Number.isInteger(k) || k === 0 || abs < 1 || abs > count) throw new Error(`line ${f.line}: face ${what} index ${k} is out of range (1..${count})`);
    };
    for (const k of f.v) check(k, nv, f.nvAt, 'vertex');
    for (const k of f.vn) check(k, nvn, f.nvnAt, 'normal');
  }
  if (faces === 0) throw new Error('no faces ("f" lines)');
  checkBbox(bbMin, bbMax);
}

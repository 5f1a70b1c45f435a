// Minimal glTF 2.0 binary (GLB) writer for a single indexed triangle mesh (encodeGlb) or several
// meshes with their own materials (encodeGlbParts, the ICT head).
//
// Layout: one buffer (the GLB BIN chunk) holding POSITION, NORMAL, TEXCOORD_0
// and the indices, one bufferView per attribute (target 34962 ARRAY_BUFFER for
// vertex data, 34963 ELEMENT_ARRAY_BUFFER for indices), one mesh with one
// primitive (mode 4, triangles), one node, one scene, and a single default PBR
// material without textures: the renderer binds the maps named in head.json.

export interface GlbMeshInput {
  /** xyz per vertex, metres. */
  positions: Float32Array;
  /** Unit xyz per vertex. */
  normals: Float32Array;
  /** uv per vertex, glTF convention (origin top-left, v down). */
  uvs: Float32Array;
  /** Triangle list, counter-clockwise seen from outside. */
  indices: Uint32Array | Uint16Array;
  materialName?: string;
  meshName?: string;
  generator?: string;
}

const GLB_MAGIC = 0x46546c67; // 'glTF'
const CHUNK_JSON = 0x4e4f534a; // 'JSON'
const CHUNK_BIN = 0x004e4942; // 'BIN\0'

const FLOAT = 5126;
const UNSIGNED_SHORT = 5123;
const UNSIGNED_INT = 5125;
const ARRAY_BUFFER = 34962;
const ELEMENT_ARRAY_BUFFER = 34963;

const pad4 = (n: number): number => (n + 3) & ~3;

function minMax(data: Float32Array, comps: number): { min: number[]; max: number[] } {
  const min = new Array<number>(comps).fill(Infinity);
  const max = new Array<number>(comps).fill(-Infinity);
  for (let i = 0; i < data.length; i += comps) {
    for (let c = 0; c < comps; c++) {
      const v = data[i + c];
      if (v < min[c]) min[c] = v;
      if (v > max[c]) max[c] = v;
    }
  }
  // glTF validators compare min/max against the float32 values in the buffer:
  // round through Math.fround so the JSON numbers are exactly those values.
  return { min: min.map((v) => Math.fround(v)), max: max.map((v) => Math.fround(v)) };
}

export function encodeGlb(input: GlbMeshInput): Buffer {
  const { positions, normals, uvs, indices } = input;
  const vertexCount = positions.length / 3;
  if (!Number.isInteger(vertexCount) || vertexCount === 0) throw new Error('encodeGlb: positions length must be a positive multiple of 3');
  if (normals.length !== vertexCount * 3) throw new Error('encodeGlb: normals length mismatch');
  if (uvs.length !== vertexCount * 2) throw new Error('encodeGlb: uvs length mismatch');
  if (indices.length === 0 || indices.length % 3 !== 0) throw new Error('encodeGlb: indices length must be a positive multiple of 3');
  let maxIndex = 0;
  for (let i = 0; i < indices.length; i++) if (indices[i] > maxIndex) maxIndex = indices[i];
  if (maxIndex >= vertexCount) throw new Error(`encodeGlb: index ${maxIndex} out of range (${vertexCount} vertices)`);

  const parts: { bytes: Uint8Array; target: number }[] = [
    { bytes: new Uint8Array(positions.buffer, positions.byteOffset, positions.byteLength), target: ARRAY_BUFFER },
    { bytes: new Uint8Array(normals.buffer, normals.byteOffset, normals.byteLength), target: ARRAY_BUFFER },
    { bytes: new Uint8Array(uvs.buffer, uvs.byteOffset, uvs.byteLength), target: ARRAY_BUFFER },
    { bytes: new Uint8Array(indices.buffer, indices.byteOffset, indices.byteLength), target: ELEMENT_ARRAY_BUFFER },
  ];
  const { bufferViews, bin, binLength } = packBin(parts);

  const posRange = minMax(positions, 3);
  const indexType = indices instanceof Uint16Array ? UNSIGNED_SHORT : UNSIGNED_INT;
  const gltf = {
    asset: { version: '2.0', generator: input.generator ?? 'virtual-light-stage gltf-write' },
    scene: 0,
    scenes: [{ nodes: [0] }],
    nodes: [{ mesh: 0, name: input.meshName ?? 'head' }],
    meshes: [
      {
        name: input.meshName ?? 'head',
        primitives: [{ attributes: { POSITION: 0, NORMAL: 1, TEXCOORD_0: 2 }, indices: 3, material: 0, mode: 4 }],
      },
    ],
    materials: [
      {
        name: input.materialName ?? 'skin',
        pbrMetallicRoughness: { baseColorFactor: [1, 1, 1, 1], metallicFactor: 0, roughnessFactor: 0.5 },
      },
    ],
    accessors: [
      { bufferView: 0, componentType: FLOAT, count: vertexCount, type: 'VEC3', min: posRange.min, max: posRange.max },
      { bufferView: 1, componentType: FLOAT, count: vertexCount, type: 'VEC3' },
      { bufferView: 2, componentType: FLOAT, count: vertexCount, type: 'VEC2' },
      { bufferView: 3, componentType: indexType, count: indices.length, type: 'SCALAR' },
    ],
    bufferViews,
    buffers: [{ byteLength: binLength }],
  };

  return assembleGlb(gltf, bin);
}

/** Lays the chunks out in one buffer, each view 4-byte aligned; zero padding. */
function packBin(chunks: { bytes: Uint8Array; target: number }[]): { bufferViews: Record<string, unknown>[]; bin: Buffer; binLength: number } {
  const bufferViews: Record<string, unknown>[] = [];
  let offset = 0;
  for (const c of chunks) {
    offset = pad4(offset);
    bufferViews.push({ buffer: 0, byteOffset: offset, byteLength: c.bytes.byteLength, target: c.target });
    offset += c.bytes.byteLength;
  }
  const binLength = pad4(offset);
  // Typed arrays are little-endian on every platform Node supports; copy them as is.
  const bin = Buffer.alloc(binLength, 0);
  chunks.forEach((c, i) => bin.set(c.bytes, bufferViews[i].byteOffset as number));
  return { bufferViews, bin, binLength };
}

/** The GLB container: header, JSON chunk (padded with spaces), BIN chunk. */
function assembleGlb(gltf: unknown, bin: Buffer): Buffer {
  const jsonRaw = Buffer.from(JSON.stringify(gltf), 'utf8');
  const jsonLength = pad4(jsonRaw.length);
  const total = 12 + 8 + jsonLength + 8 + bin.length;
  const out = Buffer.alloc(total);
  out.writeUInt32LE(GLB_MAGIC, 0);
  out.writeUInt32LE(2, 4);
  out.writeUInt32LE(total, 8);
  out.writeUInt32LE(jsonLength, 12);
  out.writeUInt32LE(CHUNK_JSON, 16);
  out.fill(0x20, 20, 20 + jsonLength);
  jsonRaw.copy(out, 20);
  const binHeader = 20 + jsonLength;
  out.writeUInt32LE(bin.length, binHeader);
  out.writeUInt32LE(CHUNK_BIN, binHeader + 4);
  bin.copy(out, binHeader + 8);
  return out;
}

export interface ParsedGlb {
  json: any;
  bin: Buffer;
}

/** Splits a GLB into its JSON and BIN chunks (validating the container). */
export function parseGlb(glb: Buffer): ParsedGlb {
  if (glb.length < 20) throw new Error('GLB too short');
  if (glb.readUInt32LE(0) !== GLB_MAGIC) throw new Error('GLB: bad magic');
  if (glb.readUInt32LE(4) !== 2) throw new Error('GLB: version is not 2');
  if (glb.readUInt32LE(8) !== glb.length) throw new Error('GLB: length field does not match');
  const jsonLength = glb.readUInt32LE(12);
  if (glb.readUInt32LE(16) !== CHUNK_JSON) throw new Error('GLB: first chunk is not JSON');
  if (jsonLength % 4 !== 0) throw new Error('GLB: JSON chunk not 4-byte aligned');
  const json = JSON.parse(glb.subarray(20, 20 + jsonLength).toString('utf8'));
  const binHeader = 20 + jsonLength;
  let bin: Buffer = Buffer.alloc(0);
  if (binHeader < glb.length) {
    const binLength = glb.readUInt32LE(binHeader);
    if (glb.readUInt32LE(binHeader + 4) !== CHUNK_BIN) throw new Error('GLB: second chunk is not BIN');
    if (binLength % 4 !== 0) throw new Error('GLB: BIN chunk not 4-byte aligned');
    if (binHeader + 8 + binLength !== glb.length) throw new Error('GLB: BIN chunk length mismatch');
    bin = glb.subarray(binHeader + 8, binHeader + 8 + binLength);
  }
  return { json, bin };
}

/** Reads accessor `index` of a parsed GLB as a typed array (tightly packed views only). */
export function readAccessor(parsed: ParsedGlb, index: number): Float32Array | Uint16Array | Uint32Array {
  const acc = parsed.json.accessors[index];
  const view = parsed.json.bufferViews[acc.bufferView];
  const comps = ({ SCALAR: 1, VEC2: 2, VEC3: 3, VEC4: 4 } as Record<string, number>)[acc.type];
  const start = (view.byteOffset ?? 0) + (acc.byteOffset ?? 0);
  const n = acc.count * comps;
  // Copy so the result is aligned regardless of the BIN chunk's offset in the file.
  const bytes = Buffer.from(parsed.bin.subarray(start, start + n * (acc.componentType === UNSIGNED_SHORT ? 2 : 4)));
  switch (acc.componentType) {
    case FLOAT:
      return new Float32Array(bytes.buffer, bytes.byteOffset, n);
    case UNSIGNED_SHORT:
      return new Uint16Array(bytes.buffer, bytes.byteOffset, n);
    case UNSIGNED_INT:
      return new Uint32Array(bytes.buffer, bytes.byteOffset, n);
    default:
      throw new Error(`readAccessor: unsupported componentType ${acc.componentType}`);
  }
}

/** One part of a multi-mesh GLB: its own node, mesh (one primitive) and material. */
export interface GlbPartInput {
  /** Node and mesh name (the page finds the part's material by it). */
  name: string;
  materialName: string;
  positions: Float32Array;
  normals: Float32Array;
  uvs: Float32Array;
  indices: Uint32Array | Uint16Array;
  /** Base colour factor and roughness of the glTF material (the page may override them). */
  baseColor?: [number, number, number, number];
  roughness?: number;
}

/**
 * A GLB with several meshes and materials (one node per part, one scene). Same buffer layout
 * rules as encodeGlb (4-byte aligned views, float32 attributes, min/max on POSITION).
 */
export function encodeGlbParts(parts: GlbPartInput[], generator = 'virtual-light-stage gltf-write'): Buffer {
  if (parts.length === 0) throw new Error('encodeGlbParts: no parts');
  const chunks: { bytes: Uint8Array; target: number }[] = [];
  const accessors: Record<string, unknown>[] = [];
  const meshes: Record<string, unknown>[] = [];
  const materials: Record<string, unknown>[] = [];
  const nodes: Record<string, unknown>[] = [];
  for (const [pi, p] of parts.entries()) {
    const n = p.positions.length / 3;
    if (!Number.isInteger(n) || n === 0) throw new Error(`encodeGlbParts: part ${p.name}: positions length must be a positive multiple of 3`);
    if (p.normals.length !== n * 3 || p.uvs.length !== n * 2) throw new Error(`encodeGlbParts: part ${p.name}: attribute length mismatch`);
    if (p.indices.length === 0 || p.indices.length % 3 !== 0) throw new Error(`encodeGlbParts: part ${p.name}: indices length must be a positive multiple of 3`);
    for (let i = 0; i < p.indices.length; i++) if (p.indices[i] >= n) throw new Error(`encodeGlbParts: part ${p.name}: index ${p.indices[i]} out of range (${n} vertices)`);
    const base = chunks.length;
    const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    chunks.push({ bytes: bytes(p.positions), target: ARRAY_BUFFER }, { bytes: bytes(p.normals), target: ARRAY_BUFFER }, { bytes: bytes(p.uvs), target: ARRAY_BUFFER }, { bytes: bytes(p.indices), target: ELEMENT_ARRAY_BUFFER });
    const r = minMax(p.positions, 3);
    accessors.push(
      { bufferView: base, componentType: FLOAT, count: n, type: 'VEC3', min: r.min, max: r.max },
      { bufferView: base + 1, componentType: FLOAT, count: n, type: 'VEC3' },
      { bufferView: base + 2, componentType: FLOAT, count: n, type: 'VEC2' },
      { bufferView: base + 3, componentType: p.indices instanceof Uint16Array ? UNSIGNED_SHORT : UNSIGNED_INT, count: p.indices.length, type: 'SCALAR' },
    );
    meshes.push({ name: p.name, primitives: [{ attributes: { POSITION: base, NORMAL: base + 1, TEXCOORD_0: base + 2 }, indices: base + 3, material: pi, mode: 4 }] });
    materials.push({ name: p.materialName, pbrMetallicRoughness: { baseColorFactor: p.baseColor ?? [1, 1, 1, 1], metallicFactor: 0, roughnessFactor: p.roughness ?? 0.5 } });
    nodes.push({ mesh: pi, name: p.name });
  }
  const { bufferViews, bin, binLength } = packBin(chunks);
  const gltf = {
    asset: { version: '2.0', generator },
    scene: 0,
    scenes: [{ nodes: nodes.map((_, i) => i) }],
    nodes,
    meshes,
    materials,
    accessors,
    bufferViews,
    buffers: [{ byteLength: binLength }],
  };
  return assembleGlb(gltf, bin);
}

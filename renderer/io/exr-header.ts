/** OpenEXR header parsing (single-part), and the little-endian reader the decoder shares. */
import { COMPRESSION_NAMES, MAGIC, PIXEL_TYPE_NAME, type ExrBox2i, type ExrChannelInfo, type ExrHeader } from './exr-format.js';

/** Bounds-checked little-endian reader over a Buffer. */
export class ByteReader {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  need(n: number, what: string): void {
    if (this.pos + n > this.buf.length) {
      throw new Error(`truncated file: need ${n} byte(s) for ${what} at offset ${this.pos}, file has ${this.buf.length}`);
    }
  }
  u8(): number { this.need(1, 'uint8'); return this.buf.readUInt8(this.pos++); }
  i32(): number { this.need(4, 'int32'); const v = this.buf.readInt32LE(this.pos); this.pos += 4; return v; }
  u32(): number { this.need(4, 'uint32'); const v = this.buf.readUInt32LE(this.pos); this.pos += 4; return v; }
  f32(): number { this.need(4, 'float'); const v = this.buf.readFloatLE(this.pos); this.pos += 4; return v; }
  f64(): number { this.need(8, 'double'); const v = this.buf.readDoubleLE(this.pos); this.pos += 8; return v; }
  u64(): number {
    this.need(8, 'uint64');
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
  }
  cstr(max: number, what: string): string {
    const end = this.buf.indexOf(0, this.pos);
    if (end < 0) throw new Error(`truncated file: unterminated ${what} at offset ${this.pos}`);
    if (end - this.pos > max) throw new Error(`corrupt header: ${what} longer than ${max} bytes at offset ${this.pos}`);
    const s = this.buf.toString('utf8', this.pos, end);
    this.pos = end + 1;
    return s;
  }
}

function readBox(r: ByteReader): ExrBox2i {
  return { xMin: r.i32(), yMin: r.i32(), xMax: r.i32(), yMax: r.i32() };
}

/** Parse an OpenEXR header (single-part). Throws on bad magic / truncation. */
export function parseExrHeader(buf: Buffer): ExrHeader {
  if (buf.length < 8) throw new Error(`not an OpenEXR file: only ${buf.length} byte(s)`);
  if (buf.readUInt32LE(0) !== MAGIC) {
    throw new Error(`not an OpenEXR file: bad magic number 0x${buf.readUInt32BE(0).toString(16).padStart(8, '0')} (expected 0x762f3101)`);
  }
  const vf = buf.readUInt32LE(4);
  const version = vf & 0xff;
  const flags = { tiled: !!(vf & 0x200), longNames: !!(vf & 0x400), deep: !!(vf & 0x800), multiPart: !!(vf & 0x1000) };
  const r = new ByteReader(buf);
  r.pos = 8;
  const maxName = flags.longNames ? 255 : 31;
  const attributes: ExrHeader['attributes'] = {};
  for (;;) {
    const name = r.cstr(255, 'attribute name');
    if (name === '') break;
    if (Buffer.byteLength(name) > maxName) throw new Error(`corrupt header: attribute name '${name}' too long without the long-names flag`);
    const type = r.cstr(255, `type of attribute '${name}'`);
    const size = r.i32();
    if (size < 0) throw new Error(`corrupt header: attribute '${name}' has negative size`);
    r.need(size, `attribute '${name}'`);
    const end = r.pos + size;
    let value: unknown;
    const sub = new ByteReader(buf.subarray(0, end));
    sub.pos = r.pos;
    switch (type) {
      case 'string': value = buf.toString('utf8', r.pos, end); break;
      case 'int': value = sub.i32(); break;
      case 'float': value = sub.f32(); break;
      case 'double': value = sub.f64(); break;
      case 'v2f': value = [sub.f32(), sub.f32()]; break;
      case 'v2i': value = [sub.i32(), sub.i32()]; break;
      case 'v3f': value = [sub.f32(), sub.f32(), sub.f32()]; break;
      case 'box2i': value = readBox(sub); break;
      case 'compression': value = COMPRESSION_NAMES[sub.u8()] ?? 'unknown'; break;
      case 'lineOrder': value = (['INCREASING_Y', 'DECREASING_Y', 'RANDOM_Y'] as const)[sub.u8()] ?? 'INCREASING_Y'; break;
      case 'chlist': {
        const list: ExrChannelInfo[] = [];
        for (;;) {
          const cname = sub.cstr(255, 'channel name');
          if (cname === '') break;
          const pt = sub.i32();
          const pLinear = sub.u8();
          sub.pos += 3;
          const xSampling = sub.i32();
          const ySampling = sub.i32();
          const pixelType = PIXEL_TYPE_NAME[pt];
          if (!pixelType) throw new Error(`corrupt header: channel '${cname}' has unknown pixel type ${pt}`);
          list.push({ name: cname, pixelType, pLinear, xSampling, ySampling });
        }
        value = list;
        break;
      }
      default: value = buf.subarray(r.pos, end);
    }
    attributes[name] = { type, value };
    r.pos = end;
  }
  const get = <T>(n: string): T => {
    const a = attributes[n];
    if (!a) throw new Error(`corrupt header: required attribute '${n}' missing`);
    return a.value as T;
  };
  return {
    version,
    flags,
    channels: get<ExrChannelInfo[]>('channels'),
    compression: get<string>('compression'),
    dataWindow: get<ExrBox2i>('dataWindow'),
    displayWindow: attributes.displayWindow ? get<ExrBox2i>('displayWindow') : get<ExrBox2i>('dataWindow'),
    lineOrder: attributes.lineOrder ? get<ExrHeader['lineOrder']>('lineOrder') : 'INCREASING_Y',
    attributes,
    headerSize: r.pos,
  };
}

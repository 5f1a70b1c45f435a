// The relighting kernel as a WebAssembly SIMD module, assembled here byte by byte (no toolchain,
// no binary blob in the repository: what runs is readable below). Validated at load; the tests
// compare it with the plain-JS kernel and with one-hot weights.
//
// Memory: imported, shared (worker threads run the same instance code on the same memory).
//
// relight(stack, weights, out, scratch, nLights, g0, g1, nTargetBlocks, outStride)
//   stack:   group-major half floats: for group g (4 consecutive covered pixels), for light i,
//            12 halfs = 4 pixels x RGB, at stack + (g*nLights + i)*24
//   weights: f32x4 patterns per target block tb, light i, target t (4 per block), k = 0..2:
//            the light's RGB weights laid over the 12 lanes of a group: (r g b r)(g b r g)(b r g b),
//            at weights + ((tb*nLights + i)*4 + t)*48 + k*16
//   out:     float32, target (tb*4 + t) at out + (tb*4 + t)*outStride, group g at +g*48 (4 px x RGB)
//   scratch: nLights*48 bytes, private to the caller (the group converted to float32)
// For each group: half -> float32 once into scratch (exact, incl. denormals: the bits shifted into
// a float32's place, times 2^112), then for each block of 4 targets 12 f32x4 accumulators over all
// lights (3 loads + 12 mul + 12 add per light), stored once. The stack is read once per call
// whatever the number of targets.
//
// readsum(ptr, bytes, outPtr): sums memory as i32x4 lanes (a memory-bandwidth probe for the bench).

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

function str(s: string): number[] {
  const b = [...Buffer.from(s, 'utf8')];
  return [...uleb(b.length), ...b];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

const I32 = 0x7f;
const V128 = 0x7b;

/** A tiny instruction writer for the opcodes the kernels use. */
class Code {
  b: number[] = [];
  op(...x: number[]) {
    this.b.push(...x);
    return this;
  }
  get(i: number) {
    return this.op(0x20, ...uleb(i));
  }
  set(i: number) {
    return this.op(0x21, ...uleb(i));
  }
  i32(v: number) {
    return this.op(0x41, ...sleb(v | 0));
  }
  add() {
    return this.op(0x6a);
  }
  mul() {
    return this.op(0x6c);
  }
  geU() {
    return this.op(0x4f);
  }
  block() {
    return this.op(0x02, 0x40);
  }
  loop() {
    return this.op(0x03, 0x40);
  }
  brIf(depth: number) {
    return this.op(0x0d, ...uleb(depth));
  }
  br(depth: number) {
    return this.op(0x0c, ...uleb(depth));
  }
  end() {
    return this.op(0x0b);
  }
  simd(opcode: number) {
    return this.op(0xfd, ...uleb(opcode));
  }
  simdMem(opcode: number, align: number, offset: number) {
    return this.op(0xfd, ...uleb(opcode), ...uleb(align), ...uleb(offset));
  }
  v128Load(offset = 0) {
    return this.simdMem(0x00, 4, offset);
  }
  v128Store(offset = 0) {
    return this.simdMem(0x0b, 4, offset);
  }
  load16x4U(offset = 0) {
    return this.simdMem(0x04, 3, offset);
  }
  v128ConstI32(a: number, b: number, c: number, d: number) {
    const buf = Buffer.alloc(16);
    buf.writeInt32LE(a | 0, 0);
    buf.writeInt32LE(b | 0, 4);
    buf.writeInt32LE(c | 0, 8);
    buf.writeInt32LE(d | 0, 12);
    return this.op(0xfd, ...uleb(0x0c), ...buf);
  }
  and() {
    return this.simd(0x4e);
  }
  or() {
    return this.simd(0x50);
  }
  i32x4Shl() {
    return this.simd(0xab);
  }
  i32x4Add() {
    return this.simd(0xae);
  }
  f32x4Add() {
    return this.simd(0xe4);
  }
  f32x4Mul() {
    return this.simd(0xe6);
  }
  /** i += k */
  inc(local: number, k: number) {
    return this.get(local).i32(k).add().set(local);
  }
}

function funcBody(locals: [number, number][], code: Code): number[] {
  const decl = [...uleb(locals.length), ...locals.flatMap(([n, t]) => [...uleb(n), t])];
  const body = [...decl, ...code.b, 0x0b];
  return [...uleb(body.length), ...body];
}

function relightBody(): number[] {
  // params
  const STACK = 0, W = 1, OUT = 2, SCRATCH = 3, NL = 4, G0 = 5, G1 = 6, NTB = 7, OSTRIDE = 8;
  // i32 locals
  const g = 9, i = 10, src = 11, sp = 12, wp = 13, tb = 14, op = 15;
  // v128 locals
  const ACC = 16; // 12 accumulators 16..27
  const S0 = 28, cE = 31, cS = 32, cM = 33, h = 34;
  const c = new Code();
  c.v128ConstI32(0x7fff, 0x7fff, 0x7fff, 0x7fff).set(cE);
  c.v128ConstI32(0x8000, 0x8000, 0x8000, 0x8000).set(cS);
  c.v128ConstI32(0x77800000, 0x77800000, 0x77800000, 0x77800000).set(cM); // 2^112 as float32
  c.get(G0).set(g);
  c.block().loop(); // group loop
  {
    c.get(g).get(G1).geU().brIf(1);
    c.get(STACK).get(g).get(NL).mul().i32(24).mul().add().set(src);
    c.get(SCRATCH).set(sp);
    c.i32(0).set(i);
    c.block().loop(); // convert the group's halfs to float32 in scratch
    {
      c.get(i).get(NL).geU().brIf(1);
      for (let k = 0; k < 3; k++) {
        c.get(sp);
        c.get(src).load16x4U(k * 8).set(h);
        c.get(h).get(cE).and().i32(13).i32x4Shl().get(cM).f32x4Mul();
        c.get(h).get(cS).and().i32(16).i32x4Shl().or();
        c.v128Store(k * 16);
      }
      c.inc(src, 24).inc(sp, 48).inc(i, 1).br(0);
    }
    c.end().end();
    c.get(W).set(wp);
    c.i32(0).set(tb);
    c.block().loop(); // target blocks of 4
    {
      c.get(tb).get(NTB).geU().brIf(1);
      for (let a = 0; a < 12; a++) c.v128ConstI32(0, 0, 0, 0).set(ACC + a);
      c.get(SCRATCH).set(sp);
      c.i32(0).set(i);
      c.block().loop(); // lights
      {
        c.get(i).get(NL).geU().brIf(1);
        for (let k = 0; k < 3; k++) c.get(sp).v128Load(k * 16).set(S0 + k);
        for (let t = 0; t < 4; t++) {
          for (let k = 0; k < 3; k++) {
            const a = ACC + t * 3 + k;
            c.get(a).get(S0 + k).get(wp).v128Load((t * 3 + k) * 16).f32x4Mul().f32x4Add().set(a);
          }
        }
        c.inc(sp, 48).inc(wp, 192).inc(i, 1).br(0);
      }
      c.end().end();
      // out + (tb*4)*outStride + g*48
      c.get(OUT).get(tb).i32(4).mul().get(OSTRIDE).mul().add().get(g).i32(48).mul().add().set(op);
      for (let t = 0; t < 4; t++) {
        for (let k = 0; k < 3; k++) c.get(op).get(ACC + t * 3 + k).v128Store(k * 16);
        if (t < 3) c.get(op).get(OSTRIDE).add().set(op);
      }
      c.inc(tb, 1).br(0);
    }
    c.end().end();
    c.inc(g, 1).br(0);
  }
  c.end().end();
  return funcBody([[7, I32], [19, V128]], c);
}

function readsumBody(): number[] {
  const PTR = 0, BYTES = 1, OUTP = 2;
  const end = 3;
  const acc = 4, acc2 = 5;
  const c = new Code();
  c.get(PTR).get(BYTES).add().set(end);
  c.v128ConstI32(0, 0, 0, 0).set(acc);
  c.v128ConstI32(0, 0, 0, 0).set(acc2);
  c.block().loop();
  {
    c.get(PTR).get(end).geU().brIf(1);
    c.get(acc).get(PTR).v128Load(0).i32x4Add().set(acc);
    c.get(acc2).get(PTR).v128Load(16).i32x4Add().set(acc2);
    c.get(acc).get(PTR).v128Load(32).i32x4Add().set(acc);
    c.get(acc2).get(PTR).v128Load(48).i32x4Add().set(acc2);
    c.inc(PTR, 64).br(0);
  }
  c.end().end();
  c.get(OUTP).get(acc).get(acc2).i32x4Add().v128Store(0);
  return funcBody([[1, I32], [2, V128]], c);
}

/**
 * The module bytes; memory imported as env.memory (shared, `maxPages` pages at most).
 *
 * Binary format (WebAssembly core spec 1.0 + SIMD + threads; all integers LEB128): the magic
 * `\0asm` and version 1, then sections as [id, byte length, body], in id order:
 *   1 type     two function types: (i32 x 9) -> () for relight, (i32 x 3) -> () for readsum
 *   2 import   env.memory: kind 0x02 (memory), limits 0x03 (shared, min 1, max `maxPages`)
 *   3 function function i has type i (0: relight, 1: readsum)
 *   7 export   "relight" -> function 0, "readsum" -> function 1
 *  10 code     each body: its size, local declarations (count x type), instructions, 0x0b (end)
 */
export function relightModuleBytes(maxPages: number): Uint8Array<ArrayBuffer> {
  const type0 = [0x60, ...uleb(9), ...new Array(9).fill(I32), 0x00];
  const type1 = [0x60, ...uleb(3), I32, I32, I32, 0x00];
  const types = section(1, [...uleb(2), ...type0, ...type1]);
  // memory import: limits flag 0x03 = shared with maximum
  const imports = section(2, [...uleb(1), ...str('env'), ...str('memory'), 0x02, 0x03, ...uleb(1), ...uleb(maxPages)]);
  const funcs = section(3, [...uleb(2), 0x00, 0x01]);
  const exports = section(7, [...uleb(2), ...str('relight'), 0x00, 0x00, ...str('readsum'), 0x00, 0x01]);
  const code = section(10, [...uleb(2), ...relightBody(), ...readsumBody()]);
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...types, ...imports, ...funcs, ...exports, ...code]);
}

export interface RelightExports {
  relight(stack: number, weights: number, out: number, scratch: number, nLights: number, g0: number, g1: number, nTargetBlocks: number, outStride: number): void;
  readsum(ptr: number, bytes: number, out: number): void;
}

/** Compiles the module (throws with the engine's message when WebAssembly SIMD is unavailable). */
export function compileRelightModule(maxPages: number): WebAssembly.Module {
  const bytes = relightModuleBytes(maxPages);
  if (!WebAssembly.validate(bytes)) throw new Error('relight WebAssembly module does not validate (WebAssembly SIMD or threads unsupported?)');
  return new WebAssembly.Module(bytes);
}

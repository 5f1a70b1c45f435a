// Scan folders in a batch config ({ source: "scans", path, glob, template }): one head per file,
// per-file conventions detected from the mesh (unit, up axis, facing) or refused with the file
// named. Fixtures are made here from a real mesh, the procedural head's GLB, written rotated,
// scaled and mirrored into other conventions (and as OBJ); detection must bring each back to the
// canonical frame. With ../shared/assets, the Lee Perry-Smith scan too.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { parseBatchConfig, contentConfig, type BatchConfig } from '../renderer/pipelines/batch/config.js';
import { planSample } from '../renderer/pipelines/batch/plan.js';
import { prepareBatch } from '../renderer/pipelines/batch/run.js';
import { contentHashOf } from '../renderer/dataset/output-folder.js';
import { resolveHead } from '../renderer/assets/head.js';
import { canonicalMatrix, type Axis } from '../renderer/core/frame.js';
import { encodeGlb, parseGlb, readAccessor } from '../renderer/io/gltf-write.js';
import { PROJECT_ROOT } from '../renderer/io/paths.js';
import { SHARED_ASSETS } from '../renderer/io/asset-roots.js';
import { detectScanConventions, readMeshGeometry, boundsOf } from '../renderer/assets/scan-conventions.js';
import { globToRegExp } from '../renderer/assets/scan-folder.js';
import { skipBecause } from './support/skip.js';

interface Mesh {
  positions: Float32Array;
  normals: Float32Array;
  uvs: Float32Array;
  indices: Uint32Array;
}

function readGlbMesh(file: string): Mesh {
  const parsed = parseGlb(fs.readFileSync(file));
  const prim = parsed.json.meshes[0].primitives[0];
  return {
    positions: Float32Array.from(readAccessor(parsed, prim.attributes.POSITION)),
    normals: Float32Array.from(readAccessor(parsed, prim.attributes.NORMAL)),
    uvs: Float32Array.from(readAccessor(parsed, prim.attributes.TEXCOORD_0)),
    indices: Uint32Array.from(readAccessor(parsed, prim.indices)),
  };
}

const axisVec = (a: Axis) => {
  const v = [0, 0, 0];
  v['XYZ'.indexOf(a[1])] = a[0] === '-' ? -1 : 1;
  return v;
};

/**
 * The canonical mesh (metres, +Y up, face +Z) stored with `up` / `face` as its file axes and
 * `metresPerUnit`: file = R^T canonical / s, the inverse of canonicalMatrix(up, face, s).
 */
function toConvention(m: Mesh, up: Axis, face: Axis, metresPerUnit: number): Mesh {
  const u = axisVec(up);
  const f = axisVec(face);
  const x = [u[1] * f[2] - u[2] * f[1], u[2] * f[0] - u[0] * f[2], u[0] * f[1] - u[1] * f[0]];
  const map = (src: Float32Array, s: number) => {
    const out = new Float32Array(src.length);
    for (let i = 0; i < src.length; i += 3) for (let d = 0; d < 3; d++) out[i + d] = (x[d] * src[i] + u[d] * src[i + 1] + f[d] * src[i + 2]) / s;
    return out;
  };
  return { positions: map(m.positions, metresPerUnit), normals: map(m.normals, 1), uvs: m.uvs, indices: m.indices };
}

function writeObj(file: string, m: Mesh): void {
  const lines = ['# scan-folder test fixture'];
  for (let i = 0; i < m.positions.length; i += 3) lines.push(`v ${m.positions[i]} ${m.positions[i + 1]} ${m.positions[i + 2]}`);
  for (let i = 0; i < m.normals.length; i += 3) lines.push(`vn ${m.normals[i]} ${m.normals[i + 1]} ${m.normals[i + 2]}`);
  for (let i = 0; i < m.uvs.length; i += 2) lines.push(`vt ${m.uvs[i]} ${1 - m.uvs[i + 1]}`); // OBJ: v = 0 at the bottom
  for (let i = 0; i < m.indices.length; i += 3) lines.push('f ' + [0, 1, 2].map((k) => `${m.indices[i + k] + 1}/${m.indices[i + k] + 1}/${m.indices[i + k] + 1}`).join(' '));
  fs.writeFileSync(file, lines.join('\n') + '\n');
}

/** Extents (x, y, z) of a mesh file once its descriptor's conventions are applied (canonicalMatrix). */
function canonicalExtents(file: string, up: Axis, face: Axis, s: number): number[] {
  const P = readMeshGeometry(file).positions;
  const m = canonicalMatrix(up, face, s);
  const out = new Float64Array(P.length);
  for (let i = 0; i < P.length; i += 3) for (let r = 0; r < 3; r++) out[i + r] = m[r] * P[i] + m[4 + r] * P[i + 1] + m[8 + r] * P[i + 2];
  return boundsOf(out).extent;
}

const errorOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  return '';
};

/** The copies: file name, file axes (up, facing), metres per unit, format. */
const COPIES: { file: string; up: Axis; face: Axis; s: number; unit: string }[] = [
  { file: 'a_zup_cm.glb', up: '+Z', face: '-Y', s: 0.01, unit: 'cm' },
  { file: 'b_facing_negx_mm.glb', up: '+Y', face: '-X', s: 0.001, unit: 'mm' },
  { file: 'c_upside_down_inch.obj', up: '-Y', face: '+X', s: 0.0254, unit: 'inch' },
];

describe('scan folders (heads: { source: "scans" })', function () {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vls-scans-'));
  const scans = path.join(tmp, 'vendor');
  let source: Mesh;
  let sourceExtents: number[];
  const made = new Set<string>(); // cache folders this test generated (removed after)
  const parse = (heads: unknown[]): BatchConfig => {
    const c = parseBatchConfig({ heads, samples: 30 });
    for (const h of c.heads) if (/scan-[0-9a-f]{16}$/.test(h)) made.add(path.resolve(PROJECT_ROOT, h));
    return c;
  };
  const template = { maps: { albedo: 'textures/{name}_albedo.png', roughness: 'textures/roughness.png' }, license: 'test fixture' };

  before(async function () {
    const proc = await resolveHead('procedural');
    source = readGlbMesh(proc.files.mesh);
    sourceExtents = boundsOf(Float64Array.from(source.positions)).extent;
    fs.mkdirSync(path.join(scans, 'textures'), { recursive: true });
    for (const c of COPIES) {
      const m = toConvention(source, c.up, c.face, c.s);
      if (c.file.endsWith('.obj')) writeObj(path.join(scans, c.file), m);
      else fs.writeFileSync(path.join(scans, c.file), encodeGlb(m));
      fs.copyFileSync(proc.files.albedo!, path.join(scans, 'textures', `${path.basename(c.file, path.extname(c.file))}_albedo.png`));
    }
    fs.copyFileSync(proc.files.roughness!, path.join(scans, 'textures', 'roughness.png'));
    fs.writeFileSync(path.join(scans, 'notes.txt'), 'not a mesh');
  });

  after(function () {
    fs.rmSync(tmp, { recursive: true, force: true });
    for (const d of made) fs.rmSync(d, { recursive: true, force: true });
    // And those of scans a refused entry had already written (their detected.json names the file).
    const heads = path.join(PROJECT_ROOT, 'output', '.cache', 'heads');
    for (const d of fs.readdirSync(heads).filter((n) => n.startsWith('scan-'))) {
      try {
        if ((JSON.parse(fs.readFileSync(path.join(heads, d, 'detected.json'), 'utf8')) as { file: string }).file.startsWith(tmp)) fs.rmSync(path.join(heads, d), { recursive: true, force: true });
      } catch {
        /* not one of ours */
      }
    }
  });

  it('expands a folder into one head per file, each detected back to the canonical frame (bbox within 1%)', async function () {
    const config = parse([{ source: 'scans', path: scans, template }]);
    expect(config.heads).to.have.length(3);
    for (const [i, ref] of config.heads.entries()) {
      const c = COPIES[i];
      const h = await resolveHead(ref);
      expect(h.descriptorPath.startsWith(path.join(PROJECT_ROOT, 'output', '.cache', 'heads', 'scan-')), h.descriptorPath).to.equal(true);
      const d = h.descriptor;
      expect(h.files.mesh).to.equal(path.join(scans, c.file));
      expect([d.upAxis, d.facing, d.scaleToMetres], c.file).to.deep.equal([c.up, c.face, c.s]);
      expect(d.id).to.equal(path.basename(c.file, path.extname(c.file)));
      expect(d.uvOrigin).to.equal(c.file.endsWith('.obj') ? 'bottom-left' : 'top-left');
      expect(h.files.albedo).to.equal(path.join(scans, 'textures', `${d.id}_albedo.png`));
      expect(d.license).to.equal('test fixture');
      // The descriptor's conventions bring the copy back: the same box as the source mesh.
      const ext = canonicalExtents(h.files.mesh, d.upAxis, d.facing, d.scaleToMetres);
      for (let a = 0; a < 3; a++) expect(Math.abs(ext[a] / sourceExtents[a] - 1), `${c.file} extent ${'XYZ'[a]}: ${ext[a]} vs ${sourceExtents[a]}`).to.be.lessThan(0.01);
      const rec = JSON.parse(fs.readFileSync(path.join(path.dirname(h.descriptorPath), 'detected.json'), 'utf8'));
      expect(rec.detected).to.have.members(['scaleToMetres', 'upAxis', 'facing']);
      expect(rec.evidence.unit).to.equal(c.unit);
      expect(fs.readdirSync(path.dirname(h.descriptorPath)).filter((f) => f.includes('.tmp-')), 'temp files').to.deep.equal([]);
    }
  });

  it('keeps the template\'s conventions and detects only the rest', function () {
    // Declared upside down on purpose: the template wins (it is the user's word), nothing detected.
    const config = parse([{ source: 'scans', path: scans, glob: 'a_*.glb', template: { upAxis: '-Z', facing: '-Y', scaleToMetres: 0.01 } }]);
    const d = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, config.heads[0], 'head.json'), 'utf8'));
    expect([d.upAxis, d.facing, d.scaleToMetres]).to.deep.equal(['-Z', '-Y', 0.01]);
    // Only the facing given: up and the unit are detected.
    const r = detectScanConventions(path.join(scans, 'a_zup_cm.glb'), { facing: '-Y' });
    expect([r.upAxis, r.facing, r.scaleToMetres, r.detected.sort().join()]).to.deep.equal(['+Z', '-Y', 0.01, 'scaleToMetres,upAxis']);
    const r2 = detectScanConventions(path.join(scans, 'b_facing_negx_mm.glb'), { upAxis: '+Y', scaleToMetres: 0.001 });
    expect([r2.upAxis, r2.facing, r2.detected.join()]).to.deep.equal(['+Y', '-X', 'facing']);
  });

  it('plans deterministically: every scan is one entry of heads, drawn uniformly', function () {
    const a = parse([{ source: 'scans', path: scans, template }]);
    const b = parse(['procedural', { source: 'scans', path: scans, template }]);
    const again = parse([{ source: 'scans', path: scans, template }]);
    expect(again.heads).to.deep.equal(a.heads);
    expect(b.heads).to.deep.equal(['procedural', ...a.heads]);
    const drawn = Array.from({ length: 30 }, (_, i) => planSample(a, i).head);
    expect(Array.from({ length: 30 }, (_, i) => planSample(again, i).head)).to.deep.equal(drawn);
    for (const h of a.heads) expect(drawn.filter((d) => d === h).length, h).to.be.within(4, 18);
    expect(planSample(a, 7).lightings[0].spec.head).to.equal(drawn[7]);
  });

  it('changes the batch identity when a file is added (a resume is refused; back when it is removed)', async function () {
    const entry = [{ source: 'scans', path: scans, template }];
    const hash = (c: BatchConfig) => contentHashOf(contentConfig(c));
    const before = hash(parse(entry));
    expect(hash(parse(entry)), 'stable').to.equal(before);
    // A batch folder started with this list: resuming it after a file was added is refused.
    const out = path.join(tmp, 'out');
    await prepareBatch(parse(entry), { outDir: out });
    const extra = path.join(scans, 'd_extra.glb');
    fs.writeFileSync(extra, encodeGlb(source));
    fs.copyFileSync(path.join(scans, 'textures', 'a_zup_cm_albedo.png'), path.join(scans, 'textures', 'd_extra_albedo.png'));
    try {
      const grown = parse(entry);
      expect(grown.heads).to.have.length(4);
      expect(hash(grown)).to.not.equal(before);
      const refused = await prepareBatch(grown, { outDir: out }).then(
        () => '',
        (err: Error) => err.message,
      );
      expect(refused).to.match(/holds samples of a different batch config \(differs in: heads\)/);
      // A changed file (same name) changes it too.
      fs.writeFileSync(extra, encodeGlb(toConvention(source, '+Y', '+Z', 0.001)));
      expect(hash(parse(entry))).to.not.equal(hash(grown));
    } finally {
      fs.rmSync(extra);
    }
    expect(hash(parse(entry))).to.equal(before);
  });

  it('refuses an ambiguous mesh (a cube) with its file and the template fields named', function () {
    const dir = path.join(tmp, 'ambiguous');
    fs.mkdirSync(dir);
    const v = [0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1].map((x) => x * 22); // 22 cm
    const f = [1, 3, 2, 1, 4, 3, 5, 6, 7, 5, 7, 8, 1, 2, 6, 1, 6, 5, 3, 4, 8, 3, 8, 7, 2, 3, 7, 2, 7, 6, 1, 5, 8, 1, 8, 4];
    const obj = [...Array.from({ length: 8 }, (_, i) => `v ${v[i * 3]} ${v[i * 3 + 1]} ${v[i * 3 + 2]}`), ...Array.from({ length: 12 }, (_, i) => `f ${f[i * 3]} ${f[i * 3 + 1]} ${f[i * 3 + 2]}`)].join('\n');
    fs.writeFileSync(path.join(dir, 'cube.obj'), obj + '\n');
    fs.copyFileSync(path.join(scans, 'a_zup_cm.glb'), path.join(dir, 'a_head.glb'));
    const msg = errorOf(() => parse(['procedural', { source: 'scans', path: dir }]));
    expect(msg).to.match(/field "heads\.1\.path": scan .*ambiguous\/cube\.obj: cannot tell the left-right axis.*set template\.upAxis and template\.facing/);
    // The user's word settles it: with the conventions in the template the cube is accepted.
    const ok = parse([{ source: 'scans', path: dir, glob: 'cube.obj', template: { upAxis: '+Y', facing: '+Z', scaleToMetres: 0.01 } }]);
    expect(ok.heads).to.have.length(1);
  });

  it('names the field and the file: missing folder, no matches, a bad template, a map pattern naming a missing file', function () {
    expect(errorOf(() => parse(['procedural', 'procedural', { source: 'scans', path: path.join(tmp, 'nope') }]))).to.match(/field "heads\.2\.path": scan folder ".*nope" does not exist/);
    expect(errorOf(() => parse([{ source: 'scans', path: scans, glob: '*.fbx' }]))).to.match(/field "heads\.0\.glob": pattern "\*\.fbx" matches no files in .*vendor/);
    expect(errorOf(() => parse([{ source: 'scans', path: path.join(scans, 'textures') }]))).to.match(/field "heads\.0\.path": scan folder .*textures holds no \.glb\/\.gltf\/\.obj files/);
    expect(errorOf(() => parse([{ source: 'scans', path: scans, glob: '*.txt' }]))).to.match(/field "heads\.0\.glob": pattern "\*\.txt" matches .*notes\.txt, which is not a mesh/);
    expect(errorOf(() => parse([{ source: 'scans', path: scans, template: { upAxis: 'up' } }]))).to.match(/field "heads\.0\.template\.upAxis": Invalid option/);
    expect(errorOf(() => parse([{ source: 'scans', path: scans, template: { material: { roughness: 7 } } }]))).to.match(/field "heads\.0\.template\.material\.roughness": Too big/);
    expect(errorOf(() => parse([{ source: 'scans', path: scans, template: { mesh: 'x.glb' } }]))).to.match(/field "heads\.0\.template": Unrecognized key: "mesh": mesh is per scan/);
    expect(errorOf(() => parse([{ source: 'scans', path: scans, template: { upAxis: '+Y', facing: '-Y' } }]))).to.match(/field "heads\.0\.template\.facing": template\.upAxis \+Y and template\.facing -Y must be perpendicular/);
    expect(errorOf(() => parse([{ source: 'scans', path: scans, extra: 1 }]))).to.match(/field "heads\.0": Unrecognized key: "extra"/);
    const missing = errorOf(() => parse([{ source: 'scans', path: scans, template: { maps: { normal: 'textures/{name}_normal.png' } } }]));
    expect(missing).to.match(/field "heads\.0\.template\.maps\.normal": scan .*vendor\/a_zup_cm\.glb: template\.maps\.normal "textures\/\{name\}_normal\.png" names .*textures\/a_zup_cm_normal\.png, which does not exist/);
  });

  it('globs: *, ?, **, {a,b}, [..] over relative paths', function () {
    expect(globToRegExp('*.glb').test('a.glb')).to.equal(true);
    expect(globToRegExp('*.glb').test('sub/a.glb')).to.equal(false);
    expect(globToRegExp('**/*.{glb,obj}').test('sub/deeper/a.obj')).to.equal(true);
    expect(globToRegExp('**/*.{glb,obj}').test('a.glb')).to.equal(true);
    expect(globToRegExp('head_[0-9]?.glb').test('head_12.glb')).to.equal(true);
    expect(globToRegExp('head_[!0-9]?.glb').test('head_12.glb')).to.equal(false);
    expect(globToRegExp('a+b (1).glb').test('a+b (1).glb')).to.equal(true);
    const sub = path.join(tmp, 'nested', 'x');
    fs.mkdirSync(sub, { recursive: true });
    fs.copyFileSync(path.join(scans, 'b_facing_negx_mm.glb'), path.join(sub, 'b.glb'));
    const c = parse([{ source: 'scans', path: path.join(tmp, 'nested'), glob: '**/*.glb' }]);
    expect(c.heads).to.have.length(1);
  });

  it('the Lee Perry-Smith scan: axes detected from the raw GLB, its unit (not m/cm/mm/inch) refused with the field named', async function () {
    const file = path.join(SHARED_ASSETS, 'heads', 'lee_perry_smith', 'LeePerrySmith.glb');
    if (!fs.existsSync(file)) skipBecause(this, `Lee Perry-Smith scan not found at ${file}`);
    // head.json (curated by hand): upAxis +Y, facing +Z, scaleToMetres 0.0425 (1 unit = 4.25 cm).
    expect(errorOf(() => detectScanConventions(file))).to.match(/LeePerrySmith\.glb: cannot tell the unit: .*no unit fits; set template\.scaleToMetres/);
    const r = detectScanConventions(file, { scaleToMetres: 0.0425 });
    expect([r.upAxis, r.facing]).to.deep.equal(['+Y', '+Z']);
    // As a scan folder entry (the folder holds one mesh and its maps).
    const config = parse([{ source: 'scans', path: path.dirname(file), template: { scaleToMetres: 0.0425, uvOrigin: 'bottom-left', maps: { albedo: 'Map-COL.jpg' } } }]);
    const h = await resolveHead(config.heads[0]);
    expect([h.descriptor.upAxis, h.descriptor.facing, h.descriptor.scaleToMetres]).to.deep.equal(['+Y', '+Z', 0.0425]);
    // Rotated copies of the real scan, in millimetres: detected like the procedural head's.
    const lps = readGlbMesh(file);
    const metres = { ...lps, positions: lps.positions.map((x) => x * 0.0425) };
    const dir = path.join(tmp, 'lps');
    fs.mkdirSync(dir);
    const copies: [string, Axis, Axis][] = [['zup.glb', '+Z', '+X'], ['negx.glb', '-X', '-Z']];
    for (const [name, up, face] of copies) fs.writeFileSync(path.join(dir, name), encodeGlb(toConvention(metres, up, face, 0.001)));
    const lc = parse([{ source: 'scans', path: dir }]);
    const names = copies.map((c) => c[0]).sort();
    for (const [i, ref] of lc.heads.entries()) {
      const [, up, face] = copies.find((c) => c[0] === names[i])!;
      const d = (await resolveHead(ref)).descriptor;
      expect([d.upAxis, d.facing, d.scaleToMetres], names[i]).to.deep.equal([up, face, 0.001]);
    }
  });

  it('renders a detected scan like the source head (real Chromium: the mask covers the same face)', async function () {
    const { Renderer } = await import('../renderer/engine/renderer.js');
    const { parseSampleSpec } = await import('../renderer/core/spec.js');
    const config = parse([{ source: 'scans', path: scans, glob: 'a_*.glb', template }]);
    const renderer = await Renderer.launch({});
    try {
      const S = 96;
      const render = (head: string) =>
        renderer.renderSample(parseSampleSpec({ head, width: S, height: S, camera: { yawDeg: 20, pitchDeg: 5, distance: 0.7 }, passes: ['mask', 'depth'], render: { envVisibility: false, bounce: false, msaa: 1 } }));
      const a = await render('procedural');
      const b = await render(config.heads[0]);
      let inter = 0;
      let union = 0;
      let depthErr = 0;
      for (let p = 0; p < S * S; p++) {
        const ma = a.mask[p] > 0.5;
        const mb = b.mask[p] > 0.5;
        if (ma && mb) {
          inter++;
          depthErr = Math.max(depthErr, Math.abs(a.modes.depth![p] - b.modes.depth![p]));
        }
        if (ma || mb) union++;
      }
      expect(inter / union, 'silhouette IoU').to.be.greaterThan(0.99);
      expect(inter / (S * S), 'the head fills the frame').to.be.greaterThan(0.15);
      // The face is toward the camera: the frame centre is covered and nearer than the head's centre.
      expect(b.mask[(S / 2) * S + S / 2]).to.be.greaterThan(0.99);
      expect(b.modes.depth![(S / 2) * S + S / 2]).to.be.lessThan(0.7);
      expect(depthErr, 'depth difference (m)').to.be.lessThan(0.005);
    } finally {
      await renderer.close();
    }
  });
});

/**
 * The dataset records (renderer/dataset/records.ts): the schemas accept what the builders write
 * (sample.json of a batch and of an OLAT relit triplet, meta.json, frame.json), the builders write
 * the same bytes as the object literals they replaced plus `format_version`, a wrong type is
 * refused naming the file and the field, and a record of another format version (version 1 = no
 * field) is recognised: refused by default, listed with a warning by the server's index. No browser.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveCamera } from '../renderer/core/camera.js';
import { parseSampleSpec } from '../renderer/core/spec.js';
import { planSample } from '../renderer/pipelines/batch/plan.js';
import { parseBatchConfig } from '../renderer/pipelines/batch/config.js';
import { ENCODING_FILES, LATLONG_HEIGHT, LATLONG_WIDTH } from '../renderer/dataset/encodings.js';
import { SAMPLE_VERSION } from '../renderer/dataset/layout.js';
import { buildMeta } from '../renderer/dataset/write-sample.js';
import { checkFolderIdentity, contentHashOf } from '../renderer/dataset/output-folder.js';
import {
  DATASET_FORMAT_VERSION,
  FrameRecordSchema,
  ManifestEntrySchema,
  MetaRecordSchema,
  RecordVersionError,
  SampleRecordSchema,
  parseRecord,
  readRecord,
  writeRecord,
  type SampleRecord,
} from '../renderer/dataset/records.js';
import { buildFrameRecord, buildSampleRecord, cameraRecord, encodingsRecord, lightingEntry, sampleHeadRecord } from '../renderer/dataset/sample-record.js';
import { DatasetIndexes, formatSummary } from '../server/dataset-index.js';
import { PROJECT_ROOT } from '../renderer/io/paths.js';
import type { RenderedSample, RendererInfo } from '../renderer/develop/rendered.js';

const config = parseBatchConfig({ name: 'rec', samples: 4, width: 32, height: 32, seed: 5, envMaps: ['builtin:studio', 'builtin:city'] });
const plan = planSample(config, 1);
const camera = resolveCamera({ ...plan.lightings[0].spec.camera, width: 32, height: 32 });
const sh9 = Float32Array.from({ length: 27 }, (_, i) => i / 7);
const descriptor = { id: 'procedural', name: 'Procedural head', license: 'CC0-1.0', attribution: null };
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** sample.json of batch sample 1 through the builders. */
function batchSample(): SampleRecord {
  return buildSampleRecord({
    index: plan.index,
    id: plan.id,
    seed: plan.seed,
    head: sampleHeadRecord(plan.head, { descriptor, contentHash: 'abc123' }),
    drawnCamera: plan.camera,
    camera: cameraRecord(camera),
    augment: plan.augment,
    lighting: plan.lighting,
    lightings: plan.lightings.map((L, k) =>
      lightingEntry({ key: L.key, role: L.role, lighting: L.lighting, passes: L.passes, sh9, cameraSim: k === 0 ? { fileName: 'camera.jpg', record: { iso: 100 } } : null }),
    ),
    files: ['input_i/beauty.exr', 'sample.json'],
    run: { worker: 0, attempt: 1, repairs: 0, timingsMs: { input_i: 12, total: 40 }, createdAt: '2024-01-01T00:00:00.000Z' },
  });
}

/** The object literal renderer/pipelines/batch/run.ts wrote before the builders (format version 1). */
function batchSampleLiteral(): Record<string, unknown> {
  return {
    sampleVersion: SAMPLE_VERSION,
    index: plan.index,
    id: plan.id,
    seed: plan.seed,
    head: { ref: plan.head, id: descriptor.id, name: descriptor.name, contentHash: 'abc123', license: descriptor.license, attribution: null },
    camera: {
      drawn: plan.camera,
      width: camera.width,
      height: camera.height,
      fovYDeg: (camera.fovYRad * 180) / Math.PI,
      position: camera.position,
      target: camera.target,
      up: camera.up,
      K: camera.K,
      worldToCameraCV: camera.worldToCameraCV,
      cameraToWorldGL: camera.cameraToWorldGL,
    },
    augment: plan.augment,
    lighting: plan.lighting,
    lightings: plan.lightings.map((L, k) => ({
      key: L.key,
      folder: L.key,
      role: L.role,
      lighting: L.lighting,
      passes: L.passes,
      ...(k === 0 ? { camera: { file: `${L.key}/camera.jpg`, record: { iso: 100 } } } : {}),
      encodings: { latlong16: `${L.key}/${ENCODING_FILES.latlong}`, latlongShape: [LATLONG_HEIGHT, LATLONG_WIDTH, 3], sh9File: `${L.key}/${ENCODING_FILES.sh9}`, sh9: Array.from(sh9) },
    })),
    files: ['input_i/beauty.exr', 'sample.json'],
    run: { worker: 0, attempt: 1, repairs: 0, timingsMs: { input_i: 12, total: 40 }, createdAt: '2024-01-01T00:00:00.000Z' },
  };
}

function fakeRendered(): { sample: RenderedSample; info: RendererInfo } {
  const spec = parseSampleSpec({ width: 32, height: 32, seed: 3, passes: ['beauty', 'mask'] });
  const sample = {
    spec,
    camera: resolveCamera({ ...spec.camera, width: 32, height: 32 }),
    head: { descriptor, contentHash: 'abc123', descriptorPath: 'procedural', files: { mesh: 'procedural' } },
    headBounds: { min: [-0.1, -0.1, -0.1], max: [0.1, 0.1, 0.1] },
    width: 32,
    height: 32,
    modes: {},
    mask: new Float32Array(32 * 32),
    background: null,
    timings: { totalMs: 1, pageMs: 1, transferMs: 0, decodeMs: 0, page: { setupMs: 0, shadowMs: 0, renderMs: {}, readMs: {}, uploadMs: 0 } },
    uploadBytes: 0,
  } as unknown as RenderedSample;
  const info: RendererInfo = { backend: 'swiftshader', webglRenderer: 'test', backendReason: 'test', chromium: '1', babylon: '9', launchMs: 0, pageReadyMs: 0 };
  return { sample, info };
}

const withoutVersion = (r: object) => {
  const { format_version: _v, ...rest } = r as { format_version?: number };
  return rest;
};

describe('dataset records', () => {
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vls-records-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('the format version starts at 2 and the Python loader reads the same one', () => {
    expect(DATASET_FORMAT_VERSION).to.be.a('number').and.to.be.at.least(2);
    const py = fs.readFileSync(path.join(PROJECT_ROOT, 'scripts', 'load_dataset.py'), 'utf8');
    expect(Number(/^FORMAT_VERSION = (\d+)$/m.exec(py)?.[1]), 'scripts/load_dataset.py FORMAT_VERSION').to.equal(DATASET_FORMAT_VERSION);
    expect(py).to.include(`reads dataset format version ${DATASET_FORMAT_VERSION}`);
  });

  it('sample.json from the builders: accepted, and the same bytes as the old literal plus format_version (first)', () => {
    const s = batchSample();
    expect(parseRecord(s, SampleRecordSchema, 'sample.json')).to.equal(s);
    expect(Object.keys(s)[0]).to.equal('format_version');
    expect(s.format_version).to.equal(DATASET_FORMAT_VERSION);
    expect(JSON.stringify(withoutVersion(s), null, 2)).to.equal(JSON.stringify(batchSampleLiteral(), null, 2));
    // a manifest line: sample.json without run
    const { run: _run, ...line } = clone(s);
    expect(() => parseRecord(line, ManifestEntrySchema, 'manifest.jsonl line 1')).not.to.throw();
  });

  it('an OLAT relit triplet (provenance, weights, no worker) is a sample record too', () => {
    const lightings = plan.lightings.map((L) => lightingEntry({ key: L.key, role: L.role, lighting: L.lighting, passes: ['beauty', 'mask'], sh9, weights: { fileName: 'olat_weights.f32', sha256: 'ff' } }));
    const s = buildSampleRecord({
      index: 0,
      id: '000000',
      seed: 1,
      head: { ref: 'procedural', id: 'procedural', name: 'p', contentHash: 'abc', license: null, attribution: null },
      drawnCamera: { yawDeg: 0 },
      camera: cameraRecord(camera),
      augment: { applied: false },
      lighting: { b1: 0.5 },
      lightings,
      provenance: { source: 'olat', weights: { layout: 'x', perLighting: lightings.map((l) => l.weights) } },
      files: [],
      run: { timingsMs: { total: 3 }, createdAt: 'now' },
    });
    expect(() => parseRecord(clone(s), SampleRecordSchema, 'relit sample.json')).not.to.throw();
    expect(s.lightings[0].weights).to.deep.equal({ file: 'input_i/olat_weights.f32', sha256: 'ff' });
    expect(Object.keys(s.lightings[0])).to.deep.equal(['key', 'folder', 'role', 'lighting', 'passes', 'encodings', 'weights']);
  });

  it('meta.json from buildMeta and render-one encodings are accepted', () => {
    const { sample, info } = fakeRendered();
    const passes = [{ pass: 'mask', file: 'mask.png', format: 'png' as const, channels: ['Y'], pixelType: 'uint16' as const, description: 'coverage' }];
    const meta = buildMeta(sample, info, passes, 5, { encodings: encodingsRecord(sh9) });
    expect(Object.keys(meta).slice(0, 2)).to.deep.equal(['format_version', 'metaVersion']);
    expect(() => parseRecord(clone(meta), MetaRecordSchema, 'meta.json')).not.to.throw();
    expect(meta.camera.conventions).to.be.a('string');
    expect((meta.extra!.encodings as { latlong16: string }).latlong16).to.equal(ENCODING_FILES.latlong);
  });

  it('frame.json from buildFrameRecord is accepted', () => {
    const L = plan.lightings[0].lighting;
    const frame = buildFrameRecord({
      index: 2,
      id: '000002',
      timeS: 0.08,
      headPose: { yawDeg: 1, pitchDeg: 0, rollDeg: 0, translation: [0, 0, 0], rotation: [[1, 0, 0], [0, 1, 0], [0, 0, 1]], headToWorld: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]] },
      worldCamera: { position: camera.position, target: camera.target, up: camera.up },
      worldFovYDeg: 25,
      renderCamera: camera,
      renderOrbit: { yawDeg: 0 },
      lightingFrame: 'world',
      input: { world: L, render: L },
      target: null,
      encodings: [{ role: 'input', sh9 }],
      cameraSim: null,
      repairs: 0,
    });
    expect(() => parseRecord(clone(frame), FrameRecordSchema, 'frame.json')).not.to.throw();
    expect(frame.encodings.input!.latlong16).to.equal(`input/${ENCODING_FILES.latlong}`);
    expect(frame.cameras.render.fovYDeg).to.equal(camera.fovYRad / (Math.PI / 180));
  });

  it('a wrong type is refused naming the file and the field path', () => {
    const s = clone(batchSample()) as unknown as { lightings: { key: unknown }[]; camera: { K: unknown } };
    s.lightings[1].key = 5;
    const file = path.join(tmp, 'bad-sample.json');
    fs.writeFileSync(file, JSON.stringify(s));
    expect(() => readRecord(file, SampleRecordSchema)).to.throw(Error, `sample.json ${file}: field "lightings.1.key"`);
    const m = clone(batchSample()) as unknown as { camera: { K: unknown } };
    m.camera.K = 'identity';
    expect(() => parseRecord(m, SampleRecordSchema, 'x')).to.throw('field "camera.K"');
    expect(() => parseRecord({ ...batchSample(), extra: 1 }, SampleRecordSchema, 'x')).to.throw(/field "\(root\)".*extra/);
    expect(() => parseRecord({ ...batchSample(), format_version: 'two' }, SampleRecordSchema, 'x')).to.throw('field "format_version"');
  });

  it('a version 1 record (no format_version) is recognised: refused by default, read with anyVersion', () => {
    const v1 = JSON.parse(JSON.stringify(batchSampleLiteral()));
    const file = path.join(tmp, 'v1-sample.json');
    fs.writeFileSync(file, JSON.stringify(v1));
    let err: unknown = null;
    try {
      readRecord(file, SampleRecordSchema);
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(RecordVersionError);
    expect((err as RecordVersionError).found).to.equal(1);
    expect((err as Error).message).to.include(file).and.include(`written by format version 1 (no "format_version" field), this reader reads ${DATASET_FORMAT_VERSION}: re-render`);
    const read = readRecord(file, SampleRecordSchema, { anyVersion: true });
    expect(read.format_version).to.equal(1);
    expect(read.lightings).to.have.length(3);
    // newer than this reader
    expect(() => parseRecord({ ...batchSample(), format_version: DATASET_FORMAT_VERSION + 1 }, SampleRecordSchema, 'y')).to.throw(RecordVersionError, `written by format version ${DATASET_FORMAT_VERSION + 1}, this reader reads ${DATASET_FORMAT_VERSION}: update`);
  });

  it('writeRecord validates before it writes, and writes the record as built', async () => {
    const s = batchSample();
    const file = path.join(tmp, 'sample.json');
    await writeRecord(file, s, SampleRecordSchema, { fsync: false });
    expect(fs.readFileSync(file, 'utf8')).to.equal(JSON.stringify(s, null, 2) + '\n');
    const bad = { ...s, seed: 1.5 };
    const file2 = path.join(tmp, 'refused.json');
    let err: Error | null = null;
    await writeRecord(file2, bad, SampleRecordSchema).catch((e: Error) => (err = e));
    expect(err!.message).to.include('refused.json').and.include('field "seed"');
    expect(fs.existsSync(file2)).to.equal(false);
  });

  it('an output folder of another format version is refused before anything is rendered', () => {
    const dir = path.join(tmp, 'old-batch');
    fs.mkdirSync(dir);
    const content = { seed: 1 };
    fs.writeFileSync(path.join(dir, 'batch.json'), JSON.stringify({ name: 'x', contentHash: contentHashOf(content), content }));
    expect(() => checkFolderIdentity(dir, 'batch.json', contentHashOf(content), content, { items: 'samples', config: 'batch config' })).to.throw(
      `holds samples of dataset format version 1 (batch.json has no "format_version"); this checkout writes version ${DATASET_FORMAT_VERSION}`,
    );
    fs.writeFileSync(path.join(dir, 'batch.json'), JSON.stringify({ format_version: DATASET_FORMAT_VERSION, contentHash: contentHashOf(content), content }));
    expect(() => checkFolderIdentity(dir, 'batch.json', contentHashOf(content), content, { items: 'samples', config: 'batch config' })).not.to.throw();
    expect(() => checkFolderIdentity(dir, 'batch.json', contentHashOf({ seed: 2 }), { seed: 2 }, { items: 'samples', config: 'batch config' })).to.throw(/different batch config \(differs in: seed\)/);
  });

  it("the server's index lists a dataset of an older format version with a warning", async () => {
    const root = path.join(tmp, 'out');
    const ds = path.join(root, 'mixed');
    fs.mkdirSync(path.join(ds, 'samples', '000000'), { recursive: true });
    fs.mkdirSync(path.join(ds, 'samples', '000001'), { recursive: true });
    fs.writeFileSync(path.join(ds, 'batch.json'), '{}');
    fs.writeFileSync(path.join(ds, 'samples', '000000', 'sample.json'), JSON.stringify({ ...batchSampleLiteral(), index: 0, id: '000000' }));
    fs.writeFileSync(path.join(ds, 'samples', '000001', 'sample.json'), JSON.stringify(batchSample()));
    const idx = (await new DatasetIndexes(root).get('mixed'))!;
    expect(idx.sorted.map((r) => r.id)).to.deep.equal(['000000', '000001']);
    const f = formatSummary(idx);
    expect(f.reads).to.equal(DATASET_FORMAT_VERSION);
    expect(f.found).to.deep.equal({ 1: 1, [DATASET_FORMAT_VERSION]: 1 });
    expect(f.warning).to.include('1 of 2 sample(s) written by format version 1');
  });
});

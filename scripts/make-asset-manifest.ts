// Maintainer tool: regenerates assets/public-assets.json (the fetch-assets manifest) from a local
// copy of the assets laid out like ../shared/assets: sizes and SHA-256 come from the files, the
// upstream URLs and licences from the tables below.
//   npx tsx scripts/make-asset-manifest.ts [--from DIR]
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import crypto from 'node:crypto';
import { Command } from 'commander';
import { PROJECT_ROOT } from '../renderer/io/paths.js';
import { SHARED_ASSETS } from '../renderer/io/asset-roots.js';
import { writeJsonAtomic } from '../renderer/io/fs-atomic.js';

const o = new Command('make-asset-manifest')
  .description('Regenerate assets/public-assets.json from a local asset folder (sizes, SHA-256).')
  .option('--from <dir>', 'asset folder laid out like ../shared/assets', SHARED_ASSETS)
  .option('--out <file>', 'manifest to write', path.join(PROJECT_ROOT, 'assets', 'public-assets.json'))
  .parse()
  .opts<{ from: string; out: string }>();

const sha = (b: Buffer): string => crypto.createHash('sha256').update(b).digest('hex');
const ICT = 'https://github.com/ICT-VGL/ICT-FaceKit/raw/da5f95a/FaceXModel/';
const LPS = 'https://raw.githubusercontent.com/mrdoob/three.js/r160/examples/models/gltf/LeePerrySmith/';
const PH = 'https://dl.polyhaven.org/file/ph-assets/HDRIs/hdr/{res}/{name}_{res}.hdr';

function fileEntry(rel: string, url: string | null, extra: Record<string, unknown> = {}) {
  const buf = fs.readFileSync(path.join(o.from, rel));
  return { path: rel, url, size: buf.length, sha256: sha(buf), ...extra };
}

const ictDir = 'heads/ict_facekit';
const ictFiles = fs.readdirSync(path.join(o.from, ictDir)).sort().map((f) => {
  const rel = `${ictDir}/${f}`;
  if (f.endsWith('.obj.gz')) {
    // Upstream serves the plain .obj; the cache stores it gzipped like ../shared/assets.
    const plain = zlib.gunzipSync(fs.readFileSync(path.join(o.from, rel)));
    return fileEntry(rel, ICT + f.slice(0, -3), { gzip: true, sourceSize: plain.length, sourceSha256: sha(plain) });
  }
  const upstream: Record<string, string> = { LICENSE: '../LICENSE', 'UPSTREAM_README.md': 'README.md', 'CREDITS.md': '../CREDITS.md', 'vertex_indices.json': 'vertex_indices.json', 'ICTFaceModelMaterial.mtl': 'ICTFaceModelMaterial.mtl' };
  return fileEntry(rel, upstream[f] ? new URL(upstream[f], ICT).href : null);
});

const lpsDir = 'heads/lee_perry_smith';
const lpsFiles = fs.readdirSync(path.join(o.from, lpsDir)).sort().map((f) =>
  fileEntry(`${lpsDir}/${f}`, f.startsWith('preview_') ? null : LPS + f));

const hdrNames = fs.readdirSync(path.join(o.from, 'envmaps')).filter((f) => f.endsWith('_1k.hdr')).map((f) => f.slice(0, -7)).sort();
const checksums: Record<string, Record<string, { size: number; sha256: string }>> = { '1k': {} };
for (const n of hdrNames) {
  const { size, sha256 } = fileEntry(`envmaps/${n}_1k.hdr`, null);
  checksums['1k'][n] = { size, sha256 };
}

const manifest = {
  $comment: 'Public assets for `npm run fetch-assets`. Regenerate with scripts/make-asset-manifest.ts. path: destination relative to the cache (same layout as ../shared/assets); url: upstream (null = only from a --base-url mirror); gzip: upstream serves the plain file (sourceSha256), stored gzipped.',
  groups: [
    {
      id: 'ict_facekit',
      title: 'ICT Face Model Light (ICT-FaceKit, USC Institute for Creative Technologies)',
      license: 'MIT',
      licenseUrl: 'https://github.com/ICT-VGL/ICT-FaceKit/blob/master/LICENSE',
      attribution: 'ICT Face Model Light (ICT-FaceKit), USC Institute for Creative Technologies, MIT License (github.com/ICT-VGL/ICT-FaceKit); cite Li et al., "Learning Formation of Physically-Based Face Attributes", CVPR 2020.',
      files: ictFiles,
    },
    {
      id: 'lee_perry_smith',
      title: '"Infinite, 3D Head Scan" by Lee Perry-Smith',
      license: 'CC-BY-3.0',
      licenseUrl: 'https://creativecommons.org/licenses/by/3.0/',
      attribution: '"Infinite, 3D Head Scan" by Lee Perry-Smith (Infinite-Realities, ir-ltd.net), CC BY 3.0 (https://creativecommons.org/licenses/by/3.0/); glTF conversion from the three.js examples (github.com/mrdoob/three.js, examples/models/gltf/LeePerrySmith).',
      files: lpsFiles,
    },
    {
      id: 'hdris',
      title: 'Poly Haven HDRIs',
      license: 'CC0-1.0',
      licenseUrl: 'https://creativecommons.org/publicdomain/zero/1.0/',
      attribution: 'HDRIs from Poly Haven (polyhaven.com), CC0; no attribution required.',
      files: [fileEntry('envmaps/LICENSE-CC0-1.0.txt', null)],
      hdris: { urlTemplate: PH, pathTemplate: 'envmaps/{name}_{res}.hdr', resolutions: ['1k', '2k', '4k'], names: hdrNames, checksums },
    },
  ],
};
await writeJsonAtomic(o.out, manifest);
console.log(`${o.out}: ${ictFiles.length + lpsFiles.length + 1} files + ${hdrNames.length} HDRIs`);

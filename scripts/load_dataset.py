#!/usr/bin/env python3
"""Load a virtual-light-stage dataset in Python (numpy + Pillow; torch optional).

    /usr/bin/python3 scripts/load_dataset.py output/default            # summary of every sample
    /usr/bin/python3 scripts/load_dataset.py output/default --tar      # read the WebDataset shards
    /usr/bin/python3 scripts/load_dataset.py output/default --json     # per-sample statistics as JSON

Dataset format: this loader reads dataset format version 2 (FORMAT_VERSION below; the records'
"format_version" field, renderer/dataset/records.ts DATASET_FORMAT_VERSION; a record without the
field is version 1, written before the field existed). A manifest line of another version raises
DatasetError naming the line, the sample and both versions: re-render the dataset with the matching
checkout, or read it with the load_dataset.py of the checkout that wrote it.

Layout (see dataset_card.md): manifest.jsonl has one JSON line per sample; each sample folder holds
one folder per lighting (input_i, input_j, target_k for triplets; single otherwise) with linear HDR
EXRs (beauty RGBA half, diffuse, specular; albedo, normal_world, normal_camera, depth and mask.png
only with the first lighting), the lighting encodings env_latlong16.f32 (16x16x3 float32 LE, row 0 =
zenith) and env_sh9.f32 (9x3 float32, coefficient-major) and meta.json.

The EXR reader below handles what this project writes (scanline, NONE/ZIPS/ZIP, HALF/FLOAT/UINT)
with numpy and zlib only, so nothing beyond Debian's python3-numpy and python3-pil is needed. Files
from other tools (PIZ, DWA, tiled) need OpenEXR or imageio instead.

Errors: every problem with the data (a missing, truncated or corrupt file, a bad manifest line, WebDataset
shards that disagree with the manifest: missing samples, extra ones, or no tars at all) raises
DatasetError, whose message names the file and the sample id; the CLI prints that one line and
exits 1. --tar refuses a tar set that does not hold exactly the manifest's samples.

torch (optional, python3-torch on Debian): RelightingDataset(dataset)[i] is a dict of CHW float32
tensors: input / target (beauty RGB of input_i / target_k), albedo, normal, mask (1xHxW) and
target_light (3x16x16 lat-long of the target lighting); segmentation (HxW int64 label ids,
segmentation_labels(dataset) names them) and landmarks (68x2 pixels) + landmarks_visible (68 bool)
when the dataset has them.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import struct
import sys
import tarfile
import zlib
from typing import Dict, Iterator

import numpy as np
from PIL import Image


class DatasetError(Exception):
    """A dataset file is missing, truncated or corrupt, or the files disagree; the message names it."""


# The dataset format version this loader reads (renderer/dataset/records.ts DATASET_FORMAT_VERSION;
# test/records.test.ts keeps the two equal). Records without "format_version" are version 1.
FORMAT_VERSION = 2


def format_version(record: dict) -> int:
    """A record's format_version: 1 when it has none, -1 when it is not a positive integer."""
    v = record.get('format_version', 1)
    return v if isinstance(v, int) and not isinstance(v, bool) and v >= 1 else -1


# --------------------------------------------------------------------------------------------
# EXR (scanline NONE / ZIPS / ZIP)

_PIXEL_DTYPE = {0: np.dtype('<u4'), 1: np.dtype('<f2'), 2: np.dtype('<f4')}
_LINES_PER_CHUNK = {0: 1, 2: 1, 3: 16}  # NONE, ZIPS, ZIP


def _read_header(buf: bytes):
    if struct.unpack_from('<I', buf, 0)[0] != 20000630:
        raise ValueError('not an OpenEXR file (bad magic number)')
    version = struct.unpack_from('<I', buf, 4)[0]
    if version & 0x200:
        raise ValueError('tiled EXR files are not supported by this reader')
    pos = 8
    attrs = {}
    while buf[pos] != 0:
        end = buf.index(b'\0', pos)
        name = buf[pos:end].decode()
        pos = end + 1
        end = buf.index(b'\0', pos)
        typ = buf[pos:end].decode()
        pos = end + 1
        size = struct.unpack_from('<i', buf, pos)[0]
        pos += 4
        attrs[name] = (typ, buf[pos:pos + size])
        pos += size
    pos += 1
    chans = []
    body = attrs['channels'][1]
    p = 0
    while body[p] != 0:
        end = body.index(b'\0', p)
        cname = body[p:end].decode()
        p = end + 1
        ptype, xs, ys = struct.unpack_from('<i4xii', body, p)
        p += 16
        if xs != 1 or ys != 1:
            raise ValueError('subsampled channels are not supported')
        chans.append((cname, ptype))
    compression = attrs['compression'][1][0]
    if compression not in _LINES_PER_CHUNK:
        raise ValueError(f'EXR compression {compression} not supported here (only NONE, ZIPS, ZIP)')
    x0, y0, x1, y1 = struct.unpack('<iiii', attrs['dataWindow'][1])
    return chans, compression, (x0, y0, x1, y1), pos


def _undo_zip_prepass(data: bytes) -> bytes:
    t = np.frombuffer(data, dtype=np.uint8).astype(np.int32)
    t = np.cumsum(np.concatenate([t[:1], t[1:] - 128]), dtype=np.int64) & 0xFF  # undo the delta predictor
    t = t.astype(np.uint8)
    half = (len(t) + 1) // 2
    out = np.empty_like(t)
    out[0::2] = t[:half]
    out[1::2] = t[half:]
    return out.tobytes()


def read_exr(path: str) -> Dict[str, np.ndarray]:
    """Channel name -> float32 (or uint32) array of shape (height, width), row 0 = top."""
    try:
        with open(path, 'rb') as f:
            buf = f.read()
    except OSError as e:
        raise DatasetError(f'{path}: cannot be read: {e.strerror or e}') from None
    return decode_exr(buf, path)


def decode_exr(buf: bytes, name: str) -> Dict[str, np.ndarray]:
    """read_exr on bytes; `name` (a path or tar member) is named in errors."""
    try:
        return _decode_exr(buf)
    except DatasetError as e:
        raise DatasetError(f'{name}: {e}') from None
    except (ValueError, KeyError, IndexError, struct.error, zlib.error) as e:
        # truncated files end mid-header (ValueError from bytes.index, struct.error) or mid-chunk
        raise DatasetError(f'{name}: not a readable EXR (truncated or corrupt: {type(e).__name__}: {e})') from None


def _decode_exr(buf: bytes) -> Dict[str, np.ndarray]:
    chans, compression, (x0, y0, x1, y1), pos = _read_header(buf)
    w, h = x1 - x0 + 1, y1 - y0 + 1
    lines = _LINES_PER_CHUNK[compression]
    nchunks = (h + lines - 1) // lines
    offsets = struct.unpack_from(f'<{nchunks}Q', buf, pos)
    out = {name: np.empty((h, w), dtype=np.float32 if t != 0 else np.uint32) for name, t in chans}
    for off in offsets:
        if off + 8 > len(buf):
            raise DatasetError(f'truncated: a chunk starts at byte {off}, the file has {len(buf)} bytes')
        y, size = struct.unpack_from('<ii', buf, off)
        if not (y0 <= y <= y1) or size < 0:
            raise DatasetError(f'corrupt chunk at byte {off} (line {y}, size {size})')
        if off + 8 + size > len(buf):
            raise DatasetError(f'truncated: the chunk of line {y} needs bytes up to {off + 8 + size}, the file has {len(buf)}')
        data = buf[off + 8:off + 8 + size]
        n = min(lines, y1 + 1 - y)
        raw_size = sum(_PIXEL_DTYPE[t].itemsize for _, t in chans) * w * n
        if compression != 0 and size < raw_size:
            data = _undo_zip_prepass(zlib.decompress(data))
        if len(data) != raw_size:
            raise DatasetError(f'corrupt chunk of line {y}: {len(data)} bytes of pixels, expected {raw_size}')
        p = 0
        for row in range(n):
            for name, t in chans:
                dt = _PIXEL_DTYPE[t]
                out[name][y - y0 + row] = np.frombuffer(data, dtype=dt, count=w, offset=p)
                p += dt.itemsize * w
    return out


def exr_rgb(path: str) -> np.ndarray:
    """(H, W, 3) float32 from R, G, B channels (plus A as a 4th when present)."""
    return _rgb(read_exr(path), path)


def _rgb(c: Dict[str, np.ndarray], name: str) -> np.ndarray:
    if not all(k in c for k in 'RGB'):
        raise DatasetError(f'{name}: no R, G, B channels (has {", ".join(sorted(c))})')
    keys = [k for k in ('R', 'G', 'B', 'A') if k in c]
    return np.stack([c[k] for k in keys], axis=-1)


# --------------------------------------------------------------------------------------------
# samples


def read_manifest(dataset: str) -> list:
    path = os.path.join(dataset, 'manifest.jsonl')
    try:
        with open(path, encoding='utf-8') as f:
            lines = f.readlines()
    except OSError as e:
        raise DatasetError(f'{path}: cannot be read ({e.strerror or e}); is {dataset} a finished dataset?') from None
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            e = json.loads(line)
        except ValueError as err:
            raise DatasetError(f'{path}: line {n} is not JSON ({err})') from None
        if not isinstance(e, dict) or not isinstance(e.get('id'), str) or not isinstance(e.get('lightings'), list):
            raise DatasetError(f'{path}: line {n} is not a sample entry (needs "id" and "lightings")')
        v = format_version(e)
        if v != FORMAT_VERSION:
            found = f'format version {v}' + (' (no "format_version" field)' if 'format_version' not in e else '') if v > 0 else f'an invalid "format_version" {e.get("format_version")!r}'
            fix = 'update this loader' if v > FORMAT_VERSION else 're-render the dataset with this checkout, or read it with the load_dataset.py of the checkout that wrote it'
            raise DatasetError(f"{path}: line {n} (sample {e['id']}) was written by {found}, this loader reads {FORMAT_VERSION}: {fix}")
        out.append(e)
    return out


def _f32(path: str, shape: tuple) -> np.ndarray:
    try:
        a = np.fromfile(path, dtype='<f4')
    except OSError as e:
        raise DatasetError(f'{path}: cannot be read: {e.strerror or e}') from None
    if a.size != int(np.prod(shape)):
        raise DatasetError(f'{path}: {a.size * 4} bytes, expected {int(np.prod(shape)) * 4} (float32 {shape}): truncated or corrupt')
    return a.reshape(shape)


def _png16(path: str) -> np.ndarray:
    try:
        with Image.open(path) as im:
            return np.asarray(im, dtype=np.float32) / 65535.0
    except (OSError, ValueError, SyntaxError) as e:  # PIL raises these for missing/truncated files
        raise DatasetError(f'{path}: not a readable PNG ({e})') from None


def _png8(path: str) -> np.ndarray:
    try:
        with Image.open(path) as im:
            if im.mode != 'L':
                raise DatasetError(f'{path}: expected an 8-bit grey PNG of label ids, got mode {im.mode}')
            return np.asarray(im, dtype=np.uint8)
    except (OSError, ValueError, SyntaxError) as e:
        raise DatasetError(f'{path}: not a readable PNG ({e})') from None


def segmentation_labels(dataset: str) -> list:
    """The label table of segmentation.png (dataset.json "segmentation.labels": id, name, color, coarse, ...)."""
    path = os.path.join(dataset, 'dataset.json')
    try:
        with open(path, encoding='utf8') as f:
            d = json.load(f)
    except (OSError, ValueError) as e:
        raise DatasetError(f'{path}: cannot be read ({e})') from None
    seg = d.get('segmentation')
    if not seg:
        raise DatasetError(f'{path}: no "segmentation" table (the batch wrote no segmentation pass)')
    return seg['labels']


def load_sample(dataset: str, entry: dict) -> dict:
    """Everything the papers' losses use, as numpy arrays (linear HDR, float32)."""
    try:
        return _load_sample(dataset, entry)
    except DatasetError as e:
        raise DatasetError(f"sample {entry.get('id')}: {e}") from None
    except (KeyError, TypeError, IndexError) as e:
        raise DatasetError(f"sample {entry.get('id')}: manifest entry lacks {e} ({os.path.join(dataset, 'manifest.jsonl')})") from None


def _load_sample(dataset: str, entry: dict) -> dict:
    root = os.path.join(dataset, 'samples', entry['id'])
    first = entry['lightings'][0]['folder']
    out = {
        'id': entry['id'],
        'seed': entry['seed'],
        'K': np.array(entry['camera']['K'], dtype=np.float64),
        'world_to_camera_cv': np.array(entry['camera']['worldToCameraCV'], dtype=np.float64),
        'albedo': exr_rgb(os.path.join(root, first, 'albedo.exr')),
        'normal': exr_rgb(os.path.join(root, first, 'normal_world.exr')),
        'depth': read_exr(os.path.join(root, first, 'depth.exr'))['Z'],
        # 16-bit PNG: coverage in [0, 1]
        'mask': _png16(os.path.join(root, first, 'mask.png')),
        # 8-bit label ids (segmentation_labels), or None when the batch wrote no segmentation pass
        'segmentation': _png8(os.path.join(root, first, 'segmentation.png')) if os.path.exists(os.path.join(root, first, 'segmentation.png')) else None,
        # 68 Multi-PIE points in pixels (x right, y down, corner origin), visibility, distance (m); None without landmarks
        'landmarks': ({'points': np.array(entry['landmarks']['points'], dtype=np.float32),
                       'visible': np.array(entry['landmarks']['visible'], dtype=bool),
                       'distance': np.array(entry['landmarks']['distance'], dtype=np.float32)} if entry.get('landmarks') else None),
        'lightings': {},
    }
    for l in entry['lightings']:
        d = os.path.join(root, l['folder'])
        out['lightings'][l['key']] = {
            'role': l['role'],
            'beauty': exr_rgb(os.path.join(d, 'beauty.exr')),
            'diffuse': exr_rgb(os.path.join(d, 'diffuse.exr')) if os.path.exists(os.path.join(d, 'diffuse.exr')) else None,
            'specular': exr_rgb(os.path.join(d, 'specular.exr')) if os.path.exists(os.path.join(d, 'specular.exr')) else None,
            'env_latlong16': _f32(os.path.join(d, 'env_latlong16.f32'), (16, 16, 3)),
            'env_sh9': _f32(os.path.join(d, 'env_sh9.f32'), (9, 3)),
        }
    return out


def webdataset_tars(dataset: str) -> list:
    """wds/*.tar, checked against the manifest: exactly its samples, each in one tar (else DatasetError)."""
    wds = os.path.join(dataset, 'wds')
    ids = [e['id'] for e in read_manifest(dataset)]
    try:
        tars = [os.path.join(wds, n) for n in sorted(os.listdir(wds)) if n.endswith('.tar')]
    except OSError as e:
        raise DatasetError(f'{wds}: cannot be listed ({e.strerror or e}); the manifest lists {len(ids)} samples (was output.webdataset on?)') from None
    if not tars:
        raise DatasetError(f'{wds}: no .tar shards, but {os.path.join(dataset, "manifest.jsonl")} lists {len(ids)} samples (rerun the batch to rewrite them)')
    seen: Dict[str, str] = {}
    for t in tars:
        try:
            with tarfile.open(t) as tf:
                keys = {m.name.partition('.')[0] for m in tf}
        except (OSError, tarfile.TarError, EOFError) as e:
            raise DatasetError(f'{t}: not a readable tar ({e})') from None
        for k in sorted(keys):
            if k in seen:
                raise DatasetError(f'{t}: sample {k} is also in {seen[k]}')
            seen[k] = t
    missing = [i for i in ids if i not in seen]
    extra = sorted(set(seen) - set(ids))
    if missing or extra:
        what = []
        if missing:
            what.append(f'missing samples {", ".join(missing[:10])}{" ..." if len(missing) > 10 else ""} ({len(missing)} of {len(ids)})')
        if extra:
            what.append(f'samples not in the manifest {", ".join(extra[:10])}{" ..." if len(extra) > 10 else ""} (in {seen[extra[0]]})')
        raise DatasetError(f'{wds}: the shards disagree with {os.path.join(dataset, "manifest.jsonl")}: ' + '; '.join(what))
    return tars


def iter_webdataset(dataset: str) -> Iterator[dict]:
    """Samples from wds/*.tar: key -> {inner path: bytes}, grouped as WebDataset does; '__tar__' names the shard."""
    for path in webdataset_tars(dataset):
        try:
            with tarfile.open(path) as tf:
                cur, files = None, {}
                for m in tf:
                    key, _, ext = m.name.partition('.')
                    if cur is not None and key != cur:
                        yield {'__key__': cur, '__tar__': path, **files}
                        files = {}
                    cur = key
                    f = tf.extractfile(m)
                    if f is None:
                        raise DatasetError(f'{path}: member {m.name} (sample {key}) is not a file')
                    files[ext] = f.read()
                if cur is not None:
                    yield {'__key__': cur, '__tar__': path, **files}
        except (OSError, tarfile.TarError, EOFError) as e:
            raise DatasetError(f'{path}: not a readable tar ({e})') from None


try:  # optional: a torch Dataset over the same loader (python3-torch on Debian)
    import torch
    from torch.utils.data import Dataset as _TorchDataset

    class RelightingDataset(_TorchDataset):
        """(input image, target image, mask, target lighting 16x16 map) per sample, CHW tensors; plus the
        parsing labels (HxW int64, for eq. 6's loss) and 68 landmarks (68x2, with a visibility mask) when written."""

        def __init__(self, dataset: str, input_key: str = 'input_i', target_key: str = 'target_k'):
            self.dataset, self.entries = dataset, read_manifest(dataset)
            self.input_key, self.target_key = input_key, target_key

        def __len__(self):
            return len(self.entries)

        def __getitem__(self, i):
            s = load_sample(self.dataset, self.entries[i])
            chw = lambda a: torch.from_numpy(np.ascontiguousarray(a[..., :3].transpose(2, 0, 1)))
            li, lk = s['lightings'][self.input_key], s['lightings'][self.target_key]
            return {
                'input': chw(li['beauty']),
                'target': chw(lk['beauty']),
                'albedo': chw(s['albedo']),
                'normal': chw(s['normal']),
                'mask': torch.from_numpy(s['mask'])[None],
                'target_light': torch.from_numpy(lk['env_latlong16'].transpose(2, 0, 1).copy()),
                **({'segmentation': torch.from_numpy(s['segmentation'].astype(np.int64))} if s['segmentation'] is not None else {}),
                **({'landmarks': torch.from_numpy(s['landmarks']['points']), 'landmarks_visible': torch.from_numpy(s['landmarks']['visible'])} if s['landmarks'] is not None else {}),
            }
except ImportError:  # torch not installed: the numpy loader still works
    RelightingDataset = None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('dataset', help='dataset folder (with manifest.jsonl)')
    ap.add_argument('--tar', action='store_true', help='read the WebDataset shards instead of the folders')
    ap.add_argument('--json', action='store_true', help='print per-sample statistics as JSON')
    a = ap.parse_args()
    try:
        return _run(a)
    except DatasetError as e:
        sys.stdout.flush()
        print(f'load_dataset.py: error: {e}', file=sys.stderr)
        return 1


def _run(a) -> int:
    if a.tar:
        n = 0
        for s in iter_webdataset(a.dataset):
            beauty = [k for k in s if k.endswith('beauty.exr')]
            name = f"{s['__tar__']}: {s['__key__']}.{beauty[0]}" if beauty else ''
            try:
                rgb = exr_rgb_bytes(s[beauty[0]], name) if beauty else None
            except DatasetError as e:
                raise DatasetError(f"sample {s['__key__']}: {e}") from None
            print(f"{s['__key__']}: {len(s) - 2} files, first beauty {None if rgb is None else rgb.shape}")
            n += 1
        print(f'{n} samples from WebDataset shards')
        return 0
    stats = []
    for e in read_manifest(a.dataset):
        s = load_sample(a.dataset, e)
        m = s['mask'] > 0.5
        st = {
            'id': s['id'],
            'shape': list(s['mask'].shape),
            'maskSum': float(s['mask'].sum(dtype=np.float64)),
            'normalLenMean': float(np.linalg.norm(s['normal'][m][:, :3], axis=-1).mean()) if m.any() else None,
            'depthMean': float(s['depth'][m].mean()) if m.any() else None,
            'beautyMean': {k: float(v['beauty'][..., :3].mean(dtype=np.float64)) for k, v in s['lightings'].items()},
            'sh9Dc': {k: v['env_sh9'][0].tolist() for k, v in s['lightings'].items()},
            'segClasses': None if s['segmentation'] is None else sorted(int(v) for v in np.unique(s['segmentation'])),
            'landmarksVisible': None if s['landmarks'] is None else int(s['landmarks']['visible'].sum()),
        }
        stats.append(st)
        if not a.json:
            print(f"{st['id']}: {st['shape'][1]}x{st['shape'][0]}, mask {st['maskSum']:.0f} px, |n| {st['normalLenMean']:.4f}, depth {st['depthMean']:.3f} m, "
                  + ', '.join(f'{k} {v:.4f}' for k, v in st['beautyMean'].items()))
    if a.json:
        json.dump(stats, sys.stdout)
    elif RelightingDataset is not None:
        item = RelightingDataset(a.dataset)[0]
        print('torch:', {k: tuple(v.shape) for k, v in item.items()})
    return 0


def exr_rgb_bytes(data: bytes, name: str = '<bytes>') -> np.ndarray:
    """exr_rgb on the bytes of an EXR (a tar member); `name` is named in errors."""
    return _rgb(decode_exr(data, name), name)


if __name__ == '__main__':
    sys.exit(main())

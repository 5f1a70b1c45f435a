#!/usr/bin/env python3
"""Load a virtual-light-stage dataset in Python (numpy + Pillow; torch optional).

    /usr/bin/python3 scripts/load_dataset.py output/default            # summary of every sample
    /usr/bin/python3 scripts/load_dataset.py output/default --tar      # read the WebDataset shards
    /usr/bin/python3 scripts/load_dataset.py output/default --json     # per-sample statistics as JSON

Layout (see dataset_card.md): manifest.jsonl has one JSON line per sample; each sample folder holds
one folder per lighting (input_i, input_j, target_k for triplets; single otherwise) with linear HDR
EXRs (beauty RGBA half, diffuse, specular; albedo, normal_world, normal_camera, depth and mask.png
only with the first lighting), the lighting encodings env_latlong16.f32 (16x16x3 float32 LE, row 0 =
zenith) and env_sh9.f32 (9x3 float32, coefficient-major) and meta.json.

The EXR reader below handles what this project writes (scanline, NONE/ZIPS/ZIP, HALF/FLOAT/UINT)
with numpy and zlib only, so nothing beyond Debian's python3-numpy and python3-pil is needed. Files
from other tools (PIZ, DWA, tiled) need OpenEXR or imageio instead.
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
    with open(path, 'rb') as f:
        buf = f.read()
    chans, compression, (x0, y0, x1, y1), pos = _read_header(buf)
    w, h = x1 - x0 + 1, y1 - y0 + 1
    lines = _LINES_PER_CHUNK[compression]
    nchunks = (h + lines - 1) // lines
    offsets = struct.unpack_from(f'<{nchunks}Q', buf, pos)
    out = {name: np.empty((h, w), dtype=np.float32 if t != 0 else np.uint32) for name, t in chans}
    for off in offsets:
        y, size = struct.unpack_from('<ii', buf, off)
        data = buf[off + 8:off + 8 + size]
        n = min(lines, y1 + 1 - y)
        raw_size = sum(_PIXEL_DTYPE[t].itemsize for _, t in chans) * w * n
        if compression != 0 and size < raw_size:
            data = _undo_zip_prepass(zlib.decompress(data))
        p = 0
        for row in range(n):
            for name, t in chans:
                dt = _PIXEL_DTYPE[t]
                out[name][y - y0 + row] = np.frombuffer(data, dtype=dt, count=w, offset=p)
                p += dt.itemsize * w
    return out


def exr_rgb(path: str) -> np.ndarray:
    """(H, W, 3) float32 from R, G, B channels (plus A as a 4th when present)."""
    c = read_exr(path)
    keys = [k for k in ('R', 'G', 'B', 'A') if k in c]
    return np.stack([c[k] for k in keys], axis=-1)


# --------------------------------------------------------------------------------------------
# samples


def read_manifest(dataset: str) -> list:
    with open(os.path.join(dataset, 'manifest.jsonl'), encoding='utf-8') as f:
        return [json.loads(line) for line in f if line.strip()]


def load_sample(dataset: str, entry: dict) -> dict:
    """Everything the papers' losses use, as numpy arrays (linear HDR, float32)."""
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
        'mask': np.asarray(Image.open(os.path.join(root, first, 'mask.png')), dtype=np.float32) / 65535.0,
        'lightings': {},
    }
    for l in entry['lightings']:
        d = os.path.join(root, l['folder'])
        out['lightings'][l['key']] = {
            'role': l['role'],
            'beauty': exr_rgb(os.path.join(d, 'beauty.exr')),
            'diffuse': exr_rgb(os.path.join(d, 'diffuse.exr')) if os.path.exists(os.path.join(d, 'diffuse.exr')) else None,
            'specular': exr_rgb(os.path.join(d, 'specular.exr')) if os.path.exists(os.path.join(d, 'specular.exr')) else None,
            'env_latlong16': np.fromfile(os.path.join(d, 'env_latlong16.f32'), dtype='<f4').reshape(16, 16, 3),
            'env_sh9': np.fromfile(os.path.join(d, 'env_sh9.f32'), dtype='<f4').reshape(9, 3),
        }
    return out


def iter_webdataset(dataset: str) -> Iterator[dict]:
    """Samples from wds/*.tar: key -> {inner path: bytes}, grouped as WebDataset does."""
    wds = os.path.join(dataset, 'wds')
    for name in sorted(os.listdir(wds)):
        if not name.endswith('.tar'):
            continue
        with tarfile.open(os.path.join(wds, name)) as tf:
            cur, files = None, {}
            for m in tf:
                key, _, ext = m.name.partition('.')
                if cur is not None and key != cur:
                    yield {'__key__': cur, **files}
                    files = {}
                cur = key
                files[ext] = tf.extractfile(m).read()
            if cur is not None:
                yield {'__key__': cur, **files}


try:  # optional: a torch Dataset over the same loader (python3-torch on Debian)
    import torch
    from torch.utils.data import Dataset as _TorchDataset

    class RelightingDataset(_TorchDataset):
        """(input image, target image, mask, target lighting 16x16 map) per sample, CHW tensors."""

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
            }
except ImportError:  # torch not installed: the numpy loader still works
    RelightingDataset = None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('dataset', help='dataset folder (with manifest.jsonl)')
    ap.add_argument('--tar', action='store_true', help='read the WebDataset shards instead of the folders')
    ap.add_argument('--json', action='store_true', help='print per-sample statistics as JSON')
    a = ap.parse_args()
    if a.tar:
        n = 0
        for s in iter_webdataset(a.dataset):
            beauty = [k for k in s if k.endswith('beauty.exr')]
            rgb = exr_rgb_bytes(s[beauty[0]]) if beauty else None
            print(f"{s['__key__']}: {len(s) - 1} files, first beauty {None if rgb is None else rgb.shape}")
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


def exr_rgb_bytes(data: bytes) -> np.ndarray:
    import tempfile
    with tempfile.NamedTemporaryFile(suffix='.exr') as f:
        f.write(data)
        f.flush()
        return exr_rgb(f.name)


if __name__ == '__main__':
    sys.exit(main())

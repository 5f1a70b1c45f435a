// Node-only. A loopback HTTP server that feeds the render page: its bundle, head files
// (only under registered roots), environment buffers from memory, and receives pixel uploads.
// Binary over loopback HTTP avoids the DevTools protocol's base64/JSON costs.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import type { AddressInfo } from 'node:net';

const MIME: Record<string, string> = {
  '.js': 'text/javascript',
  '.html': 'text/html',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.glb': 'model/gltf-binary',
  '.gltf': 'model/gltf+json',
  '.bin': 'application/octet-stream',
  '.obj': 'text/plain',
  '.mtl': 'text/plain',
};

const MAX_UPLOAD_BYTES = 1 << 30;

export class PageServer {
  private server: http.Server;
  private roots = new Map<string, string>();
  private blobs = new Map<string, Buffer>();
  static readonly MAX_BLOBS = 16;
  private uploads = new Map<string, { resolve: (b: Buffer) => void; reject: (e: Error) => void }>();
  private origin = '';

  constructor(private bundleDir: string) {
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 60_000;
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.origin = `http://127.0.0.1:${port}`;
    return this.origin;
  }

  get url(): string {
    return this.origin;
  }

  close(): Promise<void> {
    for (const u of this.uploads.values()) u.reject(new Error('page server closed'));
    this.uploads.clear();
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Makes the files under `dir` reachable by the page; returns the URL prefix. */
  addRoot(dir: string): string {
    const abs = path.resolve(dir);
    const id = crypto.createHash('sha256').update(abs).digest('hex').slice(0, 16);
    this.roots.set(id, abs);
    return `${this.origin}/files/${id}/`;
  }

  fileUrl(file: string): string {
    const abs = path.resolve(file);
    return this.addRoot(path.dirname(abs)) + encodeURIComponent(path.basename(abs));
  }

  /** Serves a buffer from memory at a stable URL (env maps). */
  putBlob(key: string, data: Buffer): string {
    this.blobs.delete(key);
    this.blobs.set(key, data);
    // The page fetches a blob right after it is put (mixed lightings make one per render): keep a
    // few recent ones, not every map of a long batch.
    while (this.blobs.size > PageServer.MAX_BLOBS) this.blobs.delete(this.blobs.keys().next().value as string);
    return `${this.origin}/blob/${encodeURIComponent(key)}`;
  }

  hasBlob(key: string): boolean {
    return this.blobs.has(key);
  }

  blobUrl(key: string): string {
    return `${this.origin}/blob/${encodeURIComponent(key)}`;
  }

  /** A one-shot upload slot: the page POSTs to the URL; the promise gets the body. */
  expectUpload(): { url: string; body: Promise<Buffer>; cancel: () => void } {
    const id = crypto.randomBytes(12).toString('hex');
    const body = new Promise<Buffer>((resolve, reject) => this.uploads.set(id, { resolve, reject }));
    body.catch(() => undefined);
    return { url: `${this.origin}/upload/${id}`, body, cancel: () => this.uploads.delete(id) };
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const parts = url.pathname.split('/').filter(Boolean);
    const send = (code: number, body: string | Buffer, type = 'text/plain') => {
      res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method === 'POST' && parts[0] === 'upload' && parts.length === 2) {
      const slot = this.uploads.get(parts[1]);
      if (!slot) return send(404, 'no such upload');
      this.uploads.delete(parts[1]);
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_UPLOAD_BYTES) {
          slot.reject(new Error('upload too large'));
          req.destroy();
        } else chunks.push(c);
      });
      req.on('end', () => {
        slot.resolve(Buffer.concat(chunks, size));
        send(200, 'ok');
      });
      req.on('error', (e) => slot.reject(e));
      return;
    }
    if (req.method !== 'GET') return send(405, 'method not allowed');
    if (parts.length === 0) {
      return send(200, '<!doctype html><html><head><meta charset="utf-8"></head><body style="margin:0"><script type="module" src="/bundle/main.js"></script></body></html>', 'text/html');
    }
    if (parts[0] === 'blob' && parts.length === 2) {
      const b = this.blobs.get(decodeURIComponent(parts[1]));
      return b ? send(200, b, 'application/octet-stream') : send(404, 'no such blob');
    }
    let base: string | undefined;
    let rel: string[];
    if (parts[0] === 'bundle') {
      base = this.bundleDir;
      rel = parts.slice(1);
    } else if (parts[0] === 'files' && parts.length >= 3) {
      base = this.roots.get(parts[1]);
      rel = parts.slice(2);
    } else return send(404, 'not found');
    if (!base) return send(404, 'unknown root');
    const file = path.resolve(base, ...rel.map(decodeURIComponent));
    if (file !== base && !file.startsWith(base + path.sep)) return send(404, 'not found');
    fs.readFile(file, (err, data) => {
      if (err) return send(404, 'not found');
      send(200, data, MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream');
    });
  }
}

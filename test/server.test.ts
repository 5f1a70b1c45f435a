/**
 * The orchestrator (server/): the HTTP API over a real Express server, real batches in real
 * Chromium, and the distributed mode against a real redis-server (Debian's) with two worker
 * processes. Checks: bad configs are rejected with the field path; file routes never serve
 * anything outside their roots; progress arrives over SSE; cancel + resume completes the same
 * dataset; the Redis mode (two workers, one of them killed mid-shard in the second test) writes
 * the same manifest as the embedded mode.
 */
import { expect } from 'chai';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Server } from 'node:http';
import { createApp } from '../server/app.js';
import { JobManager, type JobView, type JobExecutor } from '../server/jobs.js';
import { EmbeddedExecutor } from '../server/executor-embedded.js';
import { QueueExecutor } from '../server/executor-queue.js';
import { PROJECT_ROOT } from '../renderer/io/paths.js';
import type { BatchConfigInput } from '../renderer/pipelines/batch/config.js';
import { skipBecause } from './support/skip.js';

const CONFIG: BatchConfigInput = {
  heads: ['procedural'],
  envMaps: ['builtin:studio', 'builtin:city'],
  width: 64,
  height: 64,
  samples: 4,
  seed: 5,
  shardSize: 1,
  workers: 1,
  augment: { cropProbability: 0.5, cropScale: [0.75, 1] },
  render: { msaa: 1, envCubeSize: 32, shadowMapSize: 256 },
};

interface Running {
  base: string;
  jobs: JobManager;
  server: Server;
  close: () => Promise<void>;
}

async function startServer(outputRoot: string, executor: JobExecutor, assetRoots: string[] = []): Promise<Running> {
  const jobs = new JobManager({ outputRoot, executor });
  const app = createApp({ jobs, assetRoots: assetRoots.map((dir, i) => ({ name: `assets${i}`, dir })), allowedHosts: ['127.0.0.1', 'localhost'] });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    base: `http://127.0.0.1:${port}`,
    jobs,
    server,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await jobs.close();
    },
  };
}

async function postJson(url: string, body: unknown): Promise<{ status: number; json: any }> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: r.status, json: await r.json().catch(() => null) };
}

/** Reads SSE "job" events until `until` returns true (or times out). */
async function followJob(base: string, id: string, until: (v: JobView) => boolean, onEvent?: (v: JobView) => void, timeoutMs = 240_000): Promise<JobView[]> {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), timeoutMs);
  const seen: JobView[] = [];
  try {
    const res = await fetch(`${base}/api/jobs/${id}/events`, { signal: ctrl.signal });
    expect(res.headers.get('content-type')).to.contain('text/event-stream');
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let k: number;
      while ((k = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, k);
        buf = buf.slice(k + 2);
        const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
        if (!/^event: job/m.test(block) || !data) continue;
        const v = JSON.parse(data) as JobView;
        seen.push(v);
        onEvent?.(v);
        if (until(v)) {
          ctrl.abort();
          return seen;
        }
      }
    }
  } catch (err) {
    if ((err as Error).name !== 'AbortError') throw err;
    if (!seen.length || !until(seen[seen.length - 1])) throw new Error(`job ${id}: SSE ended without the expected state (last: ${JSON.stringify(seen.at(-1)?.status)})`);
  } finally {
    clearTimeout(timer);
  }
  return seen;
}

const finished = (v: JobView) => ['done', 'failed', 'cancelled'].includes(v.status);

function samplesOf(dir: string): string[] {
  return fs.readdirSync(path.join(dir, 'samples')).sort();
}

function leftovers(dir: string): string[] {
  const bad: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (/\.tmp-/.test(e.name)) bad.push(path.join(d, e.name));
      if (e.isDirectory()) walk(path.join(d, e.name));
    }
  };
  walk(dir);
  return bad;
}

describe('orchestrator server', function () {
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vls-server-'));
  });
  after(() => {
    if (!process.env.VLS_KEEP_TEST_OUTPUT) fs.rmSync(tmp, { recursive: true, force: true });
  });

  describe('embedded mode', () => {
    let srv: Running;
    let outputRoot: string;
    let assets: string;
    before(async () => {
      outputRoot = path.join(tmp, 'out');
      assets = path.join(tmp, 'assets');
      fs.mkdirSync(path.join(assets, 'maps'), { recursive: true });
      fs.writeFileSync(path.join(assets, 'maps', 'readme.txt'), 'asset');
      fs.mkdirSync(outputRoot, { recursive: true });
      fs.writeFileSync(path.join(tmp, 'secret.txt'), 'outside the roots');
      srv = await startServer(outputRoot, new EmbeddedExecutor({ workers: 1 }), [assets]);
    });
    after(async () => {
      await srv?.close();
    });

    it('rejects bad configs with HTTP 400 and the field path', async () => {
      const bad = async (config: unknown, status = 400) => {
        const r = await postJson(`${srv.base}/api/jobs`, { config });
        expect(r.status, JSON.stringify(r.json)).to.equal(status);
        expect(r.json.error).to.be.a('string');
        return r.json as { error: string; issues: { path: string; message: string }[] };
      };
      const paths = (j: { issues: { path: string }[] }) => j.issues.map((i) => i.path);
      expect(paths(await bad({ ...CONFIG, camera: { yawDeg: [30, -30] } }))).to.deep.equal(['config.camera.yawDeg']);
      expect(paths(await bad({ ...CONFIG, passes: ['beauty', 'bogus'] }))).to.deep.equal(['config.passes.1']);
      expect(paths(await bad({ ...CONFIG, width: 'wide' }))).to.deep.equal(['config.width']);
      expect(paths(await bad({ ...CONFIG, lighting: { H: { count: [1, 9] } } }))).to.deep.equal(['config.lighting.H.count.1']);
      expect((await bad({ ...CONFIG, camera: { yaw: [0, 1] } })).error).to.match(/config\.camera.*yaw/);
      // assets outside the server's roots, and missing ones
      expect(paths(await bad({ ...CONFIG, heads: ['/etc'] }))).to.deep.equal(['config.heads.0']);
      expect(paths(await bad({ ...CONFIG, envMaps: ['builtin:studio', '../../../../etc/passwd'] }))).to.deep.equal(['config.envMaps.1']);
      expect(paths(await bad({ ...CONFIG, envMaps: ['builtin:nope'] }))).to.deep.equal(['config.envMaps.0']);
      expect(paths(await bad({ ...CONFIG, output: { dir: '/tmp/x' } }))).to.deep.equal(['config.output.dir']);
      // body shape, JSON syntax, size
      expect((await postJson(`${srv.base}/api/jobs`, { ...CONFIG })).status).to.equal(400);
      expect((await postJson(`${srv.base}/api/jobs`, { config: CONFIG, extra: 1 })).json.issues[0].path).to.equal('extra');
      const syntax = await postJson(`${srv.base}/api/jobs`, '{"config": {');
      expect(syntax.status).to.equal(400);
      expect(syntax.json.error).to.match(/not valid JSON/);
      const huge = await postJson(`${srv.base}/api/jobs`, { config: { ...CONFIG, description: 'x'.repeat(2_000_000) } });
      expect(huge.status).to.equal(413);
      expect(srv.jobs.list()).to.have.length(0);
    });

    it('serves files only from inside the output and asset roots (traversal gives 404)', async () => {
      fs.mkdirSync(path.join(outputRoot, 'ds'), { recursive: true });
      fs.writeFileSync(path.join(outputRoot, 'ds', 'ok.json'), '{"ok":true}');
      fs.writeFileSync(path.join(outputRoot, '.lock'), 'x');
      fs.symlinkSync(path.join(tmp, 'secret.txt'), path.join(outputRoot, 'ds', 'link.txt'));
      fs.symlinkSync(tmp, path.join(outputRoot, 'ds', 'linkdir'));
      const get = async (p: string, host = '127.0.0.1') => {
        // raw request path: fetch() would normalise "..", so use a socket-level request
        const port = new URL(srv.base).port;
        return new Promise<{ status: number; body: string }>((resolve, reject) => {
          const sock = net.connect(Number(port), '127.0.0.1', () => sock.write(`GET ${p} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
          let data = '';
          sock.on('data', (d) => (data += d));
          sock.on('end', () => resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(data)?.[1]), body: data.slice(data.indexOf('\r\n\r\n') + 4) }));
          sock.on('error', reject);
        });
      };
      expect((await get('/files/output/ds/ok.json')).status).to.equal(200);
      expect((await get('/files/assets0/maps/readme.txt')).body).to.contain('asset');
      const attempts = [
        '/files/output/../secret.txt',
        '/files/output/..%2fsecret.txt',
        '/files/output/%2e%2e/secret.txt',
        '/files/output/%2e%2e%2fsecret.txt',
        '/files/output/ds/..%2f..%2fsecret.txt',
        '/files/output/%252e%252e%252fsecret.txt',
        '/files/output/..%5csecret.txt',
        '/files/output/ds/link.txt',
        '/files/output/ds/linkdir/secret.txt',
        '/files/output/%2fetc%2fpasswd',
        '//etc/passwd',
        '/files/output//etc/passwd',
        '/files/output/ds/ok.json%00.png',
        '/files/output/.lock',
        '/files/output/.jobs',
        '/files/assets0/../secret.txt',
        '/files/assets0/..%2f..%2fsecret.txt',
        '/files/nope/secret.txt',
        '/files/output/ds',
        '/../../../etc/passwd',
        '/%2e%2e/%2e%2e/etc/passwd',
        '/api/jobs/..%2f..%2fsecret.txt',
        '/api/jobs/nope',
      ];
      for (const a of attempts) {
        const r = await get(a);
        expect(r.status, a).to.be.oneOf([400, 404]);
        expect(r.body, a).not.to.contain('outside the roots');
        expect(r.body, a).not.to.contain('root:');
      }
      // DNS-rebinding guard: a foreign Host header is refused.
      expect((await get('/api/health', 'evil.example')).status).to.equal(403);
      expect((await get('/api/health', `localhost:${new URL(srv.base).port}`)).status).to.equal(200);
      fs.rmSync(path.join(outputRoot, 'ds'), { recursive: true });
      fs.rmSync(path.join(outputRoot, '.lock'));
    });

    it('runs a job with live SSE progress; cancel keeps finished samples and resume completes the dataset', async () => {
      const sub = await postJson(`${srv.base}/api/jobs`, { config: { ...CONFIG, name: 'live' } });
      expect(sub.status, JSON.stringify(sub.json)).to.equal(201);
      const id = sub.json.id as string;
      expect((await postJson(`${srv.base}/api/jobs`, { config: { ...CONFIG, name: 'live' } })).status, 'same dataset twice').to.equal(409);
      const dones: number[] = [];
      let cancelled = false;
      const events = await followJob(srv.base, id, finished, (v) => {
        dones.push(v.done);
        if (!cancelled && v.done >= 1) {
          cancelled = true;
          void postJson(`${srv.base}/api/jobs/${id}/cancel`, {});
        }
      });
      const last = events.at(-1)!;
      expect(last.status).to.equal('cancelled');
      expect(dones[0]).to.equal(0);
      expect(Math.max(...dones)).to.be.within(1, 3);
      expect(events.some((e) => e.shards.some((s) => s.status === 'running'))).to.equal(true);
      const dir = path.join(outputRoot, 'live');
      expect(leftovers(dir)).to.deep.equal([]);
      expect(fs.existsSync(path.join(dir, '.lock'))).to.equal(false);
      const kept = samplesOf(dir).length;
      expect(kept).to.equal(last.done);

      const res = await postJson(`${srv.base}/api/jobs/${id}/resume`, {});
      expect(res.status).to.equal(200);
      const after = await followJob(srv.base, id, finished);
      const v = after.at(-1)!;
      expect(v.status, JSON.stringify(v.errors)).to.equal('done');
      expect(v.done).to.equal(4);
      expect(v.rendered).to.equal(4 - kept);
      expect(v.shards.every((s) => s.status === 'done' && s.done === 1)).to.equal(true);
      expect(v.rate).to.be.a('number');
      expect(Number.isFinite(v.rate), `rate ${v.rate}`).to.equal(true);
      expect(samplesOf(dir)).to.deep.equal(['000000', '000001', '000002', '000003']);
      expect(fs.readFileSync(path.join(dir, 'manifest.jsonl'), 'utf8').trim().split('\n')).to.have.length(4);
      // the job list and file routes see it
      const list = (await (await fetch(`${srv.base}/api/jobs`)).json()) as { jobs: JobView[] };
      expect(list.jobs.map((j) => j.id)).to.include(id);
      const card = await fetch(`${srv.base}/files/output/live/dataset_card.md`);
      expect(card.status).to.equal(200);
      expect(await card.text()).to.contain('live');
      expect((await postJson(`${srv.base}/api/jobs/${id}/resume`, {})).status, 'resume a done job').to.equal(409);
      expect((await postJson(`${srv.base}/api/jobs/nope/cancel`, {})).status).to.equal(404);
    });
  });

  describe('distributed mode (BullMQ on a real redis-server)', () => {
    let redis: ChildProcess;
    let redisUrl: string;
    const workers: ChildProcess[] = [];
    let embeddedManifest: Buffer;

    before(async function () {
      let hasRedis = true;
      try {
        execFileSync('redis-server', ['--version']);
      } catch {
        hasRedis = false;
      }
      if (!hasRedis) skipBecause(this, 'redis-server not installed (distributed mode; Debian: redis-server, .ci/run installs it)');
      const port = await new Promise<number>((resolve) => {
        const s = net.createServer().listen(0, '127.0.0.1', () => {
          const p = (s.address() as net.AddressInfo).port;
          s.close(() => resolve(p));
        });
      });
      redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmp], { stdio: 'ignore' });
      redisUrl = `redis://127.0.0.1:${port}`;
      for (let i = 0; i < 50; i++) {
        const ok = await new Promise<boolean>((resolve) => {
          const s = net.connect(port, '127.0.0.1', () => {
            s.end();
            resolve(true);
          });
          s.on('error', () => resolve(false));
        });
        if (ok) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      // the reference: the same config rendered in embedded mode (through the server too)
      const out = path.join(tmp, 'ref');
      const srv = await startServer(out, new EmbeddedExecutor({ workers: 1 }));
      try {
        const sub = await postJson(`${srv.base}/api/jobs`, { config: { ...CONFIG, name: 'dist' } });
        const v = (await followJob(srv.base, sub.json.id, finished)).at(-1)!;
        expect(v.status, JSON.stringify(v.errors)).to.equal('done');
      } finally {
        await srv.close();
      }
      embeddedManifest = fs.readFileSync(path.join(out, 'dist', 'manifest.jsonl'));
    });

    const startWorker = (outputRoot: string, name: string): ChildProcess => {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'scripts', 'worker.ts'), '--redis', redisUrl, '--output', outputRoot, '--name', name, '--lock-ms', '6000', '--stalled-ms', '2000'], {
        cwd: PROJECT_ROOT,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let err = '';
      child.stderr!.on('data', (d) => (err = (err + d).slice(-4000)));
      (child as ChildProcess & { log: () => string }).log = () => err;
      workers.push(child);
      return child;
    };

    afterEach(async () => {
      for (const w of workers.splice(0)) {
        if (w.exitCode === null && w.signalCode === null) {
          w.kill('SIGTERM');
          await new Promise((r) => {
            const t = setTimeout(() => {
              w.kill('SIGKILL');
              r(null);
            }, 15000);
            w.on('exit', () => {
              clearTimeout(t);
              r(null);
            });
          });
        }
      }
    });
    after(() => {
      redis?.kill('SIGTERM');
    });

    it('two worker processes produce the same manifest as the embedded mode', async () => {
      const out = path.join(tmp, 'dist-out');
      const srv = await startServer(out, new QueueExecutor({ redis: redisUrl, pollMs: 500 }));
      try {
        const a = startWorker(out, 'wa');
        const b = startWorker(out, 'wb');
        const sub = await postJson(`${srv.base}/api/jobs`, { config: { ...CONFIG, name: 'dist' } });
        expect(sub.status, JSON.stringify(sub.json)).to.equal(201);
        const events = await followJob(srv.base, sub.json.id, finished);
        const v = events.at(-1)!;
        expect(v.status, `${JSON.stringify(v.errors)}\n${(a as any).log()}\n${(b as any).log()}`).to.equal('done');
        expect(v.executor).to.equal('redis');
        const byWorker = new Set(v.shards.map((s) => s.worker));
        expect([...byWorker].sort(), 'both workers took shards').to.deep.equal(['wa', 'wb']);
        expect(fs.readFileSync(path.join(out, 'dist', 'manifest.jsonl')).equals(embeddedManifest), 'manifest differs from the embedded mode').to.equal(true);
        expect(leftovers(path.join(out, 'dist'))).to.deep.equal([]);
      } finally {
        await srv.close();
      }
    });

    it("a worker killed mid-shard: its shard goes to the other worker (stall detection); same manifest", async () => {
      const out = path.join(tmp, 'dist-kill');
      const srv = await startServer(out, new QueueExecutor({ redis: redisUrl, pollMs: 500 }));
      try {
        const victim = startWorker(out, 'victim');
        const sub = await postJson(`${srv.base}/api/jobs`, { config: { ...CONFIG, name: 'dist' } });
        let killed = false;
        const v = (
          await followJob(srv.base, sub.json.id, finished, (ev) => {
            // kill the only worker while it renders its second sample; then start a survivor
            if (!killed && ev.done >= 1 && ev.shards.some((s) => s.status === 'running')) {
              killed = true;
              victim.kill('SIGKILL');
              startWorker(out, 'survivor');
            }
          })
        ).at(-1)!;
        expect(killed).to.equal(true);
        expect(v.status, JSON.stringify(v.errors)).to.equal('done');
        expect(v.shards.some((s) => s.worker === 'survivor')).to.equal(true);
        expect(samplesOf(path.join(out, 'dist'))).to.deep.equal(['000000', '000001', '000002', '000003']);
        expect(fs.readFileSync(path.join(out, 'dist', 'manifest.jsonl')).equals(embeddedManifest)).to.equal(true);
        expect(leftovers(path.join(out, 'dist'))).to.deep.equal([]);
      } finally {
        await srv.close();
      }
    });
  });
});

// Worker-thread side of relight.ts's pool: one init message (a relight setup or the bandwidth
// probe), then one kernel call per message; every message gets one WorkerReply. Started through
// renderer/io/worker-boot.mjs (which loads this file with tsx when it is TypeScript).
import { parentPort } from 'node:worker_threads';
import { makeProbeRunner, makeRunner, type KernelCall, type ProbeCall, type WorkerReply, type WorkerRequest } from './relight-kernels.js';

const port = parentPort;
if (!port) throw new Error('relight-worker.ts runs only as a worker thread');

let run: ((c: KernelCall | ProbeCall) => void) | null = null;
port.on('message', (msg: WorkerRequest) => {
  let reply: WorkerReply;
  try {
    if ('setup' in msg) {
      const relight = makeRunner(msg.setup);
      run = (c) => relight(c as KernelCall);
    } else if ('probe' in msg) {
      const probe = makeProbeRunner(msg.probe);
      run = (c) => probe(c as ProbeCall);
    } else if (!run) throw new Error('kernel call before setup');
    else run(msg.call);
    reply = { ok: true };
  } catch (err) {
    reply = { ok: false, error: String((err instanceof Error && err.stack) || err) };
  }
  port.postMessage(reply);
});

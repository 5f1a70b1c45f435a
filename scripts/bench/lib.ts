// Shared parts of `npm run bench`: the section contract (each section is a module
// under scripts/bench/ exporting a Section, listed in SECTIONS in scripts/bench.ts), statistics and
// formatting helpers, and machine probes (CPU accounting, browser memory).
import fs from 'node:fs';
import os from 'node:os';
import type { Backend } from '../../renderer/engine/browser.js';

export interface BenchOptions {
  sizes: number[];
  repeats: number;
  backend: Backend | 'auto';
  /** Backend to compare against at 512 px, or false. */
  compare: Backend | false;
  compareRepeats: number;
  /** Separate the GPU wait hidden in readPixels from the readback itself (see installWaitProbe). */
  splitWait: boolean;
  only: string[] | null;
  /** batch section: samples per throughput run, long-run samples (memory), long-run size */
  batchSamples: number;
  leakSamples: number;
  leakSize: number;
  out?: string;
  json?: string;
  quiet: boolean;
}

// ---------------------------------------------------------------------------------------
// Section contract

export interface Table {
  title?: string;
  columns: string[];
  rows: string[][];
  /** Column alignment; default: first column left, the rest right. */
  align?: ('l' | 'r')[];
}

export interface SectionResult {
  /** Markdown lines shown above the tables (machine, scene, method). */
  intro: string[];
  tables: Table[];
  /** Markdown lines below the tables (anomalies, footnotes). */
  notes: string[];
  /** Raw numbers for --json. */
  data: unknown;
}

export interface BenchContext {
  opts: BenchOptions;
  system: SystemInfo;
  /** Scratch folder for written samples; removed at the end. */
  tmpDir: string;
  log: (msg: string) => void;
}

export interface Section {
  name: string;
  title: string;
  run(ctx: BenchContext): Promise<SectionResult>;
}

// ---------------------------------------------------------------------------------------
// Helpers: statistics, formatting, system info, memory sampling

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

export function ms(v: number): string {
  if (!Number.isFinite(v)) return '–';
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

export function mib(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(0);
}

export function pct(v: number): string {
  return `${(v * 100).toFixed(1)} %`;
}

export interface SystemInfo {
  cpuModel: string;
  cores: number;
  memTotalGiB: number;
  node: string;
  platform: string;
}

export function systemInfo(): SystemInfo {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpuModel = m[1].trim();
  } catch {
    /* not Linux: keep os.cpus() */
  }
  return {
    cpuModel,
    cores: os.availableParallelism(),
    memTotalGiB: os.totalmem() / 2 ** 30,
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  };
}

/** /proc/<pid>/stat -> parent pid, command name, CPU time in clock ticks (null once gone). */
export function procStat(pid: number): { ppid: number; comm: string; cpuTicks: number } | null {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const open = s.indexOf('(');
    const close = s.lastIndexOf(')'); // comm may contain spaces and parentheses
    const rest = s.slice(close + 2).split(' '); // rest[0] is field 3 (state)
    return { ppid: Number(rest[1]), comm: s.slice(open + 1, close), cpuTicks: Number(rest[11]) + Number(rest[12]) };
  } catch {
    return null;
  }
}

/** Machine-wide CPU ticks from /proc/stat: busy and total (USER_HZ, as in /proc/<pid>/stat). */
export function machineTicks(): { busy: number; total: number } | null {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const v = line.trim().split(/\s+/).slice(1, 9).map(Number); // user nice system idle iowait irq softirq steal
    const total = v.reduce((a, b) => a + b, 0);
    return { busy: total - v[3] - v[4], total };
  } catch {
    return null;
  }
}

/** CPU ticks seen per browser process (last value before it exited); our own share of the machine. */
export const browserCpuTicks = new Map<number, number>();

/**
 * Measures how much of the machine's CPU went to other processes while a section ran: the
 * numbers are only comparable when this is small.
 */
export class CpuAccount {
  private m0 = machineTicks();
  private node0 = process.cpuUsage();
  private browser0 = sum([...browserCpuTicks.values()]);

  /** Shares of all cores' time over the interval: ours (Node + browsers) and everything else. */
  stop(): { ownShare: number; otherShare: number; seconds: number } | null {
    const m1 = machineTicks();
    if (!this.m0 || !m1 || m1.total <= this.m0.total) return null;
    const node = process.cpuUsage(this.node0);
    const own = (node.user + node.system) / 10_000 + sum([...browserCpuTicks.values()]) - this.browser0;
    const total = m1.total - this.m0.total;
    const busy = m1.busy - this.m0.busy;
    return { ownShare: own / total, otherShare: Math.max(0, busy - own) / total, seconds: total / 100 / os.cpus().length };
  }
}

export function procKb(pid: number, file: string, field: RegExp): number {
  try {
    const m = field.exec(fs.readFileSync(`/proc/${pid}/${file}`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * Chromium processes started by this Node process: every child of ours whose name looks like a
 * browser, with all of its descendants (zygotes, GPU process, renderers, utilities). The
 * esbuild service process, also our child, is left out.
 */
export function browserProcesses(root = process.pid): number[] {
  let pids: number[];
  try {
    pids = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
  } catch {
    return [];
  }
  const children = new Map<number, number[]>();
  const comm = new Map<number, string>();
  const ticks = new Map<number, number>();
  for (const pid of pids) {
    const st = procStat(pid);
    if (!st) continue;
    comm.set(pid, st.comm);
    ticks.set(pid, st.cpuTicks);
    let list = children.get(st.ppid);
    if (!list) children.set(st.ppid, (list = []));
    list.push(pid);
  }
  const out: number[] = [];
  const stack = (children.get(root) ?? []).filter((p) => /chrom|headless/i.test(comm.get(p) ?? ''));
  while (stack.length) {
    const p = stack.pop()!;
    out.push(p);
    browserCpuTicks.set(p, ticks.get(p) ?? 0);
    stack.push(...(children.get(p) ?? []));
  }
  return out;
}

export interface MemoryPeak {
  nodeRssBytes: number;
  browserRssBytes: number;
  /** Proportional set size: shared pages (libraries, shared memory) split between processes. */
  browserPssBytes: number;
  browserProcesses: number;
  samples: number;
}

/** Polls Node RSS and the browser tree's summed VmRSS (and PSS) while rendering. */
export class MemorySampler {
  private timer: NodeJS.Timeout | null = null;
  peak: MemoryPeak = { nodeRssBytes: 0, browserRssBytes: 0, browserPssBytes: 0, browserProcesses: 0, samples: 0 };

  constructor(private intervalMs = 250) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  reset(): void {
    this.peak = { nodeRssBytes: 0, browserRssBytes: 0, browserPssBytes: 0, browserProcesses: 0, samples: 0 };
    this.sample();
  }

  sample(): void {
    const p = this.peak;
    p.samples++;
    p.nodeRssBytes = Math.max(p.nodeRssBytes, process.memoryUsage().rss);
    const pids = browserProcesses();
    let rss = 0;
    let pss = 0;
    for (const pid of pids) {
      rss += procKb(pid, 'status', /^VmRSS:\s+(\d+)\s+kB/m) * 1024;
      pss += procKb(pid, 'smaps_rollup', /^Pss:\s+(\d+)\s+kB/m) * 1024;
    }
    p.browserRssBytes = Math.max(p.browserRssBytes, rss);
    p.browserPssBytes = Math.max(p.browserPssBytes, pss);
    p.browserProcesses = Math.max(p.browserProcesses, pids.length);
  }

  stop(): MemoryPeak {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sample();
    return { ...this.peak };
  }
}

